"""The content layer end to end: the origin simulator serves real ffmpeg-made segments, the
probe decodes them in a worker process, content faults open alerts in PostgreSQL that resolve
after the hold, the status row carries the figures and the thumbnail lands in its table."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from castwatch.common.db import make_session_factory
from castwatch.common.models import Alert, Base, Channel, ChannelThumbnail
from castwatch.packager_monitor.settings import ProbeSettings
from castwatch.simulators.origin.model import SimConfig
from castwatch.simulators.origin.server import OriginSimulator, SimulatorThread
from tests.support.egress import LOOPBACK

from .conftest import ProbeThread, sim_template, wait_for


@pytest.fixture(scope="module")
def session_factory(engine: Engine) -> Iterator[sessionmaker[Session]]:
    yield make_session_factory(engine)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="module")
def sim() -> Iterator[OriginSimulator]:
    with SimulatorThread(SimConfig(channels=2, segment_s=1.0, window=6, start_sequence=100,
                                   real_media=True)) as sim:
        yield sim


@pytest.fixture(scope="module")
def probe(session_factory: sessionmaker[Session], sim: OriginSimulator) -> Iterator[None]:
    with session_factory() as s, s.begin():
        tpl = sim_template(s)
        tpl.content_sample_interval_s = 0.5  # the other renditions are decoded every 3 s
        tpl.max_download_time_ms = 5000  # real 1080p segments on a busy test machine
        for code in ("CH_SIM_001", "CH_SIM_002"):
            s.add(Channel(code=code, name=code, protocol="HLS", input_url=sim.master_url(code),
                          template_id=tpl.id, tier=1))
    settings = ProbeSettings(egress=LOOPBACK, name="probe-content", lease_ttl_s=3, clear_hold_s=2,
                             master_interval_s=2, status_interval_s=1, timeout_s=5, content_workers=1,
                             content_queue=8, thumbnail_interval_s=1)
    with ProbeThread(settings, session_factory):
        def decoded() -> bool:
            with session_factory() as s:
                return all(c.last_check.get("content", {}).get("decoded", {}).get("360p", {}).get("audio")
                           for c in s.scalars(select(Channel)))
        wait_for(decoded, 60, "the 360p rendition of both channels decoded once")
        yield


def _alert(session_factory: sessionmaker[Session], subject: str, alert_type: str) -> Alert | None:
    with session_factory() as s:
        return s.scalars(select(Alert).where(Alert.subject == subject, Alert.alert_type == alert_type)
                         .order_by(Alert.id.desc())).first()


def test_a_healthy_channel_has_figures_a_thumbnail_and_no_content_alert(probe, session_factory):
    with session_factory() as s:
        channel = s.scalar(select(Channel).where(Channel.code == "CH_SIM_002"))
        assert channel is not None
        content = channel.last_check["content"]
        thumb = s.get(ChannelThumbnail, channel.id)
        alerts = list(s.scalars(select(Alert.alert_type).where(Alert.channel_id == channel.id)))
    assert content["mode"] == "continuous" and content["chosen"] == "360p"
    audio = content["decoded"]["360p"]["audio"][0]
    assert audio["momentary_lufs"] == pytest.approx(-23, abs=2)
    assert content["renditions"]["360p"]["measured_bps"] > 0
    assert content["renditions"]["360p"]["advertised_bps"] == 800_000
    assert thumb is not None and thumb.jpeg[:2] == b"\xff\xd8" and thumb.rendition == "360p"
    assert content["thumbnail_at"] is not None
    assert not {"VIDEO_BLACK", "VIDEO_FROZEN", "AUDIO_SILENCE", "LOUDNESS_OUT_OF_RANGE"} & set(alerts)


def test_a_black_picture_opens_video_black_and_resolves_after_the_hold(probe, sim, session_factory):
    body = {"channel": "CH_SIM_001", "rendition": None, "fault": "black", "value": True}
    requests.post(f"{sim.base_url}/_sim/faults", json=body, timeout=5).raise_for_status()
    alert = wait_for(lambda: _alert(session_factory, "CH_SIM_001/360p", "VIDEO_BLACK"), 30, "VIDEO_BLACK")
    assert alert.severity == "critical" and alert.source == "probe"
    assert alert.summary.startswith("CH_SIM_001 360p: picture black for")

    def flagged() -> bool:
        with session_factory() as s:
            return s.scalar(select(Channel.status).where(Channel.code == "CH_SIM_001")) == "critical"
    wait_for(flagged, 10, "CH_SIM_001 status critical")
    requests.delete(f"{sim.base_url}/_sim/faults", params={"channel": "CH_SIM_001"},
                    timeout=5).raise_for_status()

    def resolved() -> bool:
        with session_factory() as s:
            row = s.get(Alert, alert.id)
            return row is not None and row.state == "resolved"
    wait_for(resolved, 30, "VIDEO_BLACK to resolve")


def test_a_starved_top_rendition_raises_quality_low(probe, sim, session_factory):
    body = {"channel": "CH_SIM_002", "rendition": "1080p", "fault": "starved", "value": 24}
    requests.post(f"{sim.base_url}/_sim/faults", json=body, timeout=5).raise_for_status()
    try:
        alert = wait_for(lambda: _alert(session_factory, "CH_SIM_002/1080p", "QUALITY_LOW"), 40,
                         "QUALITY_LOW")
        assert alert.severity == "minor" and "P.1203.1" in alert.summary
        assert alert.details["mos"] < 3.5
    finally:
        requests.delete(f"{sim.base_url}/_sim/faults", params={"channel": "CH_SIM_002"},
                        timeout=5).raise_for_status()
