"""One hostile origin costs its channels an alert, never the probe its memory or the others
their polling: a real ``castwatch probe`` process, real PostgreSQL, the origin simulator for the
healthy channels and a hostile origin process (endless body, gzip bomb, slowloris, lying
Content-Length, a body full of secrets) for the others — all on loopback — plus a channel
pointing at the cloud metadata address, which the egress policy refuses without a packet sent.

The probe's peak RSS (``VmHWM``) is printed; docs/security.md quotes it.
"""

from __future__ import annotations

import os
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

from castwatch.common.models import Alert, Channel
from castwatch.simulators.origin.model import SimConfig
from castwatch.simulators.origin.server import OriginSimulator, SimulatorThread
from tests.support.egress import LOOPBACK_ALLOW
from tests.support.hostile import SECRET
from tests.support.processes import stop_process

from .conftest import sim_template, wait_for

#: Peak RSS the probe may reach with every hostile channel polled for a while (MiB). Before the
#: caps, one endless playlist took it to 1.9 GB in 5 s. The probe alone peaked at ~112 MiB here;
#: the content layer's libraries (PyAV, numpy, scipy) loaded in the probe add ~95 MiB of baseline.
MAX_RSS_MIB = 300
ROOT = Path(__file__).resolve().parents[2]
HOSTILE = {"CH_ENDLESS": "/endless.m3u8", "CH_BOMB": "/bomb.m3u8", "CH_LIAR": "/liar.m3u8",
           "CH_SLOW": "/slow.m3u8", "CH_SECRET": "/secret.m3u8"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _vm(pid: int, field: str) -> int:
    """A /proc/<pid>/status field in KiB (VmRSS now, VmHWM the peak so far)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


@pytest.fixture()
def hostile() -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tests.support.hostile", str(port)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(f"{url}/ok"), 15, "the hostile origin to listen")
        yield url
    finally:
        stop_process(proc)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture()
def sim() -> Iterator[OriginSimulator]:
    with SimulatorThread(SimConfig(channels=3, segment_s=1.0)) as sim:
        yield sim


def _firing(factory: sessionmaker[Session]) -> dict[str, tuple[str, str]]:
    with factory() as s:
        return {a.subject: (a.alert_type, a.summary) for a in
                s.scalars(select(Alert).where(Alert.state != "resolved"))}


def test_a_hostile_origin_gets_its_alerts_while_rss_stays_bounded_and_the_others_are_polled(
        database_url: str, session_factory: sessionmaker[Session], sim: OriginSimulator,
        hostile: str, tmp_path: Path) -> None:
    with session_factory() as s, s.begin():
        tpl = sim_template(s)
        for code in sim.model.channels:
            s.add(Channel(code=code, name=code, input_url=sim.master_url(code), template_id=tpl.id))
        for code, path in HOSTILE.items():
            s.add(Channel(code=code, name=code, input_url=hostile + path, template_id=tpl.id))
        s.add(Channel(code="CH_METADATA", name="metadata", template_id=tpl.id,
                      input_url="http://169.254.169.254/latest/meta-data/iam/security-credentials/"))
    metrics_port = _free_port()
    env = dict(os.environ, DATABASE_URL=database_url, PROBE_NAME="probe-hostile", PROBE_TIMEOUT_S="3",
               PROBE_LEASE_TTL_S="3", PROBE_STATUS_INTERVAL_S="1", PROBE_MASTER_INTERVAL_S="2",
               PROBE_METRICS_BIND=f"127.0.0.1:{metrics_port}", LOG_LEVEL="WARNING",
               EGRESS_ALLOW=LOOPBACK_ALLOW)
    env.pop("INFLUXDB_URL", None)
    with open(tmp_path / "probe.log", "wb") as log:
        probe = subprocess.Popen([sys.executable, "-m", "castwatch.cli", "probe"], env=env,
                                 stdout=log, stderr=subprocess.STDOUT)
    try:
        expected = {"CH_ENDLESS": "PLAYLIST_INVALID", "CH_BOMB": "PLAYLIST_INVALID",
                    "CH_LIAR": "PLAYLIST_INVALID", "CH_SLOW": "PLAYLIST_UNREACHABLE",
                    "CH_SECRET": "PLAYLIST_UNREACHABLE", "CH_METADATA": "PLAYLIST_UNREACHABLE"}

        def all_raised() -> dict[str, tuple[str, str]] | None:
            firing = _firing(session_factory)
            return firing if all(firing.get(c, ("",))[0] == t for c, t in expected.items()) else None
        firing = wait_for(all_raised, 60, f"the hostile channels' alerts {expected}")
        for code in ("CH_ENDLESS", "CH_BOMB"):
            assert "too large: more than 4194304 bytes" in firing[code][1], firing[code]
        assert "too large: announced 10000000000000 bytes" in firing["CH_LIAR"][1]
        assert "unreachable (timeout: answer not complete within 3 s (HTTP 200," in firing["CH_SLOW"][1]
        assert firing["CH_SECRET"][1] == "CH_SECRET: master playlist unreachable (HTTP 500)"
        assert firing["CH_METADATA"][1] == (
            "CH_METADATA: master playlist unreachable (refused by egress policy (link-local))")
        assert not any(SECRET in summary for _, summary in firing.values())

        # keep the hostile channels busy for a while, then measure
        lag_before = _lag(metrics_port)
        time.sleep(15)
        lag_after = _lag(metrics_port)
        peak_kib = _vm(probe.pid, "VmHWM")
        print(f"\nprobe peak RSS under the hostile origin: {peak_kib / 1024:.1f} MiB "
              f"(now {_vm(probe.pid, 'VmRSS') / 1024:.1f} MiB)")
        assert peak_kib < MAX_RSS_MIB * 1024, f"probe peak RSS {peak_kib / 1024:.0f} MiB"

        healthy = [c for c in _firing(session_factory) if c.split("/")[0] in sim.model.channels]
        assert healthy == [], f"healthy channels alerted: {healthy}"
        polls = lag_after[0] - lag_before[0]
        late = polls - (lag_after[1] - lag_before[1])
        # 3 healthy channels x 4 renditions of 1 s segments are polled about every second
        assert polls >= 3 * 4 * 15 * 0.8, f"only {polls} polls in 15 s"
        assert late <= polls * 0.01, f"{late} of {polls} polls started more than 0.5 s late"
        assert probe.poll() is None, "the probe died"
    finally:
        stop_process(probe)


def _lag(port: int) -> tuple[float, float]:
    """(polls so far, polls that started at most 0.5 s late) from the schedule-lag histogram."""
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    total = within = 0.0
    for line in text.splitlines():
        if line.startswith("castwatch_probe_schedule_lag_seconds_count"):
            total = float(line.split()[-1])
        elif line.startswith('castwatch_probe_schedule_lag_seconds_bucket{le="0.5"}'):
            within = float(line.split()[-1])
    return total, within
