"""Pure rule logic over event sequences and clocks: no sockets, no database."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from castwatch.notifier.limiter import RateLimiter
from castwatch.notifier.render import Renderer, safe_cut
from castwatch.notifier.rules import (
    AlertFacts,
    EscalationStep,
    EventFacts,
    RecipientSpec,
    RuleSpec,
    WindowSpec,
    escalation_steps_due,
    in_schedule,
    plan_event,
    repeat_due,
    retry_delay,
    route,
    rule_matches,
    window_active,
)
from castwatch.notifier.store import assemble_batches

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday

TECH = RecipientSpec(id=1, name="tina", role="technician", telegram_chat_id=11, email="t@x")
ENG = RecipientSpec(id=2, name="eddie", role="engineer", telegram_chat_id=22, email="e@x")
BOSS = RecipientSpec(id=3, name="mona", role="management", email="m@x")
CAB = RecipientSpec(id=4, name="carl", role="cablecaster", telegram_chat_id=44,
                    telegram_enabled=False, email="c@x")
PEOPLE = (TECH, ENG, BOSS, CAB)


def alert(**kw: object) -> AlertFacts:
    base: dict[str, object] = dict(id=1, source="probe", subject="CH1/720p", alert_type="PLAYLIST_STALE",
                                   severity="critical", state="firing", opened_at=T0, channel_id=7, tier=1)
    base.update(kw)
    return AlertFacts(**base)  # type: ignore[arg-type]


def event(kind: str = "opened", at: datetime = T0, eid: int = 1, **details: object) -> EventFacts:
    return EventFacts(id=eid, alert_id=1, kind=kind, created_at=at, details=dict(details))


def test_a_rule_matches_on_severity_type_glob_source_and_tier() -> None:
    rule = RuleSpec(id=1, name="r", match={"severities": ["critical"], "alert_types": ["PLAYLIST_*"],
                                           "sources": ["probe"], "tiers": [1]})
    assert rule_matches(rule, alert(), T0)
    assert not rule_matches(rule, alert(severity="minor"), T0)
    assert not rule_matches(rule, alert(alert_type="ENCODER_OVERHEAT"), T0)
    assert not rule_matches(rule, alert(tier=2), T0)
    assert not rule_matches(rule, alert(source="encoders"), T0)


def test_a_schedule_spanning_midnight_counts_from_the_day_it_starts_in_its_timezone() -> None:
    night = {"days": [0], "start": "22:00", "end": "06:00", "timezone": "America/New_York"}
    monday_late = datetime(2026, 3, 2, 23, 30, tzinfo=UTC).replace(hour=3)  # 22:00 Mon NY = 03:00 Tue UTC
    assert in_schedule(night, datetime(2026, 3, 3, 3, 30, tzinfo=UTC))   # Mon 22:30 in New York
    assert in_schedule(night, datetime(2026, 3, 3, 10, 30, tzinfo=UTC))  # Tue 05:30 in New York
    assert not in_schedule(night, datetime(2026, 3, 3, 12, 0, tzinfo=UTC))  # Tue 07:00
    assert not in_schedule(night, datetime(2026, 3, 4, 3, 30, tzinfo=UTC))  # Tue 22:30 (not a Monday)
    assert monday_late.tzinfo is UTC
    all_day = {"start": "00:00", "end": "23:59"}
    assert in_schedule(all_day, datetime(2026, 3, 2, 23, 59, 45, tzinfo=UTC))


def test_roles_and_named_people_are_routed_and_a_dead_telegram_falls_back_to_email() -> None:
    rule = RuleSpec(id=1, name="r", roles=("cablecaster",), recipient_ids=(2,), transports=("telegram",))
    assert {(p.name, t) for p, t in route(rule, PEOPLE)} == {("carl", "email"), ("eddie", "telegram")}


def test_a_one_off_maintenance_window_suppresses_only_its_scope_and_only_while_open() -> None:
    window = WindowSpec(id=1, name="swap", starts_at=T0 - timedelta(minutes=5),
                        ends_at=T0 + timedelta(hours=1), channel_ids=(7,))
    rule = RuleSpec(id=1, name="r", roles=("technician",))
    inside = plan_event(event(), alert(), [rule], PEOPLE, [window])
    assert {p.status for p in inside} == {"suppressed"}
    assert "swap" in (inside[0].reason or "")
    other = plan_event(event(), alert(channel_id=8), [rule], PEOPLE, [window])
    assert {p.status for p in other} == {"pending"}
    later = plan_event(event(at=T0 + timedelta(hours=2)), alert(), [rule], PEOPLE, [window])
    assert {p.status for p in later} == {"pending"}


def test_a_weekly_window_recurs_in_its_timezone_and_may_span_midnight() -> None:
    # Sundays 23:00–01:00 Europe/Berlin (UTC+1 in March before DST)
    window = WindowSpec(id=1, name="weekly", weekdays=(6,), start_time="23:00", duration_minutes=120,
                        timezone="Europe/Berlin")
    assert window_active(window, datetime(2026, 3, 1, 22, 30, tzinfo=UTC))  # Sun 23:30 Berlin
    assert window_active(window, datetime(2026, 3, 8, 23, 30, tzinfo=UTC))  # Mon 00:30 Berlin
    assert not window_active(window, datetime(2026, 3, 9, 0, 30, tzinfo=UTC))  # Mon 01:30
    assert not window_active(window, datetime(2026, 3, 4, 22, 30, tzinfo=UTC))  # a Wednesday


def test_events_of_one_channel_within_group_wait_become_one_batch() -> None:
    rule = RuleSpec(id=1, name="r", roles=("technician",), transports=("telegram",), group_wait_s=30)
    first = plan_event(event(eid=1), alert(id=1), [rule], PEOPLE)[0]
    second = plan_event(event(eid=2, at=T0 + timedelta(seconds=10)), alert(id=2), [rule], PEOPLE)[0]
    third = plan_event(event(eid=3), alert(id=3, channel_id=9), [rule], PEOPLE)[0]
    assert first.due_at == T0 + timedelta(seconds=30)
    assert first.group_key == second.group_key != third.group_key

    class Row:
        def __init__(self, rid: int, key: str | None) -> None:
            self.id, self.group_key = rid, key

    batches = assemble_batches([Row(3, third.group_key), Row(1, first.group_key), Row(2, second.group_key),
                                Row(4, None)])  # type: ignore[list-item]
    assert [[r.id for r in b] for b in batches] == [[1, 2], [3], [4]]


def test_acknowledgements_are_never_held_back_for_grouping() -> None:
    rule = RuleSpec(id=1, name="r", roles=("technician",), transports=("telegram",), group_wait_s=30)
    ack = plan_event(event("acknowledged"), alert(state="acknowledged"), [rule], PEOPLE)[0]
    assert ack.group_key is None and ack.due_at == T0


def test_an_alert_whose_root_cause_is_open_is_folded_not_sent_alone() -> None:
    rule = RuleSpec(id=1, name="r", roles=("technician",))
    planned = plan_event(event(), alert(root_cause_alert_id=99), [rule], PEOPLE, root_cause_open=True,
                         update_delay_s=5)
    # an update of the root cause's message (a Telegram edit, a threaded email), never "opened"
    assert {(p.transport, p.kind, p.status) for p in planned} == \
        {("telegram", "incident_update", "pending"), ("email", "incident_update", "pending")}
    assert {p.group_key for p in planned} == {"incident:99:p1:telegram", "incident:99:p1:email"}
    assert all(p.due_at == T0 + timedelta(seconds=5) for p in planned)
    assert all(p.payload == {"root_alert_id": 99, "change": "joined"} for p in planned)
    ack = plan_event(event("acknowledged"), alert(root_cause_alert_id=99), [rule], PEOPLE,
                     root_cause_open=True)
    assert {p.status for p in ack} == {"grouped"}
    alone = plan_event(event(), alert(root_cause_alert_id=99), [rule], PEOPLE, root_cause_open=False)
    assert {p.status for p in alone} == {"pending"}


def test_escalation_climbs_roles_over_time_until_acknowledged() -> None:
    rule = RuleSpec(id=1, name="r", roles=("technician",), escalation=(
        EscalationStep(300, ("engineer",)), EscalationStep(900, ("management",))))
    firing = alert()
    assert escalation_steps_due(rule, firing, T0 + timedelta(minutes=4), []) == []
    assert escalation_steps_due(rule, firing, T0 + timedelta(minutes=5), []) == [0]
    assert escalation_steps_due(rule, firing, T0 + timedelta(minutes=16), [0]) == [1]
    assert escalation_steps_due(rule, alert(state="acknowledged"), T0 + timedelta(hours=1), []) == []
    snoozed = alert(snoozed_until=T0 + timedelta(hours=2))
    assert escalation_steps_due(rule, snoozed, T0 + timedelta(hours=1), []) == []
    escalated = plan_event(event("escalated", rule_id=1, roles=["engineer"]), firing, [rule], PEOPLE)
    assert {p.recipient_id for p in escalated} == {ENG.id}


def test_reminders_repeat_at_the_interval_only_while_firing() -> None:
    rule = RuleSpec(id=1, name="r", repeat_interval_s=600)
    assert not repeat_due(rule, alert(), T0, T0 + timedelta(minutes=9))
    assert repeat_due(rule, alert(), T0, T0 + timedelta(minutes=10))
    assert not repeat_due(rule, alert(state="acknowledged"), T0, T0 + timedelta(hours=1))
    assert not repeat_due(RuleSpec(id=2, name="n"), alert(), T0, T0 + timedelta(days=1))


def test_resolved_notices_follow_send_resolved() -> None:
    loud = RuleSpec(id=1, name="loud", roles=("technician",))
    quiet = RuleSpec(id=2, name="quiet", roles=("engineer",), send_resolved=False)
    planned = plan_event(event("resolved"), alert(state="resolved"), [loud, quiet], PEOPLE)
    assert {p.recipient_id for p in planned} == {TECH.id}


def test_one_person_matched_by_two_rules_gets_one_message_per_transport() -> None:
    rules = [RuleSpec(id=1, name="a", roles=("technician",)), RuleSpec(id=2, name="b", recipient_ids=(1,))]
    planned = plan_event(event(), alert(), rules, PEOPLE)
    assert sorted((p.recipient_id, p.transport) for p in planned) == [(1, "email"), (1, "telegram")]


def test_backoff_doubles_and_is_capped() -> None:
    assert [retry_delay(n, 5, 60) for n in (1, 2, 3, 4, 5)] == [5, 10, 20, 40, 60]


def test_the_rate_limiter_spaces_a_chat_from_the_end_of_its_last_send_and_caps_the_total() -> None:
    spans: dict[str, list[tuple[float, float]]] = {}

    async def send(limiter: RateLimiter, key: str) -> None:
        async with limiter.slot(key):
            start = time.monotonic()
            await asyncio.sleep(0.02)  # the request itself
            spans.setdefault(key, []).append((start, time.monotonic()))

    async def scenario() -> None:
        per_chat = RateLimiter(per_key_per_s=10.0, overall_per_s=1000.0)
        await asyncio.gather(*(send(per_chat, "a") for _ in range(4)), send(per_chat, "b"))
        overall = RateLimiter(per_key_per_s=1000.0, overall_per_s=5.0)
        await asyncio.gather(*(send(overall, f"k{i}") for i in range(7)))
        penalized = RateLimiter(per_key_per_s=1000.0, overall_per_s=1000.0)
        penalized.penalize("p", 0.3)
        before = time.monotonic()
        await send(penalized, "p")
        assert spans["p"][0][0] - before >= 0.29

    asyncio.run(scenario())
    a = spans["a"]
    assert all(a[i + 1][0] - a[i][1] >= 0.099 for i in range(len(a) - 1))
    assert spans["b"][0][0] < a[1][0]  # another chat is not held up by a's queue
    ends = sorted(spans[f"k{i}"][0][1] for i in range(7))
    starts = sorted(spans[f"k{i}"][0][0] for i in range(7))
    assert starts[5] - ends[0] >= 0.99 and starts[6] - ends[1] >= 0.99


def test_telegram_html_escapes_every_dynamic_value_and_cuts_safely() -> None:
    renderer = Renderer()
    evil = "<b>x</b> & <script>"
    alert_ctx = {"id": 1, "severity": "critical", "alert_type": "X", "state": "firing",
                 "summary": evil * 400, "where": "ch <1>", "opened_at": "t", "age": "1 s",
                 "root_cause": None, "cause": None, "remediation": "restart & pray"}
    ctx: dict[str, Any] = {"items": [{"alert": alert_ctx, "event": None, "folded": []}], "alert": alert_ctx}
    html = renderer.telegram("opened", ctx)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert len(html.encode("utf-16-le")) // 2 <= 4096
    assert html.endswith("(cut)")
    cut = safe_cut("<b>" + "&amp;" * 2000 + "</b>", limit=100)
    assert cut.count("<b>") == cut.count("</b>") == 1
    assert "&am…" not in cut and not cut.split("</b>")[0].endswith("&")


def test_a_raised_severity_reaches_rules_that_match_the_new_severity_only() -> None:
    critical_only = RuleSpec(id=1, name="crit", roles=("engineer",), match={"severities": ["critical"]})
    minor = alert(severity="minor")
    assert plan_event(event(), minor, [critical_only], PEOPLE) == []
    raised = event("updated", severity="critical", from_severity="minor")
    assert {p.recipient_id for p in plan_event(raised, minor, [critical_only], PEOPLE)} == {ENG.id}
    lowered = event("updated", severity="minor", from_severity="critical")
    assert plan_event(lowered, alert(), [RuleSpec(id=2, name="all", roles=("engineer",))], PEOPLE) == []


def test_whoever_acknowledged_is_not_told_about_it_but_the_others_are() -> None:
    rule = RuleSpec(id=1, name="r", roles=("technician", "engineer"), transports=("telegram",))
    ack = EventFacts(id=2, alert_id=1, kind="acknowledged", created_at=T0, actor="tina (telegram)")
    assert {p.recipient_id for p in plan_event(ack, alert(state="acknowledged"), [rule], PEOPLE)} == {ENG.id}
