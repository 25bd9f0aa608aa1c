"""``castwatch keys`` and ``castwatch api`` (gunicorn, REST and Socket.IO) as an operator runs them."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time

import psycopg2
import pytest
import requests
import socketio

from castwatch.cli import main
from castwatch.common.bus import dsn_for
from tests.support.processes import stop_process

from .support import bearer


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def cli_env(monkeypatch, database_url, session_factory):
    monkeypatch.setenv("DATABASE_URL", database_url)
    return database_url


def test_keys_create_prints_the_key_once_and_it_works(cli_env, capsys, client):
    code, out, err = run_cli(["keys", "create", "--name", "ops", "--scope", "admin",
                              "--expires", "90d"], capsys)
    assert code == 0
    key = out.strip()
    assert key.startswith("cw_") and "not shown again" in err
    assert client.post("/api/v1/encoder-groups", json={"name": "g"}, headers=bearer(key)).status_code == 201
    code, out, _ = run_cli(["keys", "list"], capsys)
    assert code == 0 and "ops" in out and key[:11] in out and key not in out


def test_keys_revoke_by_id_or_prefix_shuts_the_key_out(cli_env, capsys, client):
    _, first, _ = run_cli(["keys", "create", "--name", "a", "--scope", "read"], capsys)
    _, second, _ = run_cli(["keys", "create", "--name", "b", "--scope", "read", "--expires",
                            "never"], capsys)
    assert run_cli(["keys", "revoke", "1"], capsys)[0] == 0
    assert run_cli(["keys", "revoke", second.strip()[:11]], capsys)[0] == 0
    for key in (first.strip(), second.strip()):
        assert client.get("/api/v1/channels", headers=bearer(key)).status_code == 401
    _, listed, _ = run_cli(["keys", "list"], capsys)
    assert " a " not in listed and "revoked" not in listed
    _, listed, _ = run_cli(["keys", "list", "--all"], capsys)
    assert listed.count("revoked") == 2
    assert run_cli(["keys", "revoke", "cw_nosuchkey"], capsys)[0] == 1


def test_keys_refuse_a_bad_scope_or_expiry(cli_env, capsys):
    for argv in (["keys", "create", "--name", "x", "--scope", "root"],
                 ["keys", "create", "--name", "x", "--expires", "soon"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2


def test_api_help_explains_itself():
    result = subprocess.run([sys.executable, "-m", "castwatch.cli", "api", "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "gunicorn" in result.stdout and "API_BIND" in result.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop_closes_live_clients(proc: subprocess.Popen, base: str, key: str) -> None:
    """SIGTERM disconnects open websockets, so the stop does not sit out graceful_timeout (10 s)."""
    gone: queue.Queue[str] = queue.Queue()
    client = socketio.Client(reconnection=False)
    client.on("disconnect", lambda *reason: gone.put(str(reason)), namespace="/live")
    client.connect(base, namespaces=["/live"], auth={"token": key}, transports=["websocket"],
                   wait_timeout=10)
    try:
        proc.send_signal(signal.SIGTERM)
        gone.get(timeout=8)  # the server hung up on the client, well before graceful_timeout
        proc.wait(8)  # and the worker, no longer held by the websocket, exited
    finally:
        if client.connected:
            threading.Thread(target=client.disconnect, daemon=True).start()


def _live_push_under_gunicorn(base: str, key: str, database_url: str) -> None:
    """A websocket client of the gunicorn server gets a row committed by another connection."""
    received: queue.Queue[dict] = queue.Queue()
    client = socketio.Client(reconnection=False)
    client.on("probe", received.put, namespace="/live")
    client.connect(base, namespaces=["/live"], auth={"token": key}, transports=["websocket"],
                   wait_timeout=10)
    try:
        conn = psycopg2.connect(dsn_for(database_url))
        with conn, conn.cursor() as cur:
            cur.execute("INSERT INTO probes (name, status) VALUES ('edge-9', 'online')")
        conn.close()
        assert received.get(timeout=10)["name"] == "edge-9"
    finally:
        client.disconnect()


def test_castwatch_api_serves_health_under_gunicorn(cli_env, capsys):
    _, key, _ = run_cli(["keys", "create", "--name", "ops", "--scope", "read"], capsys)
    port = _free_port()
    # HOME where nothing can be created, as under `docker run --read-only` (issue #11 §5)
    env = os.environ | {"DATABASE_URL": cli_env, "API_BIND": f"127.0.0.1:{port}",
                        "API_THREADS": "4", "LOG_LEVEL": "WARNING", "HOME": "/proc"}
    env.pop("XDG_RUNTIME_DIR", None)
    proc = subprocess.Popen([sys.executable, "-m", "castwatch.cli", "api"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 40
        health = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                health = requests.get(f"{base}/api/v1/health", timeout=5)
                break
            except (requests.ConnectionError, requests.Timeout):  # still starting (a busy CI)
                time.sleep(0.2)
        assert health is not None, proc.stdout.read() if proc.poll() is not None else "no answer"
        assert (health.status_code, health.json()["database"]) == (200, "ok")
        listed = requests.get(f"{base}/api/v1/channels", headers=bearer(key.strip()), timeout=5)
        assert listed.status_code == 200 and listed.json()["total"] == 0
        assert "castwatch_api_requests_total" in requests.get(f"{base}/metrics", timeout=5).text
        _live_push_under_gunicorn(base, key.strip(), cli_env)
        _stop_closes_live_clients(proc, base, key.strip())
    finally:
        stop_process(proc, grace_s=15)
    logged = proc.stdout.read()  # type: ignore[union-attr]
    assert "Control server error" not in logged and "[ERROR]" not in logged, logged
