"""Escalation, folding, maintenance, snooze and metrics end to end (PostgreSQL + Bot API stand-in)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from castwatch.common import alerts
from castwatch.common.alerts import AlertKey
from castwatch.common.models import Alert, AlertEvent, Delivery, MaintenanceWindow, utcnow
from castwatch.simulators.telegram.standin import BotApiStandIn

from .conftest import NotifierThread, add_person, add_rule, free_port, notify_settings, wait_for


def statuses(db: Session) -> set[str]:
    db.expire_all()
    return set(db.scalars(select(Delivery.status)))


def test_an_unacknowledged_alert_escalates_and_a_button_acknowledgement_stops_the_next_step(
        db: Session, standin: BotApiStandIn, notifier: Callable[..., NotifierThread]) -> None:
    add_person(db, "tina", telegram_chat_id=11)
    add_person(db, "eddie", role="engineer", telegram_chat_id=22)
    add_person(db, "mona", role="management", telegram_chat_id=33)
    add_rule(db, transports=["telegram"], escalation=[{"after_s": 1, "roles": ["engineer"]},
                                                      {"after_s": 3, "roles": ["management"]}])
    alert, _ = alerts.fire(db, AlertKey("probe", "CH1/720p", "PLAYLIST_STALE"), severity="critical",
                           summary="stale")
    db.commit()
    notifier(notify_settings(standin, tick_interval_s=0.2))
    wait_for(lambda: standin.messages_to(11))
    [escalated] = wait_for(lambda: standin.messages_to(22))
    assert "ESCALATED" in escalated["text"]
    button = escalated["reply_markup"]["inline_keyboard"][0][0]
    assert button["text"] == "Acknowledge"
    standin.press(user_id=22, chat_id=22, message_id=escalated["message_id"], data=button["callback_data"])
    wait_for(lambda: standin.edits)
    db.expire_all()
    assert db.get(Alert, alert.id).acknowledged_by == "eddie (telegram)"  # type: ignore[union-attr]
    remaining = (alert.opened_at + timedelta(seconds=3.6) - utcnow()).total_seconds()
    time.sleep(max(0.0, remaining))  # past the management step's delay
    kinds = list(db.scalars(select(AlertEvent.kind).where(AlertEvent.alert_id == alert.id)
                            .order_by(AlertEvent.id)))
    assert kinds == ["opened", "escalated", "acknowledged"]
    assert standin.messages_to(33) == []


def test_an_alert_caused_by_an_open_root_cause_rides_in_the_root_causes_message(
        db: Session, standin: BotApiStandIn, notifier: Callable[..., NotifierThread]) -> None:
    add_person(db, "tina", telegram_chat_id=11)
    add_rule(db, transports=["telegram"])
    root, _ = alerts.fire(db, AlertKey("encoders", "enc-main", "ENCODER_STREAM_DOWN"), severity="critical",
                          summary="encoder output stopped",
                          details={"remediation": "Check the SDI input of enc-main"})
    alerts.fire(db, AlertKey("probe", "CH1/720p", "PLAYLIST_STALE"), severity="critical",
                summary="playlist stale 20 s", root_cause_alert_id=root.id)
    db.commit()
    notifier(notify_settings(standin))
    wait_for(lambda: statuses(db) == {"sent", "grouped"})
    [msg] = standin.messages_to(11)
    assert "encoder output stopped" in msg["text"] and "Check the SDI input of enc-main" in msg["text"]
    assert "Also affected (1)" in msg["text"] and "playlist stale 20 s" in msg["text"]


def test_a_recurring_maintenance_window_silences_and_says_why(
        db: Session, standin: BotApiStandIn, notifier: Callable[..., NotifierThread]) -> None:
    add_person(db, "tina", telegram_chat_id=11)
    add_rule(db, transports=["telegram"])
    start = utcnow() - timedelta(minutes=30)
    db.add(MaintenanceWindow(name="nightly encoder reboot", weekdays=[], start_time=f"{start:%H:%M}",
                             duration_minutes=120, timezone="UTC"))
    alerts.fire(db, AlertKey("probe", "CH1", "PLAYLIST_STALE"), severity="critical", summary="stale")
    db.commit()
    notifier(notify_settings(standin))
    wait_for(lambda: statuses(db) == {"suppressed"})
    row = db.scalars(select(Delivery)).one()
    assert "nightly encoder reboot" in (row.last_error or "")
    assert standin.sent == []


def test_snooze_silences_reminders_for_an_hour_and_says_who(
        db: Session, standin: BotApiStandIn, notifier: Callable[..., NotifierThread]) -> None:
    add_person(db, "tina", telegram_chat_id=11)
    add_rule(db, transports=["telegram"])
    alert, _ = alerts.fire(db, AlertKey("probe", "CH1", "PLAYLIST_STALE"), severity="major", summary="stale")
    db.commit()
    notifier(notify_settings(standin))
    [msg] = wait_for(lambda: standin.messages_to(11))
    snooze = msg["reply_markup"]["inline_keyboard"][0][2]
    assert snooze["text"] == "Snooze 1h"
    standin.press(user_id=11, chat_id=11, message_id=msg["message_id"], data=snooze["callback_data"])
    [edit] = wait_for(lambda: standin.edits)
    assert "Snoozed by tina (telegram)" in edit["text"]
    db.expire_all()
    stored = db.get(Alert, alert.id)
    assert stored is not None and stored.snoozed_until is not None
    assert timedelta(minutes=59) < stored.snoozed_until - utcnow() <= timedelta(hours=1)


def test_the_notifier_serves_its_metrics(
        db: Session, standin: BotApiStandIn, notifier: Callable[..., NotifierThread]) -> None:
    add_person(db, "tina", telegram_chat_id=11)
    add_rule(db, transports=["telegram"])
    alerts.fire(db, AlertKey("probe", "CH1", "PLAYLIST_STALE"), severity="major", summary="stale")
    db.commit()
    port = free_port()
    notifier(replace(notify_settings(standin), metrics_bind=("127.0.0.1", port)))
    wait_for(lambda: statuses(db) == {"sent"})

    def scraped() -> str:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        return text if 'castwatch_notify_deliveries_total{status="sent",transport="telegram"} 1.0' in text \
            else ""

    text = wait_for(scraped)
    assert "castwatch_notify_queue_depth" in text and "castwatch_notify_send_seconds_bucket" in text
    assert "castwatch_notify_planned_total 1.0" in text


def test_a_firing_alert_is_repeated_as_a_reminder_at_its_interval(
        db: Session, standin: BotApiStandIn, notifier: Callable[..., NotifierThread]) -> None:
    add_person(db, "tina", telegram_chat_id=11)
    add_rule(db, transports=["telegram"], repeat_interval_s=60)
    # opened 61 s ago (the schema's minimum interval is 60 s): the first reminder is due now
    alert, _ = alerts.fire(db, AlertKey("probe", "CH1", "PLAYLIST_STALE"), severity="critical",
                           summary="stale", now=utcnow() - timedelta(seconds=61))
    db.commit()
    notifier(notify_settings(standin, tick_interval_s=0.2))
    first, reminder = wait_for(lambda: standin.messages_to(11) if len(standin.messages_to(11)) >= 2 else None)
    assert "reminder" in reminder["text"] and "reminder" not in first["text"]
    refired = db.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert.id,
                                                  AlertEvent.kind == "refired")).all()
    assert len(refired) == 1


def test_a_consequence_arriving_after_its_root_cause_was_sent_is_added_to_that_message(
        db: Session, standin: BotApiStandIn, notifier: Callable[..., NotifierThread]) -> None:
    add_person(db, "tina", telegram_chat_id=11)
    add_rule(db, transports=["telegram"])
    root, _ = alerts.fire(db, AlertKey("encoders", "enc-main", "ENCODER_STREAM_DOWN"), severity="critical",
                          summary="encoder output stopped")
    db.commit()
    notifier(notify_settings(standin))
    [sent] = wait_for(lambda: standin.messages_to(11))
    wait_for(lambda: statuses(db) == {"sent"})
    alerts.fire(db, AlertKey("probe", "CH1/720p", "PLAYLIST_STALE"), severity="critical",
                summary="playlist stale 20 s", root_cause_alert_id=root.id)
    db.commit()
    [edit] = wait_for(lambda: standin.edits)
    assert edit["message_id"] == sent["message_id"]
    assert "encoder output stopped" in edit["text"] and "Also affected (1)" in edit["text"]
    assert "playlist stale 20 s" in edit["text"]
    assert [b["text"] for b in edit["reply_markup"]["inline_keyboard"][0]] == \
        ["Acknowledge", "Resolve", "Snooze 1h"]
    wait_for(lambda: statuses(db) == {"sent"})
    update = db.scalars(select(Delivery).where(Delivery.kind == "incident_update")).one()
    assert update.external_id == f"11:{sent['message_id']}"
    assert len(standin.sent) == 1
