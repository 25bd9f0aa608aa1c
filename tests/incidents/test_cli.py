"""``castwatch incidents`` as a real process: correlates, serves /metrics, stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from castwatch.common.models import Incident, NotificationRule
from castwatch.schedules.service import CABLECASTER_RULE
from tests.notifier.conftest import free_port
from tests.packager_monitor.conftest import wait_for
from tests.support.egress import LOOPBACK_ALLOW

RUN = ("import argparse, sys\n"
       "from castwatch.settings import Settings\n"
       "from castwatch.incidents import cli\n"
       "p = argparse.ArgumentParser(); cli.configure(p)\n"
       "sys.exit(cli.run(p.parse_args(sys.argv[1:]), Settings.from_env()))\n")


def test_the_process_correlates_serves_metrics_and_stops_on_sigterm(
    database_url: str, seeded: dict[str, Any], fire: Callable[..., int],
    session_factory: sessionmaker[Session],
) -> None:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url.replace("+psycopg2", ""), "LOG_LEVEL": "WARNING",
           "EGRESS_ALLOW": LOOPBACK_ALLOW}
    proc = subprocess.Popen([sys.executable, "-c", RUN, "--metrics-bind", f"127.0.0.1:{port}",
                             "--poll-interval", "0.5"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        fire("encoders", "enc-a", "ENCODER_STREAM_DOWN", "critical", encoder_id=seeded["enc_a"])

        def incident() -> bool:
            with session_factory() as s:
                return s.scalar(select(Incident.id)) is not None
        wait_for(incident, 20, "the process to open an incident")

        def metrics() -> str:
            try:
                return requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
            except requests.RequestException:
                return ""
        text = wait_for(lambda: "castwatch_incidents_open 1.0" in metrics() and metrics(), 10, "/metrics")
        assert 'castwatch_incidents_rounds_total{result="ok"}' in text
        assert 'castwatch_incidents_ticks_total{result="ok",task="schedule_check"}' in text
        with session_factory() as s:  # the schedule monitor installed its routing rule
            assert s.scalar(select(NotificationRule.roles).where(
                NotificationRule.name == CABLECASTER_RULE["name"])) == ["cablecaster"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
