"""Helpers for the stack tests: free ports, bounded waits, real tools, an nginx harness.

The nginx harness runs OUR config (nginx/castwatch-http.conf, proxy-headers.conf) as a normal
process: a test-only main file supplies pid/log/temp paths inside a temp dir, an upstreams file
pointing at loopback ports, a self-signed certificate, and the listen ports are rewritten from
80/443 to free ports. Everything else is the file operators deploy.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine

REPO = Path(__file__).resolve().parents[2]
NGINX_DIR = REPO / "nginx"
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], T | None], *, timeout_s: float, what: str,
               interval_s: float = 0.2) -> T:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` after the timeout."""
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as exc:  # the peer may not be up yet
            last_error = exc
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what} (last error: {last_error})")


def tool(name: str) -> str:
    """The path of a required tool; a missing tool FAILS the test (CI installs them all)."""
    for candidate in (name, f"/usr/sbin/{name}", f"/usr/bin/{name}"):
        path = shutil.which(candidate)
        if path:
            return path
    raise AssertionError(f"{name} is not installed: the stack tests need it (see scripts/test.sh)")


def run_tool(*argv: str, cwd: Path | None = None, timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
    """Run a tool; assert it succeeded, showing its output when it did not."""
    result = subprocess.run([tool(argv[0]), *argv[1:]], cwd=cwd, capture_output=True, text=True,
                            timeout=timeout_s)
    assert result.returncode == 0, f"{' '.join(argv)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def self_signed_cert(directory: Path, host: str = "localhost") -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "fullchain.pem", directory / "privkey.pem"
    run_tool("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", f"/CN={host}", "-addext", f"subjectAltName=DNS:{host},IP:127.0.0.1",
             "-keyout", str(key), "-out", str(cert))
    return cert, key


@dataclass
class NginxHarness:
    root: Path
    http_port: int
    https_port: int

    @property
    def main_conf(self) -> Path:
        return self.root / "nginx.conf"

    @property
    def ca_file(self) -> str:
        """The self-signed certificate, to verify HTTPS against (for 127.0.0.1 and localhost)."""
        return str(self.root / "certs" / "fullchain.pem")


def build_nginx_harness(root: Path, *, api_port: int, grafana_port: int) -> NginxHarness:
    """Lay out our nginx config under ``root`` with loopback upstreams and free listen ports."""
    http_port, https_port = free_port(), free_port()
    site = (NGINX_DIR / "castwatch-http.conf").read_text()
    site, n_http = re.subn(r"listen 80;", f"listen 127.0.0.1:{http_port};", site)
    site, n_https = re.subn(r"listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;", site)
    assert (n_http, n_https) == (1, 1), "nginx/castwatch-http.conf listens somewhere unexpected"
    (root / "castwatch-http.conf").write_text(site)
    shutil.copy(NGINX_DIR / "proxy-headers.conf", root / "proxy-headers.conf")
    shutil.copy("/etc/nginx/mime.types", root / "mime.types")
    upstreams = (NGINX_DIR / "upstreams.conf").read_text()
    upstreams = upstreams.replace("server api:8080", f"server 127.0.0.1:{api_port}")
    upstreams = upstreams.replace("server grafana:3000", f"server 127.0.0.1:{grafana_port}")
    (root / "upstreams.conf").write_text(upstreams)
    self_signed_cert(root / "certs")
    temp = root / "temp"
    temp.mkdir()
    user = "user root;" if os.geteuid() == 0 else ""  # workers must read our temp dir
    paths = "\n".join(f"    {kind}_temp_path {temp / kind};"
                      for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (root / "nginx.conf").write_text(f"""{user}
worker_processes 1;
daemon off;
pid {root / 'nginx.pid'};
error_log {root / 'error.log'} info;
events {{ worker_connections 256; }}
http {{
    include mime.types;
    access_log {root / 'access.log'};
{paths}
    include castwatch-http.conf;
}}
""")
    return NginxHarness(root, http_port, https_port)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 10 s."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def empty_tables(engine: Engine) -> None:
    """TRUNCATE every castwatch table (what other test modules expect to start from)."""
    from sqlalchemy import text

    from castwatch.common.models import Base

    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
