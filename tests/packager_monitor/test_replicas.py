"""Two real ``castwatch probe`` processes share the channels through leases; when one is
killed (SIGKILL, no goodbye) the other takes its channels and its open alerts over."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from castwatch.common.models import Alert, Channel, Lease, Probe
from castwatch.simulators.origin.model import SimConfig
from castwatch.simulators.origin.server import OriginSimulator, SimulatorThread
from tests.support.egress import LOOPBACK_ALLOW
from tests.support.processes import stop_process

from .conftest import sim_template, wait_for

TTL = 2.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def sim() -> Iterator[OriginSimulator]:
    with SimulatorThread(SimConfig(channels=4, segment_s=1.0)) as sim:
        yield sim


@pytest.fixture()
def start_probe(database_url: str, tmp_path: Path) -> Iterator:
    procs: list[subprocess.Popen[bytes]] = []

    def start(name: str, metrics_port: int = 0) -> subprocess.Popen[bytes]:
        env = dict(os.environ, DATABASE_URL=database_url, PROBE_NAME=name,
                   PROBE_LEASE_TTL_S=str(TTL), PROBE_CLEAR_HOLD_S="2", PROBE_MASTER_INTERVAL_S="1",
                   PROBE_STATUS_INTERVAL_S="1", PROBE_METRICS_BIND=f"127.0.0.1:{metrics_port}",
                   LOG_LEVEL="WARNING", EGRESS_ALLOW=LOOPBACK_ALLOW)
        env.pop("INFLUXDB_URL", None)
        log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen([sys.executable, "-m", "castwatch.cli", "probe"], env=env,
                                stdout=log, stderr=subprocess.STDOUT)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        stop_process(proc)


def _holders(factory: sessionmaker[Session]) -> dict[str, list[str]]:
    with factory() as s:
        out: dict[str, list[str]] = {}
        for lease in s.scalars(select(Lease).order_by(Lease.resource)):
            out.setdefault(lease.holder, []).append(lease.resource)
        return out


def test_two_replicas_split_the_channels_and_one_takes_over_when_the_other_is_killed(
        session_factory, sim, start_probe):
    with session_factory() as s, s.begin():
        tpl = sim_template(s)
        for code in sim.model.channels:
            s.add(Channel(code=code, name=code, input_url=sim.master_url(code), template_id=tpl.id))
    metrics_port = _free_port()
    a = start_probe("probe-a", metrics_port)
    start_probe("probe-b")
    def split_evenly() -> dict[str, list[str]] | None:
        h = _holders(session_factory)
        return h if sorted(map(len, h.values())) == [2, 2] else None
    split = wait_for(split_evenly, 30, "the four channels split 2/2 between probe-a and probe-b")
    assert set(split) == {"probe-a", "probe-b"}

    url = f"http://127.0.0.1:{metrics_port}/metrics"
    metrics = wait_for(lambda: (m := _get(url)) and "castwatch_probe_channels_assigned 2.0" in m and m,
                       10, "probe-a /metrics to show its 2 channels")
    for name in ("castwatch_probe_polls_total", "castwatch_probe_fetch_seconds_bucket",
                 "castwatch_probe_schedule_lag_seconds_bucket", "castwatch_probe_open_alerts"):
        assert name in metrics

    # a channel of probe-a goes stale; probe-a raises the alert, then dies without a word
    with session_factory() as s:
        victim = s.get(Channel, int(split["probe-a"][0].split(":")[1]))
        assert victim is not None
    requests.post(f"{sim.base_url}/_sim/faults", json={"channel": victim.code, "rendition": "720p",
                                                        "fault": "stall"}, timeout=5).raise_for_status()
    subject = f"{victim.code}/720p"

    def stale_alert() -> Alert | None:
        with session_factory() as s:
            return s.scalar(select(Alert).where(Alert.subject == subject, Alert.state == "firing"))
    wait_for(stale_alert, 15, f"PLAYLIST_STALE on {subject}")
    a.send_signal(signal.SIGKILL)
    a.wait(5)
    killed_at = time.monotonic()
    wait_for(lambda: {k: len(v) for k, v in _holders(session_factory).items()} == {"probe-b": 4},
             4 * TTL, "probe-b to hold all four channels")
    took = time.monotonic() - killed_at
    assert took <= 2 * TTL + 1.0, f"takeover took {took:.1f} s (TTL {TTL} s)"

    requests.delete(f"{sim.base_url}/_sim/faults", timeout=5).raise_for_status()

    def resolved_by_b() -> bool:
        with session_factory() as s:
            alert = s.scalar(select(Alert).where(Alert.subject == subject))
            return alert is not None and alert.state == "resolved" and alert.resolved_by == "probe:probe-b"
    wait_for(resolved_by_b, 15, "probe-b to resolve the alert probe-a had opened")
    with session_factory() as s:
        probes = {p.name: p.status for p in s.scalars(select(Probe))}
    assert probes == {"probe-a": "online", "probe-b": "online"}  # a's row ages; its heartbeat stopped


def _get(url: str) -> str | None:
    try:
        return requests.get(url, timeout=2).text
    except requests.RequestException:
        return None
