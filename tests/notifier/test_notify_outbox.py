"""The outbox never silently drops or doubles (issue #11 §7): lost claims are acted on and
counted, a stalled loop keeps its own rows, a flood wait survives a restart, and events past
the planning horizon become one catch-up summary per recipient."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import timedelta

from prometheus_client import CollectorRegistry
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session, sessionmaker

from castwatch.common import alerts
from castwatch.common.alerts import AlertKey
from castwatch.common.models import Alert, AlertEvent, Delivery, utcnow
from castwatch.notifier.dispatcher import Dispatcher
from castwatch.notifier.metrics import NotifyMetrics
from castwatch.notifier.planner import Planner
from castwatch.notifier.transports.base import SendResult
from castwatch.simulators.telegram.standin import BotApiStandIn

from .conftest import NotifierThread, SmtpRecorder, add_person, add_rule, notify_settings, wait_for


def fire(db: Session, subject: str, summary: str = "stale") -> Alert:
    alert, _ = alerts.fire(db, AlertKey("probe", subject, "PLAYLIST_STALE"), severity="major",
                           summary=summary)
    db.commit()
    return alert


def row_of(db: Session, delivery_id: int) -> Delivery:
    db.expire_all()
    row = db.get(Delivery, delivery_id)
    assert row is not None
    return row


def test_a_stalled_dispatcher_keeps_its_rows_and_a_lost_claim_is_acted_on_and_counted(
        db: Session, session_factory: sessionmaker[Session]) -> None:
    add_person(db, "tina", email="tina@example.test")
    add_rule(db, transports=["email"])
    fire(db, "CH1/720p")
    fire(db, "CH2/720p")
    settings = notify_settings(claim_timeout_s=1.0)
    metrics = NotifyMetrics(CollectorRegistry())
    a = Dispatcher(session_factory, settings, {}, metrics, worker_id="a")
    b = Dispatcher(session_factory, settings, {}, NotifyMetrics(CollectorRegistry()), worker_id="b")
    a.planner.plan_pending()
    jobs, _ = a.store.claim(10)
    assert len(jobs) == 2
    first, second = jobs
    stall = text("UPDATE deliveries SET claimed_at = now() - interval '10 seconds'")
    db.execute(stall)
    db.commit()
    # a's loop stalled past the claim timeout: a does not take its own in-flight rows back ...
    mine = first.ids + second.ids
    assert a.store.claim(10, mine)[0] == []
    # ... but another replica does (a looks dead to it)
    taken, _ = b.store.claim(10)
    assert sorted(j.ids[0] for j in taken) == sorted(mine)
    # b gives the second row back (a transient failure): a's send of it is kept, not resent
    db.execute(update(Delivery).where(Delivery.id == second.ids[0])
               .values(status="pending", claimed_by=None))
    db.commit()

    asyncio.run(a._record_sent(first, SendResult(external_id="<a-1@x>")))
    asyncio.run(a._record_sent(second, SendResult(external_id="<a-2@x>")))

    lost = metrics.claims_lost.labels("email")._value.get()
    assert lost == 2
    held_by_b = row_of(db, first.ids[0])
    assert held_by_b.status == "sending" and held_by_b.claimed_by == "b"
    assert held_by_b.payload["duplicate_sends"][0]["external_id"] == "<a-1@x>"
    assert held_by_b.payload["duplicate_sends"][0]["by"] == "a"
    given_back = row_of(db, second.ids[0])
    assert (given_back.status, given_back.external_id) == ("sent", "<a-2@x>")
    assert b.store.claim(10)[0] == []  # nothing left to send twice


def test_a_telegram_flood_wait_survives_a_dispatcher_restart(
        db: Session, standin: BotApiStandIn, notifier: Callable[..., NotifierThread]) -> None:
    standin.faults.flood[11] = (1, 4)
    add_person(db, "tina", telegram_chat_id=11)
    add_rule(db, transports=["telegram"])
    fire(db, "CH1/720p", "first")
    first = notifier(notify_settings(standin))
    def on_hold() -> list[Delivery]:
        db.expire_all()
        return [r for r in db.scalars(select(Delivery)) if r.flood_until is not None]

    [held] = wait_for(on_hold)
    flood_at = [c.at for c in standin.calls if c.method == "sendMessage"][0]
    assert held.status in ("pending", "sending") and held.flood_until is not None
    first.__exit__(None, None, None)  # a restart: the in-memory limiter is gone
    fire(db, "CH2/720p", "second")  # a new row for the same chat, due at once
    notifier(notify_settings(standin))
    wait_for(lambda: len(standin.messages_to(11)) == 2, timeout=20)
    sends = [c.at for c in standin.calls if c.method == "sendMessage"]
    assert len(sends) == 3  # the 429, then each message once
    assert min(sends[1:]) - flood_at >= 3.9, "a message went out during the flood wait"


def test_events_past_the_horizon_become_one_catch_up_summary_per_recipient(
        db: Session, session_factory: sessionmaker[Session], standin: BotApiStandIn,
        smtp: tuple[SmtpRecorder, int], notifier: Callable[..., NotifierThread]) -> None:
    recorder, port = smtp
    add_person(db, "tina", telegram_chat_id=11)
    add_person(db, "eddie", role="engineer", email="eddie@example.test")
    add_person(db, "carl", role="cablecaster", telegram_chat_id=33)  # no rule reaches him
    add_rule(db, roles=["technician", "engineer"], transports=["telegram", "email"])
    old = [fire(db, f"CH{n}/720p", f"old {n}") for n in range(5)]
    for alert in old[:3]:
        alerts.resolve(db, alert.id, actor="system")
    db.commit()
    db.execute(update(AlertEvent).values(created_at=utcnow() - timedelta(days=2)))
    db.commit()
    fire(db, "CH9/720p", "fresh")  # within the horizon: told as usual
    planner = Planner(session_factory, horizon_s=3600)
    while planner.plan_pending(limit=3):  # several planning rounds merge into one summary
        pass
    summaries = list(db.scalars(select(Delivery).where(Delivery.kind == "catchup")))
    assert sorted(len(s.payload["opened"]) for s in summaries) == [5, 5]
    notifier(notify_settings(standin, smtp_port=port, plan_horizon_s=3600))
    wait_for(lambda: len(standin.messages_to(11)) == 2 and len(recorder.messages) == 2)
    texts = [m["text"] for m in standin.messages_to(11)]
    [summary] = [t for t in texts if "While castwatch was down" in t]
    assert re.search(r"5 alerts opened, 3 resolved, 2 still open", summary)
    assert "old 3" in summary and "old 4" in summary and "old 0" not in summary
    assert any("fresh" in t for t in texts)
    [mail] = [m for m in recorder.messages if "while castwatch was down" in m["Subject"]]
    assert mail["To"] == "eddie@example.test" and "2 still open" in mail["Subject"]
    assert standin.messages_to(33) == []

    def summary_states() -> list[str]:
        db.expire_all()
        return list(db.scalars(select(Delivery.status).where(Delivery.kind == "catchup")))

    wait_for(lambda: summary_states() == ["sent", "sent"])
