"""Drivers reach only what the egress policy allows, and nothing a device says is echoed.

A listener on loopback stands in for an internal service an attacker would like castwatch to
talk to; the hostile origin stands in for a device that answers with secrets or for ever.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from castwatch.common.egress import EgressPolicy
from castwatch.encoder_manager.drivers import (
    DriverConfig,
    DriverConnectionError,
    DriverHTTPError,
    DriverProtocolError,
    create_driver,
)
from castwatch.encoder_manager.sample import HealthSample
from tests.encoder_manager.conftest import KINDS
from tests.support.egress import LOOPBACK
from tests.support.hostile import SECRET, HostileOrigin


class Listener:
    """A TCP listener that counts the connections it receives (and answers nothing)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@pytest.fixture()
def listener() -> Iterator[Listener]:
    lst = Listener()
    yield lst
    lst.close()


@pytest.fixture(scope="module")
def origin() -> Iterator[HostileOrigin]:
    with HostileOrigin() as o:
        yield o


def poll(kind: str, address: str, policy: EgressPolicy, **options: Any) -> HealthSample:
    driver = create_driver(kind, DriverConfig(address=address, password="pw", options=options,
                                              timeout_s=2.0, retries=0, egress=policy))

    async def go() -> HealthSample:
        try:
            return await driver.poll()
        finally:
            await driver.close()
    return asyncio.run(go())


@pytest.mark.parametrize("kind", KINDS)
def test_every_driver_refuses_a_loopback_address_that_is_not_allowed(kind: str, listener: Listener) -> None:
    with pytest.raises(DriverConnectionError, match=r"refused by egress policy \(loopback\)"):
        poll(kind, f"127.0.0.1:{listener.port}", EgressPolicy())
    with pytest.raises(DriverConnectionError, match="link-local"):
        poll(kind, "169.254.169.254:80", EgressPolicy.parse("0.0.0.0/0"))
    assert listener.accepted == 0, "a refused driver still connected"


def test_a_status_path_redirected_to_the_metadata_service_is_refused(origin: HostileOrigin) -> None:
    with pytest.raises(DriverConnectionError, match="link-local"):
        poll("generic_http", f"127.0.0.1:{origin.port}", LOOPBACK,
             status_path="/redirect/1?to=http://169.254.169.254/latest/meta-data/")


def test_an_error_reply_is_reported_by_status_and_type_never_by_its_body(origin: HostileOrigin) -> None:
    with pytest.raises(DriverHTTPError) as info:
        poll("generic_http", f"127.0.0.1:{origin.port}", LOOPBACK, status_path="/secret.m3u8")
    assert str(info.value) == "HTTP 500: text/html"


def test_an_endless_reply_stops_at_the_cap(origin: HostileOrigin) -> None:
    with pytest.raises(DriverProtocolError, match="too large"):
        poll("generic_http", f"127.0.0.1:{origin.port}", LOOPBACK, status_path="/endless.m3u8")


def test_an_unreachable_device_says_only_unreachable(listener: Listener) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with pytest.raises(DriverConnectionError) as info:
        poll("generic_http", f"127.0.0.1:{port}", LOOPBACK)
    assert str(info.value) == "unreachable"


class _JsonStatus(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        pass


def test_vendor_state_is_a_short_word_whatever_the_device_says() -> None:
    """generic_http's ``fields`` can point ``state`` at any value of any URL the device serves:
    what reaches the sample (and the API, and alert summaries) is a short sanitised word."""
    _JsonStatus.body = json.dumps({"stream": {"state": f"<b>{SECRET}</b> " * 50},
                                   "config": {"password": "hunter2 and more"}}).encode()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _JsonStatus)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        address = f"127.0.0.1:{server.server_address[1]}"
        sample = poll("generic_http", address, LOOPBACK)
        assert sample.vendor_state is not None and len(sample.vendor_state) <= 32
        assert all(c.isalnum() or c in "_-." for c in sample.vendor_state)
        leaked = poll("generic_http", address, LOOPBACK, fields={"state": "config.password"})
        assert leaked.vendor_state == "hunter2_and_more"  # a word, at most 32 characters
    finally:
        server.shutdown()
        server.server_close()
