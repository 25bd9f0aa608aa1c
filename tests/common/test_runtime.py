"""The shared start-up of every process: database, engine, /metrics, and their orderly close."""

from __future__ import annotations

import os
import signal
import socket
import threading
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text

from castwatch.common.runtime import process_runtime, run_until_signalled


@dataclass(frozen=True)
class _Settings:
    database_url: str | None
    data_dir: Path = Path(".castwatch")
    log_format: str = "text"
    log_level: str = "INFO"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_runtime_opens_the_database_serves_metrics_and_closes_both(database_url):
    port = _free_port()
    with process_runtime(_Settings(database_url), "test", application_name="castwatch-test",
                         pool_size=1, metrics_bind=("127.0.0.1", port)) as rt:
        with rt.session_factory() as session:
            assert session.execute(text("SELECT 1")).scalar_one() == 1
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            assert resp.status == 200
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2)
    assert rt.engine.pool.checkedout() == 0


def test_the_runtime_closes_what_it_opened_when_the_body_fails(database_url):
    port = _free_port()
    with pytest.raises(RuntimeError), process_runtime(
            _Settings(database_url), "test", application_name="castwatch-test", pool_size=1,
            metrics_bind=("127.0.0.1", port)):
        raise RuntimeError("boom")
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2)


def test_run_until_signalled_stops_on_sigterm_and_after_run_for():
    seen: list[str] = []

    async def main(stop) -> None:
        await stop.wait()
        seen.append("stopped")

    run_until_signalled(main, run_for=0.05)
    timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    run_until_signalled(main)
    timer.join()
    assert seen == ["stopped", "stopped"]
