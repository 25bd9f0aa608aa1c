from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from castwatch.incidents.known_issues import (
    LibraryError,
    MatchContext,
    first_match,
    load_library,
)
from castwatch.incidents.plan import Snapshot, plan_incidents

from .support import T0, alert, failover, stale, station

LIB = load_library()


def _plan(alerts, failovers=(), off_air=()):  # type: ignore[no-untyped-def]
    return {p.group.key: p for p in plan_incidents(Snapshot(alerts, station(), failovers, {}, off_air),
                                                     T0, LIB)}


def test_a_successful_failover_is_redundancy_lost_not_off_air() -> None:
    heat = alert("ENCODER_OVERHEAT", "enc-a", source="encoders", encoder_id=100, severity="critical")
    fo = alert("FAILOVER_ACTIVATED", "news-pair", source="encoders", group_id=10, at=4)
    disc = alert("DISCONTINUITY_SEQUENCE_ERROR", "NEWS/720p", channel_id=1, at=8)
    plan = _plan([heat, fo, disc], [failover(10, 3)])["group:10"]
    assert plan.impact.redundancy == "lost" and not plan.impact.off_air
    assert plan.severity == "major"
    assert set(plan.expected) == {disc.id}
    assert "redundancy lost" in plan.title
    assert plan.known_issue is not None and plan.known_issue.id == "encoder-overheat"


def test_an_on_air_encoder_down_without_failover_takes_its_tier_1_channel_off_air() -> None:
    down = alert("ENCODER_STREAM_DOWN", "enc-a", source="encoders", encoder_id=100)
    st = stale("NEWS", 1, at=3)
    plan = _plan([down, st])["group:10"]
    assert plan.impact.off_air and plan.impact.tiers == {"1": 1}
    assert plan.severity == "critical"
    assert plan.impact.redundancy == "intact"


def test_an_origin_outage_counts_channels_and_tiers() -> None:
    plan = _plan([stale("NEWS", 1), stale("SPORT", 2, at=2), stale("MOVIES", 3, at=4)])[
        "origin:origin-a.example"]
    assert plan.impact.channel_codes == ("MOVIES", "NEWS", "SPORT")
    assert plan.impact.tiers == {"3": 1, "1": 1, "2": 1}
    assert plan.severity == "critical" and plan.title.startswith("Origin origin-a.example down: 3 channels")


def test_a_single_tier_3_channel_off_air_is_major_and_planned_off_air_is_info() -> None:
    st = stale("GOV", 5)
    assert _plan([st])["channel:5"].severity == "major"
    planned = _plan([st], off_air={5})["channel:5"]
    assert planned.severity == "info" and planned.planned_off_air


def test_one_stale_rendition_matches_the_single_rendition_known_issue() -> None:
    plan = _plan([stale("SPORT", 2, "720p")])["channel:2"]
    assert plan.known_issue is not None and plan.known_issue.id == "single-rendition-stalled"
    assert "one rendition (720p)" in plan.title


def test_regression_alternating_with_gaps_means_two_origins_out_of_sync() -> None:
    gap = alert("MEDIA_SEQUENCE_GAP", "SPORT/720p", channel_id=2, at=0, state="resolved",
                resolved_after=30)
    reg = alert("MEDIA_SEQUENCE_REGRESSION", "SPORT/720p", channel_id=2, at=6,
                details={"previous": 1200, "current": 1197, "by": 3})
    issue = first_match(LIB, reg, MatchContext(same_subject=[gap, reg]))
    assert issue is not None and issue.id == "lb-origins-out-of-sync"
    assert first_match(LIB, reg, MatchContext(same_subject=[reg])) is None


def test_a_regression_that_keeps_coming_back_matches_too() -> None:
    first = alert("MEDIA_SEQUENCE_REGRESSION", "SPORT/720p", at=0, state="resolved", resolved_after=20)
    again = alert("MEDIA_SEQUENCE_REGRESSION", "SPORT/720p", at=120)
    issue = first_match(LIB, again, MatchContext(same_subject=[first, again]))
    assert issue is not None and issue.id == "lb-origins-out-of-sync-recurring"


def test_detail_conditions_and_scope_are_honoured(tmp_path: Path) -> None:
    path = tmp_path / "lib.json"
    path.write_text(json.dumps({"issues": [{
        "id": "hot", "title": "Hot", "remediation": "Cool it",
        "match": {"alert_types": ["ENCODER_*"], "details": {"temperature_c": {"gte": 80}}}}]}))
    lib = load_library(path)
    hot = alert("ENCODER_OVERHEAT", "enc-a", details={"temperature_c": 85})
    warm = alert("ENCODER_OVERHEAT", "enc-a", details={"temperature_c": 70})
    assert first_match(lib, hot, MatchContext()) is not None
    assert first_match(lib, warm, MatchContext()) is None


@pytest.mark.parametrize("entry, problem", [
    ({"title": "x", "remediation": "y", "match": {"alert_types": ["A"]}}, "without an id"),
    ({"id": "a", "title": "x", "remediation": "y", "match": {}}, "alert_types is required"),
    ({"id": "a", "title": "x", "match": {"alert_types": ["A"]}}, "remediation are required"),
    ({"id": "a", "title": "x", "remediation": "y",
      "match": {"alert_types": ["A"], "details": {"f": {"like": 1}}}}, "must use only"),
])
def test_a_malformed_library_entry_is_refused_with_its_problem(tmp_path: Path, entry: dict,
                                                              problem: str) -> None:
    path = tmp_path / "lib.json"
    path.write_text(json.dumps({"issues": [entry]}))
    with pytest.raises(LibraryError, match=problem):
        load_library(path)


def test_the_built_in_library_loads_and_every_entry_has_a_remediation() -> None:
    assert len(LIB) >= 8 and all(i.remediation for i in LIB)


def test_an_alert_outside_the_dependency_model_is_its_own_incident_titled_by_its_summary() -> None:
    stack = dataclasses.replace(alert("STACK_PROBE_DOWN", "probe-1", source="stack", severity="critical"),
                                summary="probe-1 has not reported for 2 minutes")
    (plan,) = _plan([stack]).values()
    assert plan.group.key == f"alert:{stack.id}" and plan.title == stack.summary
    assert plan.severity == "critical" and plan.impact.channel_ids == ()
