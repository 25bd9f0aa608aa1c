"""Pure decisions of the one-thread-per-incident messages: planning updates, coalescing,
folding at send time, and when an update is worth sending."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from castwatch.notifier.incident_thread import (
    decide_update,
    fold_at_send,
    listing,
    listing_changed,
    listing_diff,
    resolution_folded,
    root_current,
    update_due,
)
from castwatch.notifier.rules import AlertFacts, EventFacts, RecipientSpec, RuleSpec, WindowSpec, plan_event

T0 = datetime(2026, 11, 21, 18, 0, tzinfo=UTC)
TECH = RecipientSpec(id=1, name="tina", role="technician", telegram_chat_id=11, email="t@x")
CAB = RecipientSpec(id=2, name="carl", role="cablecaster", email="c@x")
ALL = RuleSpec(id=1, name="all", roles=("technician",))
CH7 = RuleSpec(id=2, name="ch7 cablecasters", roles=("cablecaster",), match={"channel_ids": [7]})
ROOT = AlertFacts(id=99, source="incidents", subject="origin-a:80", alert_type="ORIGIN_DOWN",
                  severity="critical", state="firing", opened_at=T0)


def symptom(**kw: object) -> AlertFacts:
    base: dict[str, object] = dict(id=5, source="probe", subject="CH7/720p", alert_type="PLAYLIST_STALE",
                                   severity="critical", state="firing", opened_at=T0, channel_id=7,
                                   root_cause_alert_id=99)
    base.update(kw)
    return AlertFacts(**base)  # type: ignore[arg-type]


def ev(kind: str, at: float = 0, alert_id: int = 5, **details: object) -> EventFacts:
    return EventFacts(id=1, alert_id=alert_id, kind=kind, created_at=T0 + timedelta(seconds=at),
                      details=dict(details))


def test_a_symptom_clearing_under_an_open_root_is_an_update_not_a_resolved_message() -> None:
    rows = plan_event(ev("resolved", at=30), symptom(state="resolved"), [ALL], [TECH], root_cause_open=True,
                      update_delay_s=4)
    assert {(r.kind, r.payload["change"]) for r in rows} == {("incident_update", "cleared")}
    assert {r.due_at for r in rows} == {T0 + timedelta(seconds=34)}


def test_a_recipient_the_roots_message_does_not_reach_is_told_about_the_symptom_alone() -> None:
    # the cablecaster's rule matches channel 7 only, so the origin's message never reaches them
    rows = plan_event(ev("opened"), symptom(), [ALL, CH7], [TECH, CAB], root_cause_open=True,
                      root_targets={(1, "telegram"), (1, "email")})
    by = {(r.recipient_id, r.transport): r.kind for r in rows}
    assert by == {(1, "telegram"): "incident_update", (1, "email"): "incident_update", (2, "email"): "opened"}


def test_the_correlators_join_note_on_the_root_updates_everyone_the_roots_rules_reach() -> None:
    note = ev("note", at=2, alert_id=99, symptom_alert_id=5, incident_id=3)
    rows = plan_event(note, ROOT, [ALL, CH7], [TECH, CAB], update_delay_s=5)
    assert {(r.recipient_id, r.transport, r.kind, r.alert_id) for r in rows} == \
        {(1, "telegram", "incident_update", 5), (1, "email", "incident_update", 5)}
    assert all(r.payload == {"root_alert_id": 99, "change": "joined"} for r in rows)
    # other notes, and notes on a resolved root, say nothing
    assert plan_event(ev("note", alert_id=99), ROOT, [ALL], [TECH]) == []
    resolved_root = AlertFacts(**{**ROOT.__dict__, "state": "resolved"})
    assert plan_event(note, resolved_root, [ALL], [TECH]) == []


def test_a_join_during_maintenance_of_the_root_is_recorded_suppressed() -> None:
    window = WindowSpec(id=1, name="upgrade", starts_at=T0 - timedelta(hours=1),
                        ends_at=T0 + timedelta(hours=1))
    rows = plan_event(ev("note", alert_id=99, symptom_alert_id=5), ROOT, [ALL], [TECH], [window])
    assert {r.status for r in rows} == {"suppressed"}


def test_updates_of_one_message_are_coalesced_to_one_per_window() -> None:
    assert update_due(T0, None, 5) == T0 + timedelta(seconds=5)
    # the previous update went out 2 s ago: the next one waits until 5 s after it
    assert update_due(T0, T0 - timedelta(seconds=2), 5) == T0 + timedelta(seconds=5)
    assert update_due(T0, T0 + timedelta(seconds=1), 5) == T0 + timedelta(seconds=6)
    assert update_due(T0, T0 - timedelta(seconds=60), 5) == T0 + timedelta(seconds=5)


def test_an_update_is_sent_only_when_the_message_shows_something_else() -> None:
    shown = listing({5: "firing", 6: "acknowledged"})
    assert shown == {"5": "open", "6": "open"}
    assert not listing_changed({5: "acknowledged", 6: "firing"}, shown)  # an ack needs no edit
    assert listing_changed({5: "resolved", 6: "firing"}, shown)  # cleared
    assert listing_changed({5: "firing", 6: "firing", 7: "firing"}, shown)  # joined
    assert listing_changed({5: "firing"}, None)  # unknown (sent before listings were kept)


def test_update_decisions_per_state_of_the_roots_message() -> None:
    assert decide_update(True, "firing", "sent", True) is None
    assert decide_update(False, "firing", "sent", True) is None
    assert decide_update(False, "firing", "pending", True)[0] == "grouped"  # type: ignore[index]
    assert decide_update(False, "firing", None, True)[0] == "grouped"  # type: ignore[index]
    assert "already shows" in decide_update(True, "firing", "sent", False)[1]  # type: ignore[index]
    # the incident resolved: email waits for the one resolved notice; Telegram still edits
    assert "resolved notice" in decide_update(False, "resolved", "sent", True)[1]  # type: ignore[index]
    assert decide_update(True, "resolved", "sent", True) is None


def test_a_symptom_linked_after_planning_is_folded_at_send_time() -> None:
    assert fold_at_send("opened", root_is_current=True, root_reaches=True)
    assert not fold_at_send("opened", root_is_current=True, root_reaches=False)
    assert not fold_at_send("opened", root_is_current=False, root_reaches=True)
    assert not fold_at_send("escalated", root_is_current=True, root_reaches=True)
    later = T0 + timedelta(minutes=5)
    assert root_current("firing", None, later)
    assert root_current("resolved", later, T0)  # resolved after the symptom opened: same incident
    assert not root_current("resolved", T0, later)  # an old root named later swallows nothing


def test_a_symptoms_resolution_is_silent_only_when_its_opening_was_folded() -> None:
    assert resolution_folded("resolved", has_root=True, opening_told=False)
    assert not resolution_folded("resolved", has_root=True, opening_told=True)
    assert not resolution_folded("resolved", has_root=False, opening_told=False)


def test_an_update_reports_what_changed_since_the_last_message() -> None:
    shown = listing({5: "firing", 6: "firing"})
    assert listing_diff({5: "resolved", 6: "firing", 7: "firing", 8: "resolved"}, shown) == \
        [(5, "cleared"), (7, "joined"), (8, "joined, cleared")]
    assert listing_diff({5: "firing"}, listing({5: "resolved"})) == [(5, "reopened")]
    assert listing_diff({5: "firing"}, shown) == []
