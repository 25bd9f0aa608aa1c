"""Schedule fixtures: the schedule-source simulator on loopback and a channel with encoders."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session, sessionmaker

from castwatch.common.db import transaction
from castwatch.common.models import Channel, Encoder, EncoderGroup, Recipient, utcnow
from castwatch.simulators.schedules.content import SimEvent
from castwatch.simulators.schedules.server import ScheduleSimulator


@pytest.fixture()
def now():  # type: ignore[no-untyped-def]
    return utcnow().replace(second=0, microsecond=0)


@pytest.fixture()
def events(now) -> list[SimEvent]:  # type: ignore[no-untyped-def]
    """A council meeting at 19:30 local two days ahead, a show, an off-air, a commission."""
    day = (now + timedelta(days=2)).date()
    base = datetime.combine(day, time(19, 30), tzinfo=ZoneInfo("America/Chicago"))
    return [SimEvent("City Council Meeting", base, 120),
            SimEvent("Library Story Hour", now + timedelta(hours=3), 30),
            SimEvent("Off Air - transmitter work", now + timedelta(hours=5), 45),
            SimEvent("Planning Commission", base + timedelta(days=2, hours=-1), 90),
            SimEvent("Old Show", now - timedelta(days=9), 30)]


@pytest.fixture()
def sim(events: list[SimEvent], now) -> Iterator[ScheduleSimulator]:  # type: ignore[no-untyped-def]
    server = ScheduleSimulator(events, tz="America/Chicago",
                               weekly=SimEvent("Weekly Board Session", now + timedelta(days=1), 60)).start()
    yield server
    server.stop()


@pytest.fixture()
def council(session_factory: sessionmaker[Session]) -> dict[str, Any]:
    """Channel COUNCIL on group council-pair (enc-main active, idle; enc-spare backup), and a
    cablecaster and an engineer."""
    with transaction(session_factory) as s:
        group = EncoderGroup(name="council-pair")
        s.add(group)
        s.flush()
        main = Encoder(name="enc-main", driver_kind="obs", address="127.0.0.1:1", group_id=group.id,
                       state="idle")
        spare = Encoder(name="enc-spare", driver_kind="obs", address="127.0.0.1:2", group_id=group.id,
                        role="backup", state="idle")
        s.add_all([main, spare])
        s.flush()
        group.active_encoder_id = main.id
        ch = Channel(code="COUNCIL", name="Council TV", input_url="http://127.0.0.1:9/c/master.m3u8",
                     encoder_group_id=group.id, tier=2)
        s.add(ch)
        s.add_all([Recipient(name="Cara", role="cablecaster", email="cara@example.org"),
                   Recipient(name="Eli", role="engineer", email="eli@example.org")])
        s.flush()
        return {"channel": ch.id, "group": group.id, "main": main.id, "spare": spare.id}
