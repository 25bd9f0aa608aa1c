"""Replicas and crashes: a killed dispatcher loses nothing; two replicas never send twice."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from castwatch.common import alerts
from castwatch.common.alerts import AlertKey
from castwatch.common.models import Delivery
from castwatch.simulators.telegram.standin import BotApiStandIn
from tests.support.processes import stop_process

from .conftest import add_person, add_rule, notify_settings, wait_for

CHATS = 10
ALERTS = 30


@pytest.fixture()
def spawn(database_url: str, standin: BotApiStandIn) -> Iterator:
    procs: list[subprocess.Popen[bytes]] = []

    def start(worker: str) -> subprocess.Popen[bytes]:
        env = {**os.environ, "DATABASE_URL": database_url, "TELEGRAM_BOT_TOKEN": standin.token,
               "TELEGRAM_API_BASE_URL": standin.base_url, "NOTIFY_METRICS_BIND": "127.0.0.1:0",
               "NOTIFY_POLL_INTERVAL_S": "0.2", "NOTIFY_CLAIM_TIMEOUT_S": "2",
               "TELEGRAM_LONG_POLL_S": "1", "LOG_LEVEL": "WARNING"}
        proc = subprocess.Popen([sys.executable, "-m", "castwatch.cli", "notify", "--worker-id", worker],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        stop_process(proc)


def sent_count(db: Session) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(Delivery).where(Delivery.status == "sent")) or 0)


def test_a_killed_dispatcher_loses_nothing_and_a_restart_sends_each_message_exactly_once(
        db: Session, standin: BotApiStandIn, spawn) -> None:  # type: ignore[no-untyped-def]
    for chat in range(1, CHATS + 1):
        person = add_person(db, f"person{chat}", telegram_chat_id=chat)
        add_rule(db, f"rule{chat}", roles=[], recipient_ids=[person.id], transports=["telegram"],
                 match={"sources": [f"src{chat}"]})
    for n in range(ALERTS):
        alerts.fire(db, AlertKey(f"src{n % CHATS + 1}", f"ALERT-{n:03d}-X", "PLAYLIST_STALE"),
                    severity="major", summary="burst")
    db.commit()

    first = spawn("first")
    wait_for(lambda: len(standin.sent) >= 8, timeout=30)
    standin.hold()  # requests now park unprocessed: the kill lands between messages
    # requests already in progress finish, and the dispatcher records every answered one
    wait_for(lambda: standin.active == 0 and sent_count(db) == len(standin.sent), timeout=10)
    first.send_signal(signal.SIGKILL)
    first.wait(5)
    before = len(standin.sent)
    assert before < ALERTS, "the burst finished before the kill; nothing was tested"
    standin.release()

    spawn("second")
    wait_for(lambda: sent_count(db) == ALERTS, timeout=60)
    subjects = [m for msg in standin.sent for m in re.findall(r"ALERT-\d{3}-X", msg["text"])]
    assert len(standin.sent) == ALERTS
    assert sorted(subjects) == sorted(f"ALERT-{n:03d}-X" for n in range(ALERTS))
    db.expire_all()
    by_worker: dict[str | None, int] = dict(db.execute(  # type: ignore[arg-type]
        select(Delivery.claimed_by, func.count()).group_by(Delivery.claimed_by)).all())
    assert by_worker.get("second", 0) == ALERTS - before
    assert standin.max_rate(window_s=1.0) <= 30
    assert all(standin.max_rate(chat, window_s=1.0) <= 1 for chat in range(1, CHATS + 1))


def test_two_replicas_share_a_burst_each_message_once_and_each_chat_within_its_limit(
        db: Session, standin: BotApiStandIn, notifier) -> None:  # type: ignore[no-untyped-def]
    for chat in range(1, 5):
        person = add_person(db, f"person{chat}", telegram_chat_id=chat)
        add_rule(db, f"rule{chat}", roles=[], recipient_ids=[person.id], transports=["telegram"],
                 match={"sources": [f"src{chat}"]})
    for n in range(12):
        alerts.fire(db, AlertKey(f"src{n % 4 + 1}", f"ALERT-{n:03d}-X", "PLAYLIST_STALE"),
                    severity="major", summary="burst")
    db.commit()
    settings = notify_settings(standin, batch_size=2)
    notifier(settings)
    notifier(settings)
    wait_for(lambda: sent_count(db) == 12, timeout=60)
    subjects = sorted(m for msg in standin.sent for m in re.findall(r"ALERT-\d{3}-X", msg["text"]))
    assert subjects == [f"ALERT-{n:03d}-X" for n in range(12)]
    assert all(standin.max_rate(chat, window_s=1.0) <= 1 for chat in range(1, 5))
