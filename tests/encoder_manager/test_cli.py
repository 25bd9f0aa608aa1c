"""``castwatch encoders`` as a process: starts, serves /metrics, polls, stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import requests

from tests.encoder_manager.helpers import encoder_row, wait_for
from tests.support.egress import LOOPBACK_ALLOW


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_encoders_command_polls_and_serves_metrics(database_url, db, make_sim):
    sim = make_sim("matrox_monarch", streaming=True)
    encoder_row(db, sim, "cli-monarch")
    db.commit()
    port = free_port()
    env = os.environ | {"DATABASE_URL": database_url.replace("postgresql+psycopg2://", "postgresql://"),
                        "ENCODERS_METRICS_BIND": f"127.0.0.1:{port}", "ENCODER_SECRET_SIM": "admin:admin",
                        "ENCODERS_CREDENTIALS_BINDINGS": "env:ENCODER_SECRET_SIM = 127.0.0.1",
                        "ENCODERS_RELOAD_INTERVAL_S": "0.5", "EGRESS_ALLOW": LOOPBACK_ALLOW,
                        "ENCODERS_LOCK_INTERVAL_S": "0.2"}
    proc = subprocess.Popen([sys.executable, "-m", "castwatch.cli", "encoders", "--run-for", "60"], env=env,
                            stderr=subprocess.DEVNULL)
    try:
        def metrics() -> str:
            try:
                return requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
            except requests.ConnectionError:
                return ""

        text = wait_for(lambda: 'castwatch_encoders_polls_total{kind="matrox_monarch",result="ok"}' in
                        (m := metrics()) and m, timeout=20)
        assert "castwatch_encoders_poll_lag_seconds_bucket" in text
        assert sim.state.requests_matching("GetStatus")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
