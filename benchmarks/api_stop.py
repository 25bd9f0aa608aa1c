"""Benchmark: how long `castwatch api` takes to stop (SIGTERM → exit) with live clients open.

Starts the API twice on a scratch database — once with the stock ``gthread`` worker, once with
the API's own ``LiveThreadWorker`` (which disconnects Socket.IO clients on SIGTERM) — connects
``--clients`` websocket clients to ``/live`` each time, sends SIGTERM and times the exit.

    python benchmarks/api_stop.py [--clients 3]

Uses DATABASE_URL's server (a scratch database is created and dropped) or the embedded
PostgreSQL. The stock worker waits for gunicorn's ``graceful_timeout`` (10 s) when a client
stays connected.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta

import psycopg2
import requests
import socketio
from sqlalchemy.engine import make_url

from castwatch.cms_api.auth import create_key
from castwatch.common.db import make_engine, make_session_factory, transaction, upgrade
from castwatch.common.runtime import database_url_or_embedded
from castwatch.settings import Settings

SERVER = """
import sys
import castwatch.cms_api.cli as cli
from castwatch.cli import main
if sys.argv[1] == "gthread":
    plain = cli.gunicorn_options
    cli.gunicorn_options = lambda s: dict(plain(s), worker_class="gthread")
sys.exit(main(["api"]))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def measure(url: str, key: str, worker: str, clients: int) -> float:
    port = free_port()
    env = dict(os.environ, DATABASE_URL=url, API_BIND=f"127.0.0.1:{port}", LOG_LEVEL="WARNING")
    proc = subprocess.Popen([sys.executable, "-c", SERVER, worker], env=env)
    base = f"http://127.0.0.1:{port}"
    conns: list[socketio.Client] = []
    try:
        for _ in range(300):
            try:
                if requests.get(base + "/api/v1/health", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        for _ in range(clients):
            sio = socketio.Client(reconnection=False)
            sio.connect(base, namespaces=["/live"], auth={"token": key}, transports=["websocket"])
            conns.append(sio)
        time.sleep(0.5)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        return time.monotonic() - started
    finally:
        for sio in conns:
            sio.disconnect()
        if proc.poll() is None:
            proc.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=3)
    args = parser.parse_args()
    base_url, embedded = database_url_or_embedded(Settings.from_env())
    name = f"cw_stop_{secrets.token_hex(4)}"
    admin = make_url(base_url)
    conn = psycopg2.connect(admin.set(drivername="postgresql").render_as_string(False))
    conn.autocommit = True
    conn.cursor().execute(f'CREATE DATABASE "{name}"')
    url = admin.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        engine = make_engine(url, pool_size=1)
        with transaction(make_session_factory(engine)) as session:
            _, key = create_key(session, name="bench", scope="read", expires_in=timedelta(hours=1))
        engine.dispose()
        for worker in ("gthread", "castwatch"):
            took = measure(url, key, worker, args.clients)
            print(f"{worker:>10} worker, {args.clients} live clients: stopped in {took:.2f} s")
    finally:
        conn.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()
        if embedded is not None:
            embedded.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
