"""A real VictoriaMetrics (Debian's ``/usr/bin/victoria-metrics``) on a free loopback port: it
accepts the InfluxDB v2 write protocol our ``InfluxSink`` speaks, exports what it stored
(``/api/v1/export``) and answers PromQL on ``/api/v1/query_range``."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

VM = shutil.which("victoria-metrics") or "/usr/bin/victoria-metrics"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).ok
    except requests.RequestException:
        return False


@contextmanager
def victoria_metrics(data_dir: Path) -> Iterator[str]:
    """Start VictoriaMetrics storing in ``data_dir``; yields its base URL; stops it after."""
    if not Path(VM).exists():
        raise RuntimeError("victoria-metrics is not installed (Debian package victoria-metrics)")
    port = free_port()
    proc = subprocess.Popen([VM, f"-httpListenAddr=127.0.0.1:{port}", f"-storageDataPath={data_dir}",
                             "-search.latencyOffset=0s", "-search.disableCache", "-loggerLevel=ERROR"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while not _ok(f"{url}/health"):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("victoria-metrics did not start")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
