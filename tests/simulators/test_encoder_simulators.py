"""Encoder simulators: the shared device model, the /_sim control API and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import requests

from castwatch.simulators.encoders import SIMULATORS, SimHost, SimState, simulator_class
from castwatch.simulators.encoders.state import FaultPlan


@pytest.fixture(scope="module")
def host() -> Iterator[SimHost]:
    h = SimHost().start()
    yield h
    h.stop()


def test_frames_grow_only_while_streaming_and_drops_follow_the_fault():
    state = SimState(streaming=True, fps=30)
    t0 = time.monotonic()
    state.set_faults(drop_rate_per_s=10.0)
    later = state.snapshot(t0 + 2.0)
    assert 55 <= later.frames_total <= 65 and 19 <= later.frames_dropped <= 21
    state.stop()
    stopped = state.snapshot()
    assert state.snapshot(time.monotonic() + 5).frames_total == stopped.frames_total


def test_overheat_ramps_from_when_it_was_switched_on():
    state = SimState(base_temperature_c=40)
    state.set_faults(overheat=True, overheat_rate_c_per_s=2.0)
    assert state.snapshot(time.monotonic() + 10).temperature_c == pytest.approx(60, abs=0.5)
    state.set_faults(overheat=False)
    assert state.snapshot().temperature_c == 40


def test_a_stopped_stream_fault_refuses_to_start():
    state = SimState(streaming=True)
    state.set_faults(stream_stop=True)
    assert not state.streaming and state.start() is False
    state.clear_faults()
    assert state.start() is True


def test_flapping_is_reproducible_from_its_seed():
    a, b = SimState(), SimState()
    a.set_faults(flapping=0.5, seed=42)
    b.set_faults(flapping=0.5, seed=42)
    assert [a.flap_bad() for _ in range(50)] == [b.flap_bad() for _ in range(50)]


def test_sessions_expire_on_demand_and_by_ttl():
    state = SimState()
    token = state.session_token()
    assert state.session_valid(token)
    state.expire_sessions()
    assert not state.session_valid(token)
    state.set_faults(session_ttl_s=0.01)
    fresh = state.session_token()
    time.sleep(0.02)
    assert not state.session_valid(fresh)


@pytest.mark.parametrize("bad", [{"explode": True}, {"http_error": 418}, {"flapping": 2}])
def test_a_bad_fault_plan_is_refused(bad):
    with pytest.raises(ValueError):
        FaultPlan.from_dict(bad)


@pytest.mark.parametrize("kind", sorted(SIMULATORS))
def test_the_control_api_switches_faults_and_logs_requests(kind, host):
    sim = simulator_class(kind)(SimState())
    host.run(sim.start())
    try:
        base = sim.control_url
        resp = requests.post(f"{base}/faults", json={"overheat": True, "drop_rate_per_s": 5}, timeout=5)
        assert resp.status_code == 200 and sim.state.faults.overheat
        assert requests.post(f"{base}/faults", json={"nope": 1}, timeout=5).status_code == 400
        assert requests.post(f"{base}/start", timeout=5).json() == {"ok": True} and sim.state.streaming
        state = requests.get(f"{base}/state", timeout=5).json()
        assert state["faults"]["drop_rate_per_s"] == 5 and state["snapshot"]["streaming"] is True
        requests.post(f"{base}/faults/clear", timeout=5)
        assert sim.state.faults == FaultPlan()
        sim.state.log("GET", "/probe")
        assert requests.get(f"{base}/requests", timeout=5).json()[-1]["path"] == "/probe"
    finally:
        host.run(sim.stop())


def test_http_simulators_answer_the_configured_error_status(host):
    sim = simulator_class("matrox_monarch")(SimState())
    host.run(sim.start())
    try:
        sim.state.set_faults(http_error=503)
        url = f"http://{sim.address}/Monarch/syncconnect/sdk.aspx?command=GetStatus"
        assert requests.get(url, auth=("admin", "admin"), timeout=5).status_code == 503
        sim.state.set_faults(http_error=None)
        assert requests.get(url, auth=("admin", "admin"), timeout=5).text.startswith("RECORD:")
        assert requests.get(url, auth=("admin", "wrong"), timeout=5).status_code == 401
    finally:
        host.run(sim.stop())


def test_the_cli_runs_a_simulator_and_prints_where_it_listens():
    argv = [sys.executable, "-m", "castwatch.cli", "sim", "encoder", "--kind", "generic_http",
            "--streaming", "--faults", '{"drop_rate_per_s": 3}', "--run-for", "20"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        state = requests.get(f"{info['control']}/state", timeout=5).json()
        assert state["faults"]["drop_rate_per_s"] == 3 and state["snapshot"]["streaming"] is True
        status = requests.get(f"http://{info['address']}/api/status", timeout=5,
                              headers={"Authorization": "Bearer admin"}).json()
        assert status["stream"]["state"] == "running"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
