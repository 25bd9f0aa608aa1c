"""One message thread per incident, end to end: PostgreSQL, the real notifier, the Bot API
stand-in and a real SMTP server. The correlator's part (linking a symptom and noting the join
on the root) is written here the way ``castwatch.incidents.store`` writes it."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from castwatch.common import alerts
from castwatch.common.alerts import AlertKey
from castwatch.common.models import Alert, Channel, Delivery
from castwatch.simulators.telegram.standin import BotApiStandIn

from .conftest import NotifierThread, SmtpRecorder, add_person, add_rule, notify_settings, wait_for


def settled(db: Session) -> bool:
    db.expire_all()
    return all(s in ("sent", "grouped", "suppressed", "failed") for s in db.scalars(select(Delivery.status)))


def thread_of(messages: list) -> None:  # type: ignore[type-arg]
    first = str(messages[0]["Message-ID"])
    for m in messages[1:]:
        assert m["In-Reply-To"] == first and first in str(m["References"]), m["Subject"]


def test_an_incident_is_one_message_edited_as_symptoms_clear_and_one_resolved_notice(
        db: Session, standin: BotApiStandIn, smtp: tuple[SmtpRecorder, int],
        notifier: Callable[..., NotifierThread]) -> None:
    recorder, port = smtp
    add_person(db, "tina", telegram_chat_id=11, email="tina@example.test")
    add_rule(db, transports=["telegram", "email"])
    root, _ = alerts.fire(db, AlertKey("encoders", "enc-main", "ENCODER_STREAM_DOWN"), severity="critical",
                          summary="encoder output stopped")
    keys = [AlertKey("probe", f"CH{i}/720p", "PLAYLIST_STALE") for i in (1, 2)]
    for key in keys:
        alerts.fire(db, key, severity="critical", summary=f"{key.subject} stale", root_cause_alert_id=root.id)
    db.commit()
    notifier(notify_settings(standin, smtp_port=port, incident_update_s=2.0))
    [first] = wait_for(lambda: standin.messages_to(11))
    assert "Also affected (2)" in first["text"]
    wait_for(lambda: recorder.messages)
    wait_for(lambda: settled(db))
    for key in keys:  # the channels recover 0.2 s apart: one edit and one email cover both
        alerts.clear(db, key)
        db.commit()
        time.sleep(0.2)
    [edit] = wait_for(lambda: standin.edits)
    assert edit["message_id"] == first["message_id"] and "Also affected (0 open, 2 cleared)" in edit["text"]
    assert [b["text"] for b in edit["reply_markup"]["inline_keyboard"][0]] == \
        ["Acknowledge", "Resolve", "Snooze 1h"]  # the root is still open
    update = wait_for(lambda: recorder.messages[1:])[0]
    assert "2 cleared" in update["Subject"] and "UPDATE" in update["Subject"]
    wait_for(lambda: settled(db))
    alerts.clear(db, AlertKey("encoders", "enc-main", "ENCODER_STREAM_DOWN"))
    db.commit()
    wait_for(lambda: len(standin.messages_to(11)) == 2 and len(recorder.messages) == 3)
    wait_for(lambda: settled(db))
    notice = standin.messages_to(11)[1]
    assert notice["text"].startswith("✅") and "ENCODER_STREAM_DOWN" in notice["text"]
    assert notice["reply_to"] == first["message_id"]  # threaded under the incident's message
    assert [m["Subject"].split(" — ")[-1] for m in recorder.messages] == \
        ["new alert", "2 cleared", "resolved"]
    thread_of(recorder.messages)
    assert len(standin.edits) == 1 and len(standin.messages_to(11)) == 2  # nothing per symptom
    db.expire_all()
    resolved = {d.alert_id: d.status for d in db.scalars(select(Delivery).where(Delivery.kind == "resolved"))}
    assert resolved == {root.id: "sent"}  # the symptoms' clearing went into the update


def test_a_symptom_planned_before_it_was_linked_is_folded_when_sent(
        db: Session, standin: BotApiStandIn, smtp: tuple[SmtpRecorder, int],
        notifier: Callable[..., NotifierThread]) -> None:
    recorder, port = smtp
    add_person(db, "tina", telegram_chat_id=11, email="tina@example.test")
    add_rule(db, transports=["telegram", "email"], group_wait_s=3)
    channel = Channel(code="CH1", name="News", input_url="http://127.0.0.1:9/ch1/master.m3u8")
    db.add(channel)
    root, _ = alerts.fire(db, AlertKey("encoders", "enc-main", "ENCODER_STREAM_DOWN"), severity="critical",
                          summary="encoder output stopped")
    db.commit()
    notifier(notify_settings(standin, smtp_port=port))
    [first] = wait_for(lambda: standin.messages_to(11))
    wait_for(lambda: recorder.messages)
    symptom, _ = alerts.fire(db, AlertKey("probe", "CH1/720p", "PLAYLIST_STALE"), severity="critical",
                             summary="playlist stale 20 s", channel_id=channel.id)
    db.commit()
    # the notifier plans the symptom on its own (waiting 3 s to group it), then the correlator links it
    wait_for(lambda: db.scalars(select(Delivery).where(Delivery.alert_id == symptom.id)).all())
    linked = db.get(Alert, symptom.id)
    assert linked is not None
    linked.root_cause_alert_id = root.id
    alerts.add_event(db, db.get(Alert, root.id), "note", actor="correlator",  # type: ignore[arg-type]
                     note="incident 1: PLAYLIST_STALE on CH1/720p joined as a symptom",
                     details={"incident_id": 1, "symptom_alert_id": symptom.id})
    db.commit()
    [edit] = wait_for(lambda: standin.edits)
    assert edit["message_id"] == first["message_id"] and "playlist stale 20 s" in edit["text"]
    update = wait_for(lambda: recorder.messages[1:])[0]
    assert "1 more affected" in update["Subject"]
    assert "playlist stale 20 s" in update.get_body(("plain",)).get_content()
    thread_of(recorder.messages)
    wait_for(lambda: settled(db))  # the symptom's own rows fell due after its 3 s group wait
    assert len(standin.sent) == 1 and len(recorder.messages) == 2
    opened = db.scalars(select(Delivery).where(Delivery.alert_id == symptom.id,
                                               Delivery.kind == "opened")).all()
    assert len(opened) == 2 and {d.status for d in opened} == {"grouped"}
    assert all(f"root cause alert {root.id}" in (d.last_error or "") for d in opened)
