"""The vocabulary of castwatch, written once: severities, alert types, and the kinds of things.

Everything that lists these — API ``Literal`` s, CHECK constraints, docs tables, the console
(through ``GET /api/v1/meta``), the registries of drivers, transports and simulators — is
derived from this module or tested against it (``tests/common/test_vocab.py``). Imports
nothing from castwatch, so every area may import it.

Alert types: extend, never rename. A new type is one :class:`AlertType` line here; its area
raises it under its ``source``. Alertmanager's webhook adds ``STACK_*`` types at run time
(:data:`STACK_PREFIX`), so the set of alert types is open: the database keeps ``alert_type``
free text and the tests, not a CHECK constraint, keep code and this table in step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    """Alert severities, worst first. ``rank``: higher is worse (critical 3 … info 0)."""

    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"
    INFO = "info"

    @property
    def rank(self) -> int:
        return len(_SEVERITY_ORDER) - 1 - _SEVERITY_ORDER.index(self.value)


_SEVERITY_ORDER = ("critical", "major", "minor", "info")
#: Severity names, worst first (the order of lists, filters and charts).
SEVERITIES: tuple[str, ...] = tuple(s.value for s in Severity)
#: name → rank, higher is worse.
SEVERITY_RANK: dict[str, int] = {s.value: s.rank for s in Severity}


def worst_severity(severities: Iterable[str], *, unknown_rank: int = 0) -> str:
    """The worst of ``severities`` (``info`` for none); an unknown name ranks ``unknown_rank``."""
    return max(severities, key=lambda s: SEVERITY_RANK.get(s, unknown_rank), default="info")


# Alert sources (the first part of an alert's key).
PROBE = "probe"
ENCODERS = "encoders"
SCHEDULE = "schedule"
INCIDENTS = "incidents"
STACK = "stack"
SOURCES: tuple[str, ...] = (PROBE, ENCODERS, SCHEDULE, INCIDENTS, STACK)


@dataclass(frozen=True)
class AlertType:
    """One stable alert type.

    ``severity`` is the default (a rule may choose another, e.g. by days left);
    ``confirmations`` is how many consecutive bad observations raise it by default (the probe's
    debounce; encoders take theirs from the encoder's thresholds, whose default this states);
    ``incident_rank`` orders root-cause candidates within a source, lower explains higher
    (``None``: never an incident's root).
    """

    name: str
    sources: tuple[str, ...]
    severity: Severity
    description: str
    confirmations: int = 1
    incident_rank: int | None = None


def _t(name: str, source: str | tuple[str, ...], severity: Severity, description: str,
       confirmations: int = 1, incident_rank: int | None = None) -> AlertType:
    sources = (source,) if isinstance(source, str) else source
    return AlertType(name, sources, severity, description, confirmations, incident_rank)


_C, _MJ, _MN = Severity.CRITICAL, Severity.MAJOR, Severity.MINOR

#: Every stable alert type (the docs table is generated from this; see :func:`markdown_table`).
ALERT_TYPES: tuple[AlertType, ...] = (
    # probe: playlists and manifests
    _t("PLAYLIST_UNREACHABLE", PROBE, _C, "the playlist cannot be downloaded", 2, 0),
    _t("PLAYLIST_INVALID", PROBE, _MJ, "the playlist does not parse or breaks the HLS rules", 2, 2),
    _t("PLAYLIST_STALE", PROBE, _C, "the live playlist stopped advancing (1.5x target duration)",
       1, 1),
    _t("PLAYLIST_WINDOW_SHORT", PROBE, _MN, "the live window is shorter than players need", 2),
    _t("MEDIA_SEQUENCE_GAP", PROBE, _MJ, "media sequence numbers were skipped"),
    _t("MEDIA_SEQUENCE_REGRESSION", PROBE, _MJ, "the media sequence went backwards"),
    _t("DISCONTINUITY_SEQUENCE_ERROR", PROBE, _MJ, "the discontinuity sequence is inconsistent"),
    _t("TARGET_DURATION_EXCEEDED", PROBE, _MN, "a segment is longer than the target duration"),
    _t("SEGMENT_DURATION_DRIFT", PROBE, _MN, "segment durations drift from the template", 2),
    _t("SEGMENT_UNREACHABLE", PROBE, _MJ, "a segment cannot be downloaded", 2, 3),
    _t("SEGMENT_SLOW", PROBE, _MN, "segments download slower than real time allows", 2),
    _t("SEGMENT_INVALID", PROBE, _MJ, "a segment is not valid media", 2),
    _t("SEGMENT_BITRATE_DEVIATION", PROBE, _MN, "a segment's bitrate is far from its variant's", 2),
    _t("RENDITION_MISSING", PROBE, _MJ, "a rendition of the template's ladder is missing", 2, 3),
    _t("LADDER_MISMATCH", PROBE, _MN, "the ladder differs from the template", 2),
    _t("VARIANTS_OUT_OF_SYNC", PROBE, _MJ, "variants' media sequences are out of step", 3),
    _t("MPD_INVALID", PROBE, _MJ, "the DASH manifest does not parse or breaks the rules", 2, 2),
    _t("MPD_STALE", PROBE, _C, "the live DASH manifest stopped advancing", 1, 0),
    _t("CERT_EXPIRING", (PROBE, ENCODERS), _MJ,
       "a TLS certificate expires soon or does not verify (21/14/7 days)"),
    # probe: content of decoded segments
    # (ranked after delivery problems: a black picture is a cause only when delivery is fine)
    _t("VIDEO_BLACK", PROBE, _C, "the picture is black (template: black_min_s, default 2 s)", 1, 4),
    _t("VIDEO_FROZEN", PROBE, _C, "the picture is frozen (template: frozen_min_s, default 2 s)",
       1, 4),
    _t("AUDIO_SILENCE", PROBE, _MJ, "an audio track is below the silence threshold (default "
       "-60 dBFS for 2 s)", 1, 5),
    _t("LOUDNESS_OUT_OF_RANGE", PROBE, _MN, "short-term loudness is off target (EBU R128 -23 LUFS "
       "±5 LU, or ATSC A/85) for 10 s, or true peak above -1 dBTP", 1, 6),
    _t("QUALITY_LOW", PROBE, _MN, "the P.1203.1 mode 0 MOS of the top rendition is below the "
       "template's threshold (default 3.5)", 1, 6),
    # encoders
    _t("ENCODER_UNREACHABLE", ENCODERS, _C, "the encoder does not answer", 2, 0),
    _t("ENCODER_STREAM_DOWN", ENCODERS, _C, "the encoder is not streaming", 2, 0),
    _t("ENCODER_OVERHEAT", ENCODERS, _C, "the encoder is (or soon will be) too hot", 2, 1),
    _t("ENCODER_CPU_HIGH", ENCODERS, _MJ, "the encoder's CPU is over its limit", 2, 3),
    _t("ENCODER_DROPPED_FRAMES", ENCODERS, _MJ, "the encoder drops frames", 2, 3),
    _t("ENCODER_LINK_ERRORS", ENCODERS, _MN, "the encoder's output link loses packets or lags",
       2, 3),
    _t("ENCODER_NOT_PARKED", ENCODERS, _MJ, "an encoder that should be idle (parked after a "
       "failover) is still live; the stop is retried with back-off until it is confirmed", 2),
    _t("ENCODER_RECORDING_STOPPED", ENCODERS, _MJ, "a recording castwatch started stopped (the "
       "device's reason, e.g. disk full, in the summary)", 2),
    _t("ENCODER_OUTPUT_UNASSIGNED", ENCODERS, _C, "an output of an encoder pool fits on no usable "
       "encoder (capacity, capabilities, bitrate budget, or all failed): it is off air", 1, 2),
    _t("FAILOVER_ACTIVATED", ENCODERS, _MJ, "the group switched to another encoder", 1, 4),
    _t("FAILOVER_FAILED", ENCODERS, _C, "a failover could not bring a stream up", 1, 2),
    # schedule
    _t("SCHEDULED_EVENT_NOT_LIVE", SCHEDULE, _C,
       "a scheduled live event is due but its encoder is not live"),
    _t("SCHEDULE_SOURCE_FAILING", SCHEDULE, _MN, "a schedule source cannot be imported"),
    # incidents
    _t("ORIGIN_DOWN", INCIDENTS, _C, "many channels of one origin went down together"),
)

#: ``STACK_<ALERTNAME>``: Alertmanager alerts about castwatch itself (source ``stack``, severity
#: from the alert's labels, major when unknown).
STACK_PREFIX = "STACK_"

ALERT_TYPES_BY_NAME: Mapping[str, AlertType] = {t.name: t for t in ALERT_TYPES}


def is_known_alert_type(name: str) -> bool:
    """A type of :data:`ALERT_TYPES`, or a ``STACK_*`` type from Alertmanager."""
    return name in ALERT_TYPES_BY_NAME or (name.startswith(STACK_PREFIX) and len(name) > len(STACK_PREFIX))


def alert_types(source: str) -> tuple[AlertType, ...]:
    """The types ``source`` raises, in table order."""
    return tuple(t for t in ALERT_TYPES if source in t.sources)


def severity_of(alert_type: str) -> str:
    """The default severity of a known alert type (KeyError for an unknown one)."""
    return ALERT_TYPES_BY_NAME[alert_type].severity.value


def default_severities(source: str) -> dict[str, str]:
    """``{alert_type: default severity}`` of one source."""
    return {t.name: t.severity.value for t in alert_types(source)}


def incident_ranks(source: str) -> dict[str, int]:
    """``{alert_type: incident rank}`` of one source's types that can be an incident root."""
    return {t.name: t.incident_rank for t in alert_types(source) if t.incident_rank is not None}


def markdown_table() -> str:
    """The alert type table of ``docs/alerts.md`` (checked by ``tests/common/test_vocab.py``)."""
    lines = ["| alert type | source | severity | confirmations | incident rank | meaning |",
             "|---|---|---|---|---|---|"]
    for t in ALERT_TYPES:
        rank = "" if t.incident_rank is None else str(t.incident_rank)
        lines.append(f"| `{t.name}` | {', '.join(t.sources)} | {t.severity.value} | "
                     f"{t.confirmations} | {rank} | {t.description} |")
    lines.append(f"| `{STACK_PREFIX}*` | {STACK} | from the alert's labels | 1 | | "
                 "an Alertmanager alert about the stack itself |")
    return "\n".join(lines)


# Kinds of things: one registry each lives in its area; these lists are what the database,
# the API and the console know, and a test checks each registry against them.
#: ``encoders.driver_kind``: ``encoder_manager.drivers.REGISTRY`` and the encoder simulators.
DRIVER_KINDS: tuple[str, ...] = (
    "aja_helo", "matrox_monarch", "haivision_makito", "obs", "blackmagic", "generic_http",
)
#: ``deliveries.transport`` and rule transports: ``notifier.transports.REGISTRY``.
TRANSPORTS: tuple[str, ...] = ("telegram", "email", "slack", "webhook")
#: ``castwatch sim KIND``: ``simulators.cli.SIMULATORS``.
SIMULATOR_KINDS: tuple[str, ...] = ("origin", "encoder", "telegram", "smtp", "schedules")
#: ``recipients.role``: who a rule or an escalation step names.
RECIPIENT_ROLES: tuple[str, ...] = ("cablecaster", "technician", "engineer", "management")


def meta() -> dict[str, object]:
    """The vocabulary as JSON for ``GET /api/v1/meta`` (the console reads it, never copies it)."""
    return {
        "severities": [{"name": s.value, "rank": s.rank} for s in Severity],
        "alert_types": [
            {"name": t.name, "sources": list(t.sources), "source": t.sources[0],
             "severity": t.severity.value, "confirmations": t.confirmations,
             "incident_rank": t.incident_rank, "description": t.description}
            for t in ALERT_TYPES
        ],
        "alert_type_prefixes": [{"prefix": STACK_PREFIX, "source": STACK}],
        "sources": list(SOURCES),
        "driver_kinds": list(DRIVER_KINDS),
        "transports": list(TRANSPORTS),
        "simulator_kinds": list(SIMULATOR_KINDS),
        "recipient_roles": list(RECIPIENT_ROLES),
    }
