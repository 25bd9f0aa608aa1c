"""The API as a child process for the browser tests (stoppable and restartable).

It is the production command, ``castwatch api`` (gunicorn, gthread worker, Socket.IO /live), on a
free loopback port and the test database.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import requests

from tests.support.processes import stop_process

from .browser import ARTIFACTS, ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ApiServer:
    """``castwatch api`` in a child process on a fixed loopback port, so it can be stopped and
    started again on the same address."""

    def __init__(self, database_url: str, port: int, env: dict[str, str] | None = None) -> None:
        self.database_url = database_url
        self.extra_env = env or {}
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = ARTIFACTS / f"api-{port}.log"

    def start(self, timeout_s: float = 30.0) -> None:
        env = dict(os.environ, DATABASE_URL=self.database_url, LOG_LEVEL="WARNING",
                   API_BIND=f"127.0.0.1:{self.port}", API_KEY_CACHE_SECONDS="1",
                   EGRESS_ALLOW="127.0.0.1/32,::1/128", **self.extra_env)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "castwatch.cli", "api"],
                env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the API exited with {self.proc.returncode}; see {self.log}")
            try:
                if requests.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the API did not become healthy within {timeout_s} s; see {self.log}")

    def stop(self) -> None:
        if self.proc is None:
            return
        stop_process(self.proc, grace_s=15)  # gunicorn's graceful stop
        self.proc = None
