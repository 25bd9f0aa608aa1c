"""Telegram end to end: the real python-telegram-bot against the local Bot API stand-in."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from castwatch.common import alerts
from castwatch.common.alerts import AlertKey
from castwatch.common.models import Alert, AlertEvent, Channel, Delivery, PlannedEvent, Recipient
from castwatch.simulators.telegram.standin import BotApiStandIn

from .conftest import NotifierThread, SmtpRecorder, add_person, add_rule, notify_settings, wait_for


def rows(db: Session) -> list[Delivery]:
    db.expire_all()
    return list(db.scalars(select(Delivery).order_by(Delivery.id)))


def fire(db: Session, subject: str = "CH1/720p", **kw: object) -> Alert:
    alert, _ = alerts.fire(db, AlertKey("probe", subject, "PLAYLIST_STALE"), severity="critical",
                           summary=str(kw.pop("summary", "Playlist stale")), **kw)  # type: ignore[arg-type]
    db.commit()
    return alert


def test_an_alert_arrives_as_escaped_html_with_acknowledge_resolve_snooze_buttons(
        db: Session, standin: BotApiStandIn, notifier: Callable[..., NotifierThread]) -> None:
    add_person(db, "tina", telegram_chat_id=11)
    add_rule(db, transports=["telegram"])
    fire(db, summary="stale <script>alert(1)</script> & more",
         details={"remediation": "Check encoder <enc1>"})
    notifier(notify_settings(standin))
    [msg] = wait_for(lambda: standin.messages_to(11))
    assert msg["parse_mode"] == "HTML"
    assert "&lt;script&gt;" in msg["text"] and "<script>" not in msg["text"]
    assert "Check encoder &lt;enc1&gt;" in msg["text"]
    buttons = msg["reply_markup"]["inline_keyboard"][0]
    assert [b["text"] for b in buttons] == ["Acknowledge", "Resolve", "Snooze 1h"]
    [row] = wait_for(lambda: [r for r in rows(db) if r.status == "sent"])
    assert buttons[0]["callback_data"].startswith(f"cw:ack:d{row.id}:")  # HMAC-signed
    assert row.external_id == f"11:{msg['message_id']}"
    assert {c.transport for c in standin.calls if c.method == "sendMessage"} == {"form"}


def test_a_button_press_from_the_recipient_acknowledges_in_postgresql_and_edits_the_message(
        db: Session, standin: BotApiStandIn, notifier: Callable[..., NotifierThread]) -> None:
    add_person(db, "tina", telegram_chat_id=11)
    add_rule(db, transports=["telegram"])
    alert = fire(db)
    notifier(notify_settings(standin))
    [msg] = wait_for(lambda: standin.messages_to(11))
    data = msg["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    standin.press(user_id=666, chat_id=11, message_id=msg["message_id"], data=data)  # a stranger
    wait_for(lambda: len(standin.answers) == 1)
    db.expire_all()
    assert db.get(Alert, alert.id).state == "firing"  # type: ignore[union-attr]
    assert "not a castwatch recipient" in standin.answers[0]["text"]
    standin.press(user_id=11, chat_id=11, message_id=msg["message_id"], data=data)
    wait_for(lambda: standin.edits)
    db.expire_all()
    stored = db.get(Alert, alert.id)
    assert stored is not None and stored.state == "acknowledged"
    assert stored.acknowledged_by == "tina (telegram)"
    ack = db.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert.id,
                                              AlertEvent.kind == "acknowledged")).one()
    assert ack.actor == "tina (telegram)"
    [edit] = standin.edits
    assert edit["message_id"] == msg["message_id"] and edit["chat_id"] == 11
    assert "Acknowledged by tina (telegram)" in edit["text"]
    assert [b["text"] for b in edit["reply_markup"]["inline_keyboard"][0]] == ["Resolve", "Snooze 1h"]
    assert "Acknowledged by tina" in standin.answers[1]["text"]


def test_flood_control_waits_retry_after_and_then_sends_once(
        db: Session, standin: BotApiStandIn, notifier: Callable[..., NotifierThread]) -> None:
    standin.faults.flood[11] = (1, 1)
    add_person(db, "tina", telegram_chat_id=11)
    add_rule(db, transports=["telegram"])
    fire(db)
    notifier(notify_settings(standin))
    wait_for(lambda: [r for r in rows(db) if r.status == "sent"])
    attempts = [c.at for c in standin.calls if c.method == "sendMessage"]
    assert len(attempts) == 2 and attempts[1] - attempts[0] >= 0.95
    assert len(standin.messages_to(11)) == 1


def test_a_migrated_group_chat_is_stored_and_the_message_resent_there(
        db: Session, standin: BotApiStandIn, notifier: Callable[..., NotifierThread]) -> None:
    standin.faults.migrated[-100] = -1001234
    person = add_person(db, "ops-group", telegram_chat_id=-100, telegram_user_id=11)
    add_rule(db, transports=["telegram"])
    fire(db)
    notifier(notify_settings(standin))
    wait_for(lambda: standin.messages_to(-1001234))
    wait_for(lambda: [r for r in rows(db) if r.status == "sent"])
    db.expire_all()
    assert db.get(Recipient, person.id).telegram_chat_id == -1001234  # type: ignore[union-attr]
    assert standin.messages_to(-100) == []


def test_a_blocked_bot_disables_telegram_tells_the_admins_and_falls_back_to_email(
        db: Session, standin: BotApiStandIn, smtp: tuple[SmtpRecorder, int],
        notifier: Callable[..., NotifierThread]) -> None:
    recorder, port = smtp
    standin.faults.blocked.add(11)
    tina = add_person(db, "tina", telegram_chat_id=11, email="tina@example.test")
    add_person(db, "ada", role="engineer", telegram_chat_id=99, is_admin=True)
    add_rule(db, transports=["telegram"])
    fire(db)
    notifier(notify_settings(standin, smtp_port=port))
    [notice] = wait_for(lambda: standin.messages_to(99))
    assert "tina" in notice["text"] and "disabled" in notice["text"]
    [mail] = wait_for(lambda: recorder.messages)
    assert mail["To"] == "tina@example.test" and "PLAYLIST_STALE" in mail["Subject"]
    db.expire_all()
    stored = db.get(Recipient, tina.id)
    assert stored is not None and not stored.telegram_enabled
    assert "forbidden" in (stored.disabled_reason or "").lower()
    failed = [r for r in rows(db) if r.transport == "telegram" and r.recipient_id == tina.id]
    assert [r.status for r in failed] == ["failed"] and failed[0].attempts == 1


def test_alerts_of_one_channel_within_group_wait_arrive_as_one_message(
        db: Session, standin: BotApiStandIn, notifier: Callable[..., NotifierThread]) -> None:
    channel = Channel(code="CH1", name="News HD", input_url="http://127.0.0.1/x.m3u8")
    db.add(channel)
    add_person(db, "tina", telegram_chat_id=11)
    add_rule(db, transports=["telegram"], group_wait_s=1)
    notifier(notify_settings(standin))
    fire(db, "CH1/720p", channel_id=channel.id, summary="720p stale")
    fire(db, "CH1/1080p", channel_id=channel.id, summary="1080p stale")
    wait_for(lambda: {r.status for r in rows(db)} == {"sent", "grouped"})
    time.sleep(0.3)  # nothing else may arrive
    [msg] = standin.messages_to(11)
    assert "720p stale" in msg["text"] and "1080p stale" in msg["text"] and "News HD" in msg["text"]


def test_the_standin_accepts_json_bodies_like_the_real_bot_api(standin: BotApiStandIn) -> None:
    reply = httpx.post(f"{standin.base_url}{standin.token}/sendMessage",
                       json={"chat_id": 5, "text": "hi", "reply_markup": {"inline_keyboard": []}})
    assert reply.json()["ok"] and standin.messages_to(5)[0]["text"] == "hi"
    assert standin.calls[-1].transport == "json"


def test_a_telegram_that_keeps_failing_falls_back_to_email_while_it_retries(
        db: Session, standin: BotApiStandIn, smtp: tuple[SmtpRecorder, int],
        notifier: Callable[..., NotifierThread]) -> None:
    recorder, port = smtp
    standin.faults.down.add(11)
    tina = add_person(db, "tina", telegram_chat_id=11, email="tina@example.test")
    add_rule(db, transports=["telegram"])
    fire(db)
    notifier(notify_settings(standin, smtp_port=port, fallback_after_attempts=2))
    [mail] = wait_for(lambda: recorder.messages)
    assert mail["To"] == "tina@example.test"
    [telegram] = [r for r in rows(db) if r.transport == "telegram"]
    assert telegram.status in ("pending", "sending") and telegram.attempts >= 2
    assert "bad gateway" in (telegram.last_error or "").lower()
    db.expire_all()
    assert db.get(Recipient, tina.id).telegram_enabled  # type: ignore[union-attr]
    standin.faults.down.clear()
    wait_for(lambda: standin.messages_to(11))


def test_a_broken_override_template_falls_back_to_the_built_in_one(
        db: Session, standin: BotApiStandIn, notifier: Callable[..., NotifierThread], tmp_path: Path) -> None:
    (tmp_path / "telegram").mkdir()
    (tmp_path / "telegram" / "opened.html.j2").write_text("{{ no_such_variable.attribute }}")
    add_person(db, "tina", telegram_chat_id=11)
    add_rule(db, transports=["telegram"])
    fire(db)
    notifier(notify_settings(standin, templates_dir=tmp_path))
    [msg] = wait_for(lambda: standin.messages_to(11))
    assert "PLAYLIST_STALE" in msg["text"]


def test_later_messages_to_a_disabled_telegram_go_to_email(
        db: Session, standin: BotApiStandIn, smtp: tuple[SmtpRecorder, int],
        notifier: Callable[..., NotifierThread]) -> None:
    recorder, port = smtp
    tina = add_person(db, "tina", telegram_chat_id=11, email="tina@example.test")
    rule = add_rule(db, transports=["telegram"])
    alert = fire(db)
    # planned for Telegram, then her Telegram was disabled before the message went out
    event_id = db.scalars(select(AlertEvent.id)).one()
    db.add(Delivery(alert_id=alert.id, recipient_id=tina.id, rule_id=rule.id, transport="telegram",
                    kind="opened", event_id=event_id))
    db.add(PlannedEvent(event_id=event_id))
    tina.telegram_enabled = False
    db.commit()
    notifier(notify_settings(standin, smtp_port=port))
    [mail] = wait_for(lambda: recorder.messages)
    assert mail["To"] == "tina@example.test"
    assert standin.sent == []
    wait_for(lambda: sorted((r.transport, r.status) for r in rows(db)) == [("email", "sent"),
                                                                           ("telegram", "failed")])


def test_a_timed_out_send_is_retried_with_backoff_and_delivered_once(
        db: Session, standin: BotApiStandIn, notifier: Callable[..., NotifierThread]) -> None:
    standin.faults.slow[11] = (1, 1.5)
    add_person(db, "tina", telegram_chat_id=11)
    add_rule(db, transports=["telegram"])
    fire(db)
    settings = notify_settings(standin)
    notifier(replace(settings, telegram=replace(settings.telegram, timeout_s=0.5)))
    [row] = wait_for(lambda: [r for r in rows(db) if r.status == "sent"])
    assert len(standin.messages_to(11)) == 1
    assert len([c for c in standin.calls if c.method == "sendMessage"]) == 2
