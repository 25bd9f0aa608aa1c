"""Fault scenarios end to end: the other areas' real processes and simulators on loopback, the
correlator loop with its LISTEN, the real notifier sending email to a real SMTP server.

- origin down: the real probe polls the origin simulator; every channel stalls at once →
  one incident, one Telegram message (ORIGIN_DOWN) edited in place as its symptoms clear, one
  email thread; all clear → incident resolved, one resolved notice per transport;
- encoder overheat: the real encoder manager on encoder simulators fails over pre-emptively;
  the channel's discontinuity after the switch (injected through ``common.alerts`` as the
  probe reports it: the origin simulator does not follow encoder switches) is expected →
  one incident rooted at the overheat; the discontinuity joining later edits the overheat's
  Telegram message and sends an email update threaded under the first email.

Telegram goes to the Bot API stand-in, email to aiosmtpd; both are real protocol peers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from castwatch.common import alerts
from castwatch.common.db import transaction
from castwatch.common.models import (
    Alert,
    Channel,
    Delivery,
    EncoderGroup,
    Incident,
    IncidentAlert,
    NotificationRule,
    Recipient,
)
from castwatch.packager_monitor.settings import ProbeSettings
from castwatch.simulators.origin.model import SimConfig
from castwatch.simulators.origin.server import SimulatorThread
from castwatch.simulators.telegram.standin import BotApiStandIn
from tests.encoder_manager.helpers import ManagerHandle, encoder_row, encoder_settings, fast_group
from tests.notifier.conftest import NotifierThread, SmtpRecorder, free_port, notify_settings
from tests.packager_monitor.conftest import ProbeThread, sim_template, wait_for
from tests.support.egress import LOOPBACK

CODES = ("CH_A", "CH_B", "CH_C")


CHAT = 4242


@pytest.fixture()
def standin() -> Iterator[BotApiStandIn]:
    server = BotApiStandIn(max_long_poll_s=0.5).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def smtp() -> Iterator[tuple[SmtpRecorder, int]]:
    from aiosmtpd.controller import Controller

    recorder, port = SmtpRecorder(), free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    yield recorder, port
    controller.stop()


def _people(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        s.add_all([Recipient(name="Olga", role="engineer", email="olga@example.test", telegram_chat_id=CHAT),
                   NotificationRule(name="all to engineers", roles=["engineer"],
                                    transports=["telegram", "email"], group_wait_s=4)])


def _plain(message: Any) -> str:
    body = message.get_body(("plain",))
    return str(body.get_content()) if body is not None else ""


def _one_thread(messages: list[Any]) -> str:
    """Every email after the first replies to it (In-Reply-To and References); returns its id."""
    first = str(messages[0]["Message-ID"])
    for m in messages[1:]:
        assert m["In-Reply-To"] == first and first in str(m["References"]), m["Subject"]
    return first


def _settled(factory: sessionmaker[Session]) -> bool:
    """Every delivery reached a final state (sent, grouped, failed), some 'opened' among them."""
    with factory() as s:
        rows = list(s.scalars(select(Delivery)))
        return any(d.kind == "opened" for d in rows) and \
            all(d.status in ("sent", "grouped", "failed", "suppressed") for d in rows)


def test_origin_down_is_one_incident_one_edited_telegram_message_and_one_email_thread(
    session_factory: sessionmaker[Session], database_url: str, smtp: tuple[SmtpRecorder, int],
    standin: BotApiStandIn, correlator_thread: Any,
) -> None:
    recorder, port = smtp
    _people(session_factory)
    config = SimConfig(channels=len(CODES), segment_s=1.0, window=6)
    with SimulatorThread(config) as sim:
        with transaction(session_factory) as s:
            tpl = sim_template(s)
            for code, sim_code in zip(CODES, config.codes(), strict=False):
                s.add(Channel(code=code, name=code, input_url=sim.master_url(sim_code), template_id=tpl.id))
        settings = ProbeSettings(egress=LOOPBACK,
                                 name="probe-inc", lease_ttl_s=3, clear_hold_s=2, master_interval_s=1,
                                 status_interval_s=1, timeout_s=5)
        with ProbeThread(settings, session_factory), \
                NotifierThread(database_url, notify_settings(standin, smtp_port=port)):
            def checked() -> bool:
                with session_factory() as s:
                    rows = s.scalars(select(Channel))
                    return all(len(c.last_check.get("renditions", {})) == 4 for c in rows)
            wait_for(checked, 30, "every channel checked once")
            for sim_code in config.codes():
                requests.post(f"{sim.base_url}/_sim/faults", json={"channel": sim_code, "fault": "stall"},
                              timeout=5).raise_for_status()

            def origin_incident() -> Incident | None:
                with session_factory() as s:
                    return s.scalar(select(Incident).where(Incident.key.like("origin:%")))
            inc = wait_for(origin_incident, 30, "the origin incident")
            wait_for(lambda: _settled(session_factory) and recorder.messages, 30, "messages settled")
            with session_factory() as s:
                assert s.scalar(select(Incident).where(Incident.key.like("channel:%"))) is None
                members = list(s.scalars(select(IncidentAlert).where(IncidentAlert.incident_id == inc.id)))
                chans = {s.get(Alert, m.alert_id).channel_id for m in members} - {None}  # type: ignore[union-attr]
                assert len(chans) == 3
                folded = s.scalars(select(Delivery.status).join(Alert, Alert.id == Delivery.alert_id)
                                   .where(Alert.source == "probe", Delivery.kind == "opened")).all()
                assert folded and set(folded) == {"grouped"}
            subjects = [m["Subject"] for m in recorder.messages]
            assert "ORIGIN_DOWN" in subjects[0] and "new alert" in subjects[0]
            [message] = wait_for(lambda: standin.messages_to(CHAT), 10, "the Telegram message")
            assert "ORIGIN_DOWN" in message["text"] and "Also affected" in message["text"]
            requests.delete(f"{sim.base_url}/_sim/faults", timeout=5).raise_for_status()

            def resolved() -> bool:
                with session_factory() as s:
                    return s.get(Incident, inc.id).state == "resolved"  # type: ignore[union-attr]
            wait_for(resolved, 40, "the incident to resolve")
            wait_for(lambda: any("resolved" in m["Subject"].lower() for m in recorder.messages), 20,
                     "the resolved message")
            wait_for(lambda: len(standin.messages_to(CHAT)) == 2, 20, "the Telegram resolved notice")
            wait_for(lambda: _settled(session_factory), 20, "every delivery settled")
        # one email thread, every message about the origin, exactly one resolved notice
        assert all("ORIGIN_DOWN" in m["Subject"] for m in recorder.messages)
        _one_thread(recorder.messages)
        assert sum("resolved" in m["Subject"].lower() for m in recorder.messages) == 1
        # one Telegram message for the incident, edited in place to show the channels clearing,
        # then one resolved notice
        first, notice = standin.messages_to(CHAT)
        assert notice["text"].startswith("✅") and "ORIGIN_DOWN" in notice["text"]
        assert notice["reply_to"] == first["message_id"]
        edits = [e for e in standin.edits if e["chat_id"] == CHAT]
        assert edits and {e["message_id"] for e in edits} == {first["message_id"]}
        assert "cleared" in edits[-1]["text"] and "ORIGIN_DOWN" in edits[-1]["text"]


def test_encoder_overheat_and_failover_is_one_incident_and_one_message_thread(
    session_factory: sessionmaker[Session], database_url: str, db: Session,
    smtp: tuple[SmtpRecorder, int], standin: BotApiStandIn, correlator_thread: Any,
) -> None:
    from prometheus_client import CollectorRegistry

    from castwatch.encoder_manager.manager import EncoderManager
    from castwatch.encoder_manager.metrics import EncoderMetrics
    from castwatch.simulators.encoders import SimHost, SimState, simulator_class

    recorder, port = smtp
    _people(session_factory)
    host = SimHost().start()
    sims = [simulator_class("haivision_makito")(SimState(name="hot", streaming=True)),
            simulator_class("matrox_monarch")(SimState(name="cool"))]
    for sim in sims:
        host.run(sim.start())
    handle = None
    try:
        group = fast_group(db, "studio")
        hot = encoder_row(db, sims[0], "enc-hot", group)
        cool = encoder_row(db, sims[1], "enc-cool", group, role="backup")
        group.active_encoder_id = hot.id
        db.add(Channel(code="STUDIO", name="Studio", tier=1, input_url="http://127.0.0.1:9/s/master.m3u8",
                       encoder_group_id=group.id))
        db.commit()
        manager = EncoderManager(encoder_settings(), session_factory, database_url,
                                 EncoderMetrics(CollectorRegistry()), None)
        handle = ManagerHandle(manager).start()
        with NotifierThread(database_url, notify_settings(standin, smtp_port=port)):
            wait_for(lambda: len(sims[0].state.requests) > 3, 10, "the manager polling")
            sims[0].state.set_faults(overheat=True, overheat_rate_c_per_s=40.0)

            def switched() -> bool:
                with session_factory() as s:
                    return s.get(EncoderGroup, group.id).active_encoder_id == cool.id  # type: ignore[union-attr]
            wait_for(switched, 30, "the failover to the cool encoder")
            [message] = wait_for(lambda: standin.messages_to(CHAT), 20, "the overheat's Telegram message")
            assert "ENCODER_OVERHEAT" in message["text"]
            wait_for(lambda: recorder.messages, 20, "the overheat's email")
            with transaction(session_factory) as s:  # what the probe reports after the switch
                alerts.fire(s, alerts.AlertKey("probe", "STUDIO/720p", "DISCONTINUITY_SEQUENCE_ERROR"),
                            severity="major", summary="discontinuity", channel_id=db.scalar(
                                select(Channel.id).where(Channel.code == "STUDIO")))

            def grouped() -> Incident | None:
                with session_factory() as s:
                    inc = s.scalar(select(Incident).where(Incident.key == f"group:{group.id}"))
                    if inc is None:
                        return None
                    links = s.scalars(select(IncidentAlert).where(IncidentAlert.incident_id == inc.id))
                    types = {s.get(Alert, m.alert_id).alert_type for m in links}  # type: ignore[union-attr]
                    return inc if {"ENCODER_OVERHEAT", "DISCONTINUITY_SEQUENCE_ERROR"} <= types else None
            inc = wait_for(grouped, 30, "one incident with the overheat and the discontinuity")
            with session_factory() as s:
                root = s.get(Alert, inc.root_cause_alert_id)
                assert root is not None and root.alert_type == "ENCODER_OVERHEAT"
                assert inc.impact["redundancy"] == "lost" and inc.severity in ("major", "critical")
                disc = s.scalar(select(Alert).where(Alert.alert_type == "DISCONTINUITY_SEQUENCE_ERROR"))
                assert disc is not None and disc.severity == "info" and disc.root_cause_alert_id == root.id
                assert s.scalar(select(Incident).where(Incident.key.like("channel:%"))) is None
            wait_for(lambda: _settled(session_factory) and recorder.messages, 30, "messages settled")
            with session_factory() as s:
                sent = {s.get(Alert, d.alert_id).alert_type  # type: ignore[union-attr]
                        for d in s.scalars(select(Delivery).where(Delivery.kind == "opened",
                                                                  Delivery.status == "sent"))}
            assert sent == {"ENCODER_OVERHEAT"}
            # the discontinuity joined after the overheat was reported: its message is edited...
            edit = wait_for(lambda: [e for e in standin.edits if "DISCONTINUITY_SEQUENCE_ERROR" in e["text"]],
                            20, "the edit listing the discontinuity")[-1]
            assert edit["message_id"] == message["message_id"] and "ENCODER_OVERHEAT" in edit["text"]
            assert standin.messages_to(CHAT) == [message]
            # ...and the email thread gets an update under its first message
            wait_for(lambda: any("DISCONTINUITY_SEQUENCE_ERROR" in _plain(m)
                                 for m in recorder.messages[1:]), 20, "the threaded email update")
            assert all("ENCODER_OVERHEAT" in m["Subject"] for m in recorder.messages)
            _one_thread(recorder.messages)
    finally:
        if handle is not None:
            handle.stop()
        for sim in sims:
            host.run(sim.stop())
        host.stop()
