"""Leases and the database writer against real PostgreSQL, step by step (no clocks to wait on)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, text

from castwatch.common.db import transaction
from castwatch.common.models import Alert, Channel, Lease, Probe
from castwatch.packager_monitor import leases
from castwatch.packager_monitor.alerting import AlertOp
from castwatch.packager_monitor.store import ChannelUpdate, DbWriter, load_channels

from .conftest import sim_template, wait_for


def _seed(factory, n: int) -> list[int]:
    with transaction(factory) as s:
        tpl = sim_template(s)
        channels = [Channel(code=f"CH_{i}", name=f"CH {i}", input_url=f"http://o/{i}.m3u8",
                            template_id=tpl.id) for i in range(n)]
        s.add_all(channels)
        s.flush()
        return [c.id for c in channels]


def _cycle(factory, name: str, ttl: float = 30) -> list[int]:
    with transaction(factory) as s:
        leases.heartbeat(s, name, hostname="h", version="t", stats={"channels": 0})
        return leases.cycle(s, name, ttl)


def test_replicas_share_fairly_and_an_expired_replica_loses_everything(session_factory):
    ids = _seed(session_factory, 5)
    assert _cycle(session_factory, "a") == ids  # alone: takes all five
    assert _cycle(session_factory, "b") == []  # nothing free yet
    assert _cycle(session_factory, "a") == ids[:3]  # two live replicas: share is 3, gives 2 back
    assert _cycle(session_factory, "b") == ids[3:]
    with transaction(session_factory) as s:  # a dies: heartbeat and leases run out
        s.execute(text("UPDATE probes SET last_heartbeat_at = now() - interval '1 hour' WHERE name = 'a'"))
        s.execute(text("UPDATE leases SET expires_at = now() - interval '1 second' WHERE holder = 'a'"))
    assert _cycle(session_factory, "b") == ids
    assert _cycle(session_factory, "a") == []  # a is back: nothing free until b rebalances
    assert _cycle(session_factory, "b") == ids[:3]


def test_disabled_channels_lose_their_lease_and_stopped_replicas_free_theirs(session_factory):
    ids = _seed(session_factory, 2)
    assert _cycle(session_factory, "a") == ids
    with transaction(session_factory) as s:
        s.get(Channel, ids[0]).enabled = False
    assert _cycle(session_factory, "a") == ids[1:]
    with transaction(session_factory) as s:
        leases.mark_stopped(s, "a")
    with session_factory() as s:
        assert list(s.scalars(select(Lease))) == []
        assert s.scalar(select(Probe.status).where(Probe.name == "a")) == "stopped"


def test_load_channels_brings_the_template_and_open_alerts_to_adopt(session_factory):
    ids = _seed(session_factory, 1)
    writer = DbWriter(session_factory, actor="probe:a")
    writer.start()
    writer.put([AlertOp("fire", ids[0], "CH_0/720p", "PLAYLIST_STALE", "critical", "stale", {"age_s": 9})])
    writer.close()
    with session_factory() as s:
        [(cfg, version)] = load_channels(s, ids).values()
    assert cfg.code == "CH_0" and cfg.template is not None and len(cfg.template.rungs) == 4
    assert cfg.adopt == (("CH_0/720p", "PLAYLIST_STALE", "critical"),)
    assert version


def test_the_writer_drops_only_what_the_database_refuses(session_factory):
    ids = _seed(session_factory, 1)
    writer = DbWriter(session_factory, actor="probe:a")
    writer.start()
    writer.put([
        AlertOp("fire", 999_999, "CH_GONE/720p", "PLAYLIST_STALE", "critical", "gone channel"),
        AlertOp("fire", ids[0], "CH_0", "LADDER_MISMATCH", "minor", "ladder differs"),
        ChannelUpdate(ids[0], "warning", datetime.now(UTC), {"probe": "a"}, (True, False, False)),
    ])
    writer.close()

    def written() -> bool:
        with session_factory() as s:
            return s.scalar(select(Alert).where(Alert.subject == "CH_0")) is not None
    wait_for(written, 5, "the valid alert")
    with session_factory() as s:
        assert s.scalar(select(Alert).where(Alert.subject == "CH_GONE/720p")) is None
        channel = s.get(Channel, ids[0])
        assert channel is not None and channel.status == "warning" and channel.is_4k
        assert channel.last_check == {"probe": "a"}
