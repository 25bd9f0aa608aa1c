"""Live sockets obey revocation, expiry and the per-address rate limit (issue #11 §4).

A real API server on loopback and real python-socketio clients over websocket.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
import socketio
from sqlalchemy import select, update
from werkzeug.serving import make_server

from castwatch.cms_api import create_app
from castwatch.cms_api.live import client_address, stale_digests
from castwatch.common.db import transaction
from castwatch.common.models import ApiKey, utcnow

from .support import api_settings, bearer


@contextmanager
def serve(session_factory: Any, database_url: str, **api: Any) -> Iterator[str]:
    app = create_app(api_settings(**api), session_factory=session_factory, database_url=database_url)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
        app.extensions["castwatch_live"].stop()


class Client:
    """A websocket client that records the events it got and whether it is still connected."""

    def __init__(self, url: str, token: str) -> None:
        self.sio = socketio.Client(reconnection=False)
        self.events: list[str] = []
        self.gone = threading.Event()
        self.sio.on("hello", lambda _d: self.events.append("hello"), namespace="/live")
        self.sio.on("revoked", lambda _d: self.events.append("revoked"), namespace="/live")
        self.sio.on("disconnect", lambda *_a: self.gone.set(), namespace="/live")
        self.sio.connect(url, namespaces=["/live"], auth={"token": token},
                         transports=["websocket"], wait_timeout=10)

    def close(self) -> None:
        threading.Thread(target=self.sio.disconnect, daemon=True).start()


def refusal(url: str, token: str) -> str:
    """The message of the server's refusal of a connect attempt (fails if it is accepted)."""
    sio = socketio.Client(reconnection=False)
    messages: list[str] = []
    sio.on("connect_error", lambda data: messages.append(str((data or {}).get("message", data))),
           namespace="/live")
    with pytest.raises(socketio.exceptions.ConnectionError):
        sio.connect(url, namespaces=["/live"], auth={"token": token}, transports=["websocket"],
                    wait_timeout=10)
    threading.Thread(target=sio.disconnect, daemon=True).start()
    return " ".join(messages)


@pytest.fixture()
def clients() -> Iterator[Callable[[str, str], Client]]:
    made: list[Client] = []

    def make(url: str, token: str) -> Client:
        made.append(Client(url, token))
        return made[-1]

    yield make
    for client in made:
        client.close()


def _key_id(session_factory: Any, key: str) -> int:
    with session_factory() as session:
        return session.scalars(select(ApiKey.id).where(ApiKey.prefix == key[:11])).one()


def test_a_revoked_keys_socket_is_disconnected_within_the_cache_time(
        session_factory, database_url, make_key, clients):
    with serve(session_factory, database_url, key_cache_s=0.5) as url:
        wall = make_key("read", "wall")
        other = make_key("read", "other")
        client, bystander = clients(url, wall), clients(url, other)
        time.sleep(1.2)  # two re-checks: valid keys stay connected
        assert client.sio.connected and bystander.sio.connected
        resp = requests.post(f"{url}/api/v1/keys/{_key_id(session_factory, wall)}/revoke",
                             headers=bearer(make_key("admin")), timeout=5)
        assert resp.status_code == 200, resp.text
        started = time.monotonic()
        assert client.gone.wait(5), "the revoked key's socket is still open"
        assert time.monotonic() - started < 2.0
        assert "revoked" in client.events
        assert bystander.sio.connected and not bystander.gone.is_set()
        assert "revoked" in refusal(url, wall)


def test_an_expired_keys_socket_is_disconnected(session_factory, database_url, make_key, clients):
    with serve(session_factory, database_url, key_cache_s=0.3) as url:
        key = make_key("read", "short-lived")
        client = clients(url, key)
        with transaction(session_factory) as session:
            session.execute(update(ApiKey).where(ApiKey.prefix == key[:11])
                            .values(expires_at=utcnow() + timedelta(seconds=1)))
        assert client.gone.wait(6), "the expired key's socket is still open"
        assert "revoked" in client.events


def test_connect_attempts_count_against_the_addresses_rest_limit(
        session_factory, database_url, make_key, clients):
    with serve(session_factory, database_url, rate_limit_per_minute=4) as url:
        key = make_key("read", "flood")
        for _ in range(3):
            clients(url, key)
        assert requests.get(f"{url}/api/v1/channels", headers=bearer(make_key("read")),
                            timeout=5).status_code == 200
        assert "too many requests" in refusal(url, key)
        # the same bucket: REST from this address is limited now too
        resp = requests.get(f"{url}/api/v1/channels", headers=bearer(key), timeout=5)
        assert resp.status_code == 429


def test_a_bad_key_costs_a_connect_attempt_too(session_factory, database_url, clients):
    with serve(session_factory, database_url, rate_limit_per_minute=2) as url:
        for _ in range(2):
            assert "not valid" in refusal(url, "cw_guess")
        assert "too many requests" in refusal(url, "cw_guess")


def test_stale_digests_are_the_revoked_expired_and_deleted_ones():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    rows = {"ok": (None, None), "later": (None, now + timedelta(hours=1)),
            "revoked": (now, None), "expired": (None, now)}
    wanted = {"ok", "later", "revoked", "expired", "deleted"}
    assert stale_digests(rows, wanted, now) == {"revoked", "expired", "deleted"}


def test_the_client_address_honours_trusted_proxies_like_rest():
    environ = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "203.0.113.9, 198.51.100.1"}
    assert client_address(environ, 0) == "10.0.0.2"
    assert client_address(environ, 1) == "198.51.100.1"
    assert client_address(environ, 2) == "203.0.113.9"
    assert client_address({"REMOTE_ADDR": "10.0.0.2"}, 1) == "10.0.0.2"


def test_a_webhook_key_cannot_listen(session_factory, database_url, make_key):
    with serve(session_factory, database_url) as url:
        assert "'read' scope" in refusal(url, make_key("webhook", "alertmanager"))
