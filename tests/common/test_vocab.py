"""Every list of the vocabulary agrees with ``castwatch.common.vocab``: the areas' alert type
constants, the severity orders, the registries of drivers, transports and simulators, the API
Literals, the CHECK constraints of the migrated database, the docs tables and ``/api/v1/meta``."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import get_args

import pytest
from sqlalchemy import create_engine, text

from castwatch.common import vocab
from castwatch.common.db import sqlalchemy_url
from castwatch.common.vocab import ALERT_TYPES_BY_NAME, SEVERITIES, Severity

ROOT = Path(__file__).resolve().parents[2]


def _str_constants(module) -> set[str]:
    """Module-level ``NAME = "NAME_LIKE_VALUE"`` constants (alert type names)."""
    return {v for k, v in vars(module).items()
            if k.isupper() and isinstance(v, str) and re.fullmatch(r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)+", v)}


def test_severities_are_ordered_worst_first_with_a_rank_where_higher_is_worse():
    assert SEVERITIES == ("critical", "major", "minor", "info")
    assert [s.rank for s in Severity] == [3, 2, 1, 0]
    assert vocab.worst_severity(["minor", "critical", "info"]) == "critical"
    assert vocab.worst_severity([]) == "info"


def test_alert_type_names_are_unique_and_well_formed():
    names = [t.name for t in vocab.ALERT_TYPES]
    assert len(names) == len(set(names))
    for t in vocab.ALERT_TYPES:
        assert re.fullmatch(r"[A-Z][A-Z0-9_]{2,63}", t.name), t.name
        assert t.sources and set(t.sources) <= set(vocab.SOURCES), t.name
        assert t.confirmations >= 1 and t.description, t.name
        assert not t.name.startswith(vocab.STACK_PREFIX)


def test_every_alert_type_design_lists_is_in_the_vocab():
    listed = {
        "probe": """PLAYLIST_UNREACHABLE PLAYLIST_INVALID PLAYLIST_STALE PLAYLIST_WINDOW_SHORT
            MEDIA_SEQUENCE_GAP MEDIA_SEQUENCE_REGRESSION DISCONTINUITY_SEQUENCE_ERROR
            TARGET_DURATION_EXCEEDED SEGMENT_DURATION_DRIFT SEGMENT_UNREACHABLE SEGMENT_SLOW
            SEGMENT_INVALID SEGMENT_BITRATE_DEVIATION RENDITION_MISSING LADDER_MISMATCH
            VARIANTS_OUT_OF_SYNC MPD_INVALID MPD_STALE CERT_EXPIRING VIDEO_BLACK VIDEO_FROZEN
            AUDIO_SILENCE LOUDNESS_OUT_OF_RANGE QUALITY_LOW""",
        "encoders": """ENCODER_UNREACHABLE ENCODER_STREAM_DOWN ENCODER_OVERHEAT ENCODER_CPU_HIGH
            ENCODER_DROPPED_FRAMES ENCODER_LINK_ERRORS ENCODER_NOT_PARKED
            ENCODER_RECORDING_STOPPED FAILOVER_ACTIVATED FAILOVER_FAILED CERT_EXPIRING""",
        "schedule": "SCHEDULED_EVENT_NOT_LIVE SCHEDULE_SOURCE_FAILING",
        "incidents": "ORIGIN_DOWN",
    }
    for source, names in listed.items():
        assert set(names.split()) <= {t.name for t in vocab.alert_types(source)}, source
    assert vocab.is_known_alert_type("STACK_CASTWATCH_PROBE_DOWN")
    assert not vocab.is_known_alert_type("STACK_") and not vocab.is_known_alert_type("NOPE")


def test_the_areas_raise_only_vocab_types_under_their_source():
    from castwatch.cms_api.blueprints.notifications import stack_alert_type
    from castwatch.encoder_manager import health, parking, policy, pool
    from castwatch.encoder_manager.store import SOURCE as ENCODERS_SOURCE
    from castwatch.incidents import facts
    from castwatch.packager_monitor.alerting import SOURCE as PROBE_SOURCE
    from castwatch.packager_monitor.rules import base
    from castwatch.schedules import check

    def of(source: str) -> set[str]:
        return {t.name for t in vocab.alert_types(source)}

    assert _str_constants(base) <= of(PROBE_SOURCE)
    assert set(health.CONDITION_TYPES) <= of(ENCODERS_SOURCE)
    assert {policy.FAILOVER_ACTIVATED, policy.FAILOVER_FAILED} <= of(ENCODERS_SOURCE)
    assert pool.OUTPUT_UNASSIGNED in of(ENCODERS_SOURCE)
    assert {check.ALERT_TYPE, check.SOURCE_FAILING_TYPE} <= of(check.SOURCE)
    assert parking.NOT_PARKED in of(ENCODERS_SOURCE)
    assert facts.ORIGIN_DOWN in of(facts.SOURCE)
    for name in facts.DOWN_TYPES | facts.EXPECTED_AFTER_FAILOVER | facts.ENCODER_DISRUPTIVE:
        assert name in ALERT_TYPES_BY_NAME, name
    assert vocab.is_known_alert_type(stack_alert_type("CastwatchProbeDown"))
    assert {PROBE_SOURCE, ENCODERS_SOURCE, check.SOURCE, facts.SOURCE} <= set(vocab.SOURCES)


def test_default_severities_confirmations_and_ranks_are_what_the_areas_use():
    from castwatch.encoder_manager.health import CONDITION_TYPES, Thresholds
    from castwatch.incidents.facts import CHANNEL_RANK, ENCODER_RANK
    from castwatch.packager_monitor.alerting import policies
    from castwatch.packager_monitor.rules.base import SEVERITY

    assert vocab.default_severities("probe") == SEVERITY
    assert {k: p.raise_after_count for k, p in policies(30.0).items()} == {
        t.name: t.confirmations for t in vocab.alert_types("probe")}
    for name in CONDITION_TYPES:
        assert ALERT_TYPES_BY_NAME[name].confirmations == Thresholds().raise_after_count
    assert CHANNEL_RANK["PLAYLIST_UNREACHABLE"] < CHANNEL_RANK["PLAYLIST_STALE"]
    assert ENCODER_RANK["ENCODER_UNREACHABLE"] < ENCODER_RANK["FAILOVER_ACTIVATED"]


def test_every_severity_order_agrees_with_the_vocab():
    from castwatch.cms_api.schemas.alerts import Severity as ApiSeverity
    from castwatch.common.models import SEVERITIES as MODEL_SEVERITIES
    from castwatch.incidents.facts import worst
    from castwatch.notifier.rules import EventFacts, severity_raised
    from castwatch.packager_monitor.alerting import AlertBook, policies

    assert get_args(ApiSeverity) == SEVERITIES == MODEL_SEVERITIES
    assert worst(["major", "critical", "minor"]) == "critical"
    now = datetime(2026, 1, 1, tzinfo=UTC)

    def raised(new: str, old: str) -> bool:
        return severity_raised(EventFacts(1, 1, "updated", now,
                                          details={"severity": new, "from_severity": old}))

    assert raised("critical", "major") and not raised("minor", "major")
    book = AlertBook("CH", 1, policies(30.0))
    book.adopt(None, "SEGMENT_SLOW", "minor", 0.0)
    assert book.status() == "warning"
    book.adopt(None, "PLAYLIST_STALE", "critical", 0.0)
    assert book.status() == "critical"


def test_driver_kinds_agree_everywhere():
    from castwatch.cms_api.schemas.encoders import DriverKind
    from castwatch.common.models import DRIVER_KINDS
    from castwatch.encoder_manager.drivers import REGISTRY
    from castwatch.simulators.encoders import SIMULATORS

    kinds = set(vocab.DRIVER_KINDS)
    assert set(REGISTRY) == set(SIMULATORS) == set(get_args(DriverKind)) == set(DRIVER_KINDS) == kinds


def test_transports_agree_everywhere():
    from castwatch.cms_api.schemas import notify
    from castwatch.common.models import TRANSPORTS
    from castwatch.notifier.transports import REGISTRY

    kinds = set(vocab.TRANSPORTS)
    assert set(REGISTRY) == set(notify.ALL_TRANSPORTS) == set(TRANSPORTS) == kinds


def test_simulator_kinds_and_recipient_roles_agree_everywhere():
    from castwatch.cms_api.schemas.notify import RecipientRole
    from castwatch.common.models import ROLES
    from castwatch.simulators.cli import SIMULATORS

    assert set(SIMULATORS) == set(vocab.SIMULATOR_KINDS)
    assert set(get_args(RecipientRole)) == set(ROLES) == set(vocab.RECIPIENT_ROLES)


def _check_values(database_url: str, constraint: str) -> set[str]:
    engine = create_engine(sqlalchemy_url(database_url))
    with engine.connect() as conn:
        definition = conn.execute(text(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = :n"),
            {"n": constraint}).scalar_one()
    engine.dispose()
    return set(re.findall(r"'([^']*)'", definition))


@pytest.mark.parametrize(("constraint", "names"), [
    ("ck_alerts_severity", vocab.SEVERITIES),
    ("ck_encoders_driver_kind", vocab.DRIVER_KINDS),
    ("ck_recipients_role", vocab.RECIPIENT_ROLES),
])
def test_the_check_constraints_after_upgrade_head_allow_exactly_the_vocab(
        database_url, constraint, names):
    assert _check_values(database_url, constraint) == set(names)


def test_deliveries_take_any_transport_name_so_a_new_transport_needs_no_migration(database_url):
    engine = create_engine(sqlalchemy_url(database_url))
    with engine.connect() as conn:
        definition = conn.execute(text(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = :n"),
            {"n": "ck_deliveries_transport_name"}).scalar_one()
    engine.dispose()
    assert all(re.fullmatch(r"[a-z][a-z0-9_]{0,19}", name) for name in vocab.TRANSPORTS)
    assert "[a-z]" in definition


def test_the_docs_alert_table_is_the_vocab_table():
    """``docs/alerts.md`` carries :func:`vocab.markdown_table`; ``scripts/gen_docs.py`` writes it."""
    doc = (ROOT / "docs" / "alerts.md").read_text()
    assert vocab.markdown_table() in doc


def test_the_probe_docs_state_the_vocab_severities():
    rows = re.findall(r"^\| `([A-Z_]+)`[^|]*\|[^|]*\| (\w+) \|", (ROOT / "docs" / "probe.md").read_text(),
                      flags=re.M)
    assert len(rows) >= 19
    for name, severity in rows:
        if severity != "varies":
            assert ALERT_TYPES_BY_NAME[name].severity == severity, name
