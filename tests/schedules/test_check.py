"""The pure SCHEDULED_EVENT_NOT_LIVE decision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from castwatch.schedules.check import LiveEvent, decide, subject_of

START = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
EV = LiveEvent(1, 7, "COUNCIL", "City Council", START, START + timedelta(hours=2))
LEAD = timedelta(minutes=15)


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


def test_it_raises_from_lead_minutes_before_start_while_the_encoder_is_not_live() -> None:
    assert decide([EV], {7: False}, set(), at(-16), LEAD) == []
    (d,) = decide([EV], {7: False}, set(), at(-15), LEAD)
    assert d.op == "raise" and d.subject == "COUNCIL@2026-12-01T00:00Z" and "starts in 15 min" in d.summary
    (late,) = decide([EV], {7: False}, set(), at(5), LEAD)
    assert "started 5 min ago" in late.summary


def test_it_clears_when_live_or_when_the_event_is_over_and_never_raises_after() -> None:
    open_ = {subject_of(EV)}
    assert [d.op for d in decide([EV], {7: True}, open_, at(-5), LEAD)] == ["clear"]
    assert [d.op for d in decide([EV], {7: False}, open_, at(121), LEAD)] == ["clear"]
    assert decide([EV], {7: False}, set(), at(121), LEAD) == []


def test_without_a_known_encoder_nothing_is_raised() -> None:
    assert decide([EV], {7: None}, set(), at(-5), LEAD) == []
    assert decide([EV], {}, set(), at(-5), LEAD) == []
