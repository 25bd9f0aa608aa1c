"""The planner against real PostgreSQL: idempotent outbox, suppression, folding, escalation."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from castwatch.common import alerts
from castwatch.common.alerts import AlertKey
from castwatch.common.models import AlertEvent, Delivery, MaintenanceWindow, utcnow
from castwatch.notifier.planner import Planner

from .conftest import add_person, add_rule


def deliveries(db: Session) -> list[Delivery]:
    db.expire_all()
    return list(db.scalars(select(Delivery).order_by(Delivery.id)))


def test_each_event_is_planned_once_even_across_restarts(
        db: Session, session_factory: sessionmaker[Session]) -> None:
    add_person(db, "tina", telegram_chat_id=11, email="t@example.test")
    add_rule(db)
    alerts.fire(db, AlertKey("probe", "CH1/720p", "PLAYLIST_STALE"), severity="critical", summary="stale")
    db.commit()
    assert Planner(session_factory).plan_pending() == 2
    assert Planner(session_factory).plan_pending() == 0  # a restarted planner plans nothing again
    rows = deliveries(db)
    assert sorted(r.transport for r in rows) == ["email", "telegram"]
    assert {r.status for r in rows} == {"pending"} and {r.kind for r in rows} == {"opened"}
    alerts.clear(db, AlertKey("probe", "CH1/720p", "PLAYLIST_STALE"))
    db.commit()
    assert Planner(session_factory).plan_pending() == 2
    assert sorted(r.kind for r in deliveries(db)) == ["opened", "opened", "resolved", "resolved"]


def test_a_maintenance_window_records_suppressed_rows(
        db: Session, session_factory: sessionmaker[Session]) -> None:
    add_person(db, "tina", email="t@example.test")
    add_rule(db)
    db.add(MaintenanceWindow(name="upgrade", starts_at=utcnow() - timedelta(minutes=1),
                             ends_at=utcnow() + timedelta(hours=1)))
    alerts.fire(db, AlertKey("encoders", "enc1", "ENCODER_UNREACHABLE"), severity="major", summary="down")
    db.commit()
    Planner(session_factory).plan_pending()
    [row] = deliveries(db)
    assert row.status == "suppressed" and "upgrade" in (row.last_error or "")


def test_a_consequence_of_an_open_root_cause_becomes_an_update_of_the_roots_message(
        db: Session, session_factory: sessionmaker[Session]) -> None:
    add_person(db, "tina", email="t@example.test")
    add_rule(db)
    root, _ = alerts.fire(db, AlertKey("encoders", "enc1", "ENCODER_STREAM_DOWN"), severity="critical",
                          summary="no output")
    alerts.fire(db, AlertKey("probe", "CH1/720p", "PLAYLIST_STALE"), severity="critical", summary="stale",
                root_cause_alert_id=root.id)
    db.commit()
    Planner(session_factory).plan_pending()
    by_alert = {r.alert_id: r for r in deliveries(db)}
    assert by_alert[root.id].status == "pending"
    folded = [r for a, r in by_alert.items() if a != root.id][0]
    assert (folded.kind, folded.status) == ("incident_update", "pending")
    assert folded.payload == {"root_alert_id": root.id, "change": "joined"}
    assert folded.group_key == f"incident:{root.id}:p{folded.recipient_id}:email"


def test_unacknowledged_alerts_escalate_to_the_next_role_and_acknowledging_stops_it(
        db: Session, session_factory: sessionmaker[Session]) -> None:
    add_person(db, "tina", email="t@example.test")
    eddie = add_person(db, "eddie", role="engineer", email="e@example.test")
    mona = add_person(db, "mona", role="management", email="m@example.test")
    add_rule(db, escalation=[{"after_s": 300, "roles": ["engineer"]},
                             {"after_s": 900, "roles": ["management"]}])
    opened_at = utcnow() - timedelta(minutes=6)
    alert, _ = alerts.fire(db, AlertKey("probe", "CH1", "PLAYLIST_STALE"), severity="critical",
                           summary="stale", now=opened_at)
    db.commit()
    planner = Planner(session_factory)
    planner.plan_pending()
    assert planner.tick() == 1
    assert planner.tick() == 0  # a step is taken once
    planner.plan_pending()
    escalated = [r for r in deliveries(db) if r.kind == "escalated"]
    assert [r.recipient_id for r in escalated] == [eddie.id]
    alerts.acknowledge(db, alert.id, actor="eddie")
    db.commit()
    later = Planner(session_factory, clock=lambda: utcnow() + timedelta(minutes=20))
    assert later.tick() == 0
    assert mona.id not in {r.recipient_id for r in deliveries(db)}
    kinds = list(db.scalars(select(AlertEvent.kind).where(AlertEvent.alert_id == alert.id)
                            .order_by(AlertEvent.id)))
    assert kinds == ["opened", "escalated", "acknowledged"]


def test_reminders_are_written_at_the_repeat_interval(
        db: Session, session_factory: sessionmaker[Session]) -> None:
    add_person(db, "tina", email="t@example.test")
    add_rule(db, repeat_interval_s=600)
    alerts.fire(db, AlertKey("probe", "CH1", "PLAYLIST_STALE"), severity="critical", summary="stale",
                now=utcnow() - timedelta(minutes=11))
    db.commit()
    planner = Planner(session_factory)
    assert planner.tick() == 1
    assert planner.tick() == 0
    assert Planner(session_factory, clock=lambda: utcnow() + timedelta(minutes=10)).tick() == 1
    planner.plan_pending()
    assert sorted(r.kind for r in deliveries(db)) == ["opened", "refired", "refired"]


def test_a_severity_raised_by_its_source_is_planned_for_the_new_audience(
        db: Session, session_factory: sessionmaker[Session]) -> None:
    add_person(db, "eddie", role="engineer", email="e@example.test")
    add_rule(db, roles=["engineer"], match={"severities": ["critical"]})
    key = AlertKey("encoders", "enc1", "ENCODER_OVERHEAT")
    alerts.fire(db, key, severity="minor", summary="58 °C")
    db.commit()
    Planner(session_factory).plan_pending()
    assert deliveries(db) == []
    alerts.fire(db, key, severity="critical", summary="81 °C")
    db.commit()
    Planner(session_factory).plan_pending()
    assert [r.kind for r in deliveries(db)] == ["updated"]
