"""The probe end to end: real PostgreSQL, the origin simulator on loopback, faults over HTTP.

One simulator and one probe serve the whole module (1 s segments, 2 s clear hold); every
scenario has its own channel, all faults are injected at once and each test then waits for its
alert, clears its fault and waits for the alert to resolve.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from castwatch.common.db import make_session_factory
from castwatch.common.models import Alert, AlertEvent, Base, Channel, Lease, Probe
from castwatch.packager_monitor.settings import ProbeSettings
from castwatch.simulators.origin.model import SimConfig
from castwatch.simulators.origin.server import OriginSimulator, SimulatorThread
from tests.support.egress import LOOPBACK

from .conftest import ProbeThread, sim_template, wait_for


@dataclass(frozen=True)
class Scenario:
    code: str
    protocol: str
    fault: str | None
    rendition: str | None
    value: object
    alert_type: str | None
    subject_suffix: str | None
    raise_within_s: float


SCENARIOS = [
    Scenario("CH_SIM_001", "HLS", None, None, None, None, None, 0),
    Scenario("CH_SIM_002", "DASH", None, None, None, None, None, 0),
    Scenario("CH_SIM_003", "HLS", "stall", "720p", True, "PLAYLIST_STALE", "720p", 8),
    Scenario("CH_SIM_004", "HLS", "skip_sequence", "720p", 20, "MEDIA_SEQUENCE_GAP", "720p", 8),
    Scenario("CH_SIM_005", "HLS", "reset_sequence", "720p", True, "MEDIA_SEQUENCE_REGRESSION", "720p", 8),
    Scenario("CH_SIM_006", "HLS", "drop_rendition", "360p", True, "RENDITION_MISSING", "360p", 10),
    Scenario("CH_SIM_007", "HLS", "segment_status", "720p", 404, "SEGMENT_UNREACHABLE", "720p", 10),
    Scenario("CH_SIM_008", "HLS", "slow_segments", "720p", 1500, "SEGMENT_SLOW", "720p", 12),
    Scenario("CH_SIM_009", "HLS", "corrupt_segments", "720p", True, "SEGMENT_INVALID", "720p", 10),
    Scenario("CH_SIM_010", "HLS", "extinf_over_target", "720p", 1.0, "TARGET_DURATION_EXCEEDED", "720p", 8),
    Scenario("CH_SIM_011", "HLS", "discontinuity_no_bump", "720p", True,
             "DISCONTINUITY_SEQUENCE_ERROR", "720p", 15),
    Scenario("CH_SIM_012", "HLS", "playlist_status", "720p", 500, "PLAYLIST_UNREACHABLE", "720p", 8),
    Scenario("CH_SIM_013", "DASH", "stall", "720p", True, "MPD_STALE", "720p", 8),
    Scenario("CH_SIM_014", "DASH", "mpd_invalid", None, True, "MPD_INVALID", None, 8),
]
FAULTY = [s for s in SCENARIOS if s.fault]
HEALTHY = [s.code for s in SCENARIOS if not s.fault]


@pytest.fixture(scope="module")
def factory(engine: Engine) -> Iterator[sessionmaker[Session]]:
    yield make_session_factory(engine)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="module")
def sim() -> Iterator[OriginSimulator]:
    with SimulatorThread(SimConfig(channels=len(SCENARIOS), segment_s=1.0, window=6,
                                             start_sequence=1000)) as sim:
        yield sim


@pytest.fixture(scope="module")
def probe(factory: sessionmaker[Session], sim: OriginSimulator) -> Iterator[dict[str, float]]:
    """Seeds the channels, runs the probe until they are all checked, injects every fault;
    yields the monotonic time each fault was injected."""
    with factory() as s, s.begin():
        tpl = sim_template(s)
        for sc in SCENARIOS:
            url = sim.master_url(sc.code) if sc.protocol == "HLS" else sim.mpd_url(sc.code)
            s.add(Channel(code=sc.code, name=sc.code, protocol=sc.protocol, input_url=url,
                          template_id=tpl.id))
    settings = ProbeSettings(egress=LOOPBACK,
                             name="probe-e2e", lease_ttl_s=3, clear_hold_s=2, master_interval_s=1,
                             status_interval_s=1, timeout_s=5)
    with ProbeThread(settings, factory):
        def all_checked() -> bool:  # every rendition polled once, so faults are seen as changes
            with factory() as s:
                return all(len(c.last_check.get("renditions", {})) == 4 for c in s.scalars(select(Channel)))
        wait_for(all_checked, 20, "every rendition of every channel checked once")
        injected = {}
        for sc in FAULTY:
            body = {"channel": sc.code, "rendition": sc.rendition, "fault": sc.fault, "value": sc.value}
            requests.post(f"{sim.base_url}/_sim/faults", json=body, timeout=5).raise_for_status()
            injected[sc.code] = time.monotonic()
        yield injected


def _open_alert(factory: sessionmaker[Session], subject: str, alert_type: str) -> Alert | None:
    with factory() as s:
        return s.scalar(select(Alert).where(Alert.subject == subject, Alert.alert_type == alert_type,
                                            Alert.state != "resolved"))


def _any_alert(factory: sessionmaker[Session], subject: str, alert_type: str) -> Alert | None:
    with factory() as s:
        return s.scalars(select(Alert).where(Alert.subject == subject, Alert.alert_type == alert_type)
                         .order_by(Alert.id.desc())).first()


def test_the_probe_registers_its_heartbeat_and_leases_every_channel(probe, factory):
    with factory() as s:
        row = s.scalar(select(Probe).where(Probe.name == "probe-e2e"))
        assert row is not None and row.status == "online" and row.last_heartbeat_at is not None
        holders = set(s.scalars(select(Lease.holder)))
        assert holders == {"probe-e2e"}
        assert s.scalar(select(text("count(*)")).select_from(Lease)) == len(SCENARIOS)


@pytest.mark.parametrize("sc", FAULTY, ids=[f"{s.fault}-{s.protocol}" for s in FAULTY])
def test_each_fault_raises_its_alert_in_time_and_resolves_after_it_clears(sc: Scenario, probe, sim, factory):
    subject = f"{sc.code}/{sc.subject_suffix}" if sc.subject_suffix else sc.code
    bound = sc.raise_within_s - (time.monotonic() - probe[sc.code])
    alert = wait_for(lambda: _any_alert(factory, subject, sc.alert_type), max(bound, 0.5),
                     f"{sc.alert_type} on {subject}")  # one-shot faults may be resolved already
    assert alert.source == "probe" and alert.channel_id is not None
    assert alert.summary.startswith(sc.code)

    def channel_flagged() -> bool:
        with factory() as s:
            channel = s.get(Channel, alert.channel_id)
            assert channel is not None and channel.code == sc.code
            return channel.status in ("warning", "critical")
    if sc.fault not in ("skip_sequence", "reset_sequence"):
        wait_for(channel_flagged, 5, f"{sc.code} status to leave ok")
    requests.delete(f"{sim.base_url}/_sim/faults", params={"channel": sc.code}, timeout=5).raise_for_status()

    def resolved() -> Alert | None:
        with factory() as s:
            a = s.get(Alert, alert.id)
            return a if a is not None and a.state == "resolved" else None
    done = wait_for(resolved, 15, f"{sc.alert_type} on {subject} to resolve")
    assert done.resolved_by == "probe:probe-e2e"
    with factory() as s:
        kinds = list(s.scalars(select(AlertEvent.kind).where(AlertEvent.alert_id == alert.id)
                               .order_by(AlertEvent.id)))
    assert kinds[0] == "opened" and kinds[-1] == "resolved"


def test_a_stalled_rendition_also_puts_the_channel_out_of_sync_on_the_bare_code(probe, sim, factory):
    requests.post(f"{sim.base_url}/_sim/faults", json={"channel": "CH_SIM_003", "rendition": "480p",
                                                        "fault": "stall"}, timeout=5).raise_for_status()
    wait_for(lambda: _open_alert(factory, "CH_SIM_003", "VARIANTS_OUT_OF_SYNC"), 15,
             "VARIANTS_OUT_OF_SYNC on CH_SIM_003")
    requests.delete(f"{sim.base_url}/_sim/faults", params={"channel": "CH_SIM_003"}, timeout=5)
    wait_for(lambda: _open_alert(factory, "CH_SIM_003", "VARIANTS_OUT_OF_SYNC") is None, 15,
             "VARIANTS_OUT_OF_SYNC to resolve")


def test_healthy_channels_raised_nothing_during_the_whole_run_and_report_their_facts(probe, factory):
    with factory() as s:
        channels = {c.code: c for c in s.scalars(select(Channel).where(Channel.code.in_(HEALTHY)))}
        alerts = list(s.scalars(select(Alert).where(Alert.channel_id.in_([c.id for c in channels.values()]))))
    assert [f"{a.subject} {a.alert_type}: {a.summary}" for a in alerts] == []
    for code, channel in channels.items():
        assert channel.status == "ok", code
        assert channel.last_checked_at is not None
        facts = channel.last_check
        assert facts["probe"] == "probe-e2e" and facts["open_alerts"] == []
        assert sorted(facts["renditions"]) == ["1080p", "360p", "480p", "720p"], code
        for name, item in facts["renditions"].items():
            assert item["segment_status"] == 200 and item["segment_error"] is None, (code, name)
            assert item["download_time_ms"] >= 0 and item["last_change_age_s"] < 5
