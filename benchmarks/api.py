"""Benchmark: requests/s of the real API's channel list against a bare Flask hello endpoint.

Both run under gunicorn with the API's own worker settings (``castwatch.cms_api.cli.gunicorn_options``:
API_WORKERS gthread workers × API_THREADS threads), one after the other, on loopback. The API
serves ``GET /api/v1/channels?limit=200`` (200 channels, authenticated with a read key) from a
fresh database; the hello app answers ``GET /`` with a short JSON body. The load generator is
``wrk`` when installed (Debian package ``wrk``), else a threaded Python keep-alive client.

    python benchmarks/api.py [--seconds 10] [--connections 16]

Uses DATABASE_URL's server (a scratch database is created and dropped) or, without it, the
embedded PostgreSQL. The API's rate limit is raised for the run (it would otherwise answer 429).
Prints both rates and their ratio (goal ≥ 0.5). Numbers depend on the machine: run it alone.
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

import psycopg2
from sqlalchemy.engine import make_url

from castwatch.cms_api.auth import create_key
from castwatch.common.db import make_engine, make_session_factory, transaction, upgrade
from castwatch.common.models import Channel, Probe, Template, TemplateRendition
from castwatch.common.runtime import database_url_or_embedded
from castwatch.settings import Settings

HELLO_APP = """
import sys
from flask import Flask
from castwatch.cms_api.cli import gunicorn_options, serve_with_gunicorn
from castwatch.settings import Settings

def factory():
    app = Flask("hello")

    @app.get("/")
    def hello():
        return {"hello": "world"}

    return app

serve_with_gunicorn(factory, gunicorn_options(Settings.from_env()))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def scratch_database(base_url: str) -> str:
    name = f"castwatch_bench_{secrets.token_hex(4)}"
    admin = psycopg2.connect(base_url.replace("postgresql+psycopg2://", "postgresql://"))
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    admin.close()
    url = make_url(base_url.replace("postgresql://", "postgresql+psycopg2://", 1)).set(database=name)
    return url.render_as_string(hide_password=False)


def drop_database(base_url: str, url: str) -> None:
    name = make_url(url).database
    admin = psycopg2.connect(base_url.replace("postgresql+psycopg2://", "postgresql://"))
    admin.autocommit = True
    cur = admin.cursor()
    cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
    cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.close()


def seed(url: str, channels: int) -> str:
    """200 channels on one template and probe; returns a read key."""
    engine = make_engine(url, pool_size=1)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        probe = Probe(name="bench-probe", status="online")
        template = Template(name="bench", renditions=[
            TemplateRendition(name=f"{h}p", bandwidth=h * 5000, resolution=f"{h * 16 // 9}x{h}")
            for h in (1080, 720, 480)])
        session.add_all([probe, template])
        session.flush()
        session.add_all(
            Channel(code=f"CH_BENCH_{i:04d}", name=f"Bench channel {i}", tier=1 + i % 3,
                    input_url=f"https://origin.example/{i}/master.m3u8", probe_id=probe.id,
                    template_id=template.id, status="ok",
                    last_check={"renditions": 3, "segment_ms": 120 + i % 40})
            for i in range(channels))
        _, key = create_key(session, name="bench", scope="read", expires_in=None)
    engine.dispose()
    return key


def start(argv: list[str], env: dict[str, str], url: str, headers: dict[str, str]) -> subprocess.Popen:
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            status, _ = fetch_once(url, headers)
            if status == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"server at {url} did not answer 200 within 60 s")


def fetch_once(url: str, headers: dict[str, str]) -> tuple[int, int]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, len(body)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def load_wrk(url: str, headers: dict[str, str], seconds: float, connections: int) -> float:
    argv = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{int(seconds)}s", "--latency"]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    out = subprocess.run(argv + [url], capture_output=True, text=True, timeout=seconds + 60).stdout
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit(f"{non2xx.group(1)} responses were not 2xx:\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not match:
        raise SystemExit(f"could not read wrk output:\n{out}")
    return float(match.group(1))


def load_python(url: str, headers: dict[str, str], seconds: float, connections: int) -> float:
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    counts = [0] * connections
    errors: list[str] = []
    deadline = time.monotonic() + seconds

    def worker(slot: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        while time.monotonic() < deadline:
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                errors.append(str(resp.status))
                return
            counts[slot] += 1
        conn.close()

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 30)
    if errors:
        raise SystemExit(f"non-200 answers: {errors[:5]}")
    return sum(counts) / (time.monotonic() - started)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="load duration per server")
    parser.add_argument("--connections", type=int, default=16, help="concurrent keep-alive connections")
    parser.add_argument("--channels", type=int, default=200)
    args = parser.parse_args()

    settings = Settings.from_env()
    base_url, embedded = database_url_or_embedded(settings)
    url = scratch_database(base_url)
    load = load_wrk if shutil.which("wrk") else load_python
    try:
        upgrade(url)
        key = seed(url, args.channels)
        api_port, hello_port = free_port(), free_port()
        env = dict(os.environ, DATABASE_URL=url, LOG_LEVEL="WARNING",
                   API_RATE_LIMIT_PER_MINUTE="1000000000")
        auth = {"Authorization": f"Bearer {key}"}
        api_url = f"http://127.0.0.1:{api_port}/api/v1/channels?limit={args.channels}"
        proc = start([sys.executable, "-m", "castwatch.cli", "api"],
                     env | {"API_BIND": f"127.0.0.1:{api_port}"}, api_url, auth)
        try:
            status, size = fetch_once(api_url, auth)
            load(api_url, auth, 2, args.connections)  # warm-up
            api_rps = load(api_url, auth, args.seconds, args.connections)
        finally:
            stop(proc)
        hello_url = f"http://127.0.0.1:{hello_port}/"
        proc = start([sys.executable, "-c", HELLO_APP],
                     env | {"API_BIND": f"127.0.0.1:{hello_port}"}, hello_url, {})
        try:
            load(hello_url, {}, 2, args.connections)
            hello_rps = load(hello_url, {}, args.seconds, args.connections)
        finally:
            stop(proc)
    finally:
        drop_database(base_url, url)
        if embedded is not None:
            embedded.stop()

    api = dataclasses.replace(settings.api)
    print(f"gunicorn gthread: {api.workers} worker(s) x {api.threads} threads; load: "
          f"{load.__name__.removeprefix('load_')}, {args.connections} connections, {args.seconds:.0f} s each")
    print(f"GET /api/v1/channels?limit={args.channels} (authenticated, {size} bytes): {api_rps:,.0f} req/s")
    print(f"GET / bare Flask hello:                         {hello_rps:,.0f} req/s")
    ratio = api_rps / hello_rps if hello_rps else 0.0
    print(f"ratio: {ratio:.2f} (goal >= 0.5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
