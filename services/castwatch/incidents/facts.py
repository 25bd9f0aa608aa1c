"""Plain, frozen views of alerts and failovers that the pure incident rules work on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from castwatch.common.vocab import ENCODERS, INCIDENTS, PROBE, SEVERITY_RANK, incident_ranks

#: Alert types that mean "viewers see nothing new" on a channel.
DOWN_TYPES = frozenset({"PLAYLIST_STALE", "PLAYLIST_UNREACHABLE", "MPD_STALE"})
#: Alert types that a successful encoder switch produces on the channel by design.
EXPECTED_AFTER_FAILOVER = frozenset({
    "DISCONTINUITY_SEQUENCE_ERROR", "MEDIA_SEQUENCE_REGRESSION", "MEDIA_SEQUENCE_GAP",
})
#: Encoder-side alert types, best root cause first (lower rank explains higher rank): the vocab.
ENCODER_RANK = incident_ranks(ENCODERS)
#: Encoder alert types that take a channel off the air (or make it stutter) when on air.
ENCODER_DISRUPTIVE = frozenset({
    "ENCODER_UNREACHABLE", "ENCODER_STREAM_DOWN", "ENCODER_OVERHEAT", "FAILOVER_FAILED",
    "FAILOVER_ACTIVATED", "ENCODER_DROPPED_FRAMES", "ENCODER_LINK_ERRORS", "ENCODER_OUTPUT_UNASSIGNED",
})
#: Probe alert types, most telling first, used to pick a channel incident's root alert.
CHANNEL_RANK = incident_ranks(PROBE)
#: The synthetic root-cause alert the correlator raises for an origin outage.
ORIGIN_DOWN = "ORIGIN_DOWN"
SOURCE = INCIDENTS


@dataclass(frozen=True)
class AlertView:
    id: int
    source: str
    subject: str
    alert_type: str
    severity: str
    state: str
    opened_at: datetime
    channel_id: int | None = None
    encoder_id: int | None = None
    group_id: int | None = None
    resolved_at: datetime | None = None
    root_cause_alert_id: int | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    summary: str = ""

    @property
    def is_open(self) -> bool:
        return self.state != "resolved"

    @property
    def rendition(self) -> str | None:
        """``720p`` for a probe subject ``CH_1/720p``; None for a channel-wide subject."""
        if self.source != "probe" or "/" not in self.subject:
            return None
        return self.subject.split("/", 1)[1] or None


@dataclass(frozen=True)
class FailoverView:
    group_id: int
    from_encoder_id: int | None
    to_encoder_id: int | None
    status: str  # started | succeeded | failed
    created_at: datetime
    completed_at: datetime | None = None

    @property
    def ended_at(self) -> datetime:
        return self.completed_at or self.created_at


def worst(severities: list[str] | tuple[str, ...]) -> str:
    """The most severe of ``severities`` (``info`` for none)."""
    return max(severities, key=lambda s: SEVERITY_RANK.get(s, 0), default="info")
