"""Bounded downloads against a hostile origin on loopback, with both clients (aiohttp, requests)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import aiohttp
import pytest

from castwatch.common import download
from castwatch.common.download import (
    DeadlineExceeded,
    Download,
    TooLarge,
    TooManyRedirects,
    Unreachable,
)
from castwatch.common.egress import EgressDenied, EgressPolicy
from tests.support.hostile import SECRET, HostileOrigin

LOOPBACK = EgressPolicy.parse("127.0.0.1/32,::1/128")
CAP = 4 * 1024 * 1024


@pytest.fixture(scope="module")
def origin() -> Iterator[HostileOrigin]:
    with HostileOrigin() as o:
        yield o


def fetch_async(url: str, policy: EgressPolicy = LOOPBACK, **kw: Any) -> Download:
    async def go() -> Download:
        async with aiohttp.ClientSession(connector=download.connector(policy)) as session:
            return await download.fetch(session, url, policy=policy, **kw)
    return asyncio.run(go())


def fetch_sync(url: str, policy: EgressPolicy = LOOPBACK, **kw: Any) -> Download:
    return download.fetch_sync(url, policy=policy, **kw)


CLIENTS = pytest.mark.parametrize("get", [fetch_async, fetch_sync], ids=["aiohttp", "requests"])
Get = Callable[..., Download]


@CLIENTS
def test_an_endless_body_stops_at_the_cap(origin: HostileOrigin, get: Get) -> None:
    with pytest.raises(TooLarge, match=r"too large: more than 4194304 bytes.*HTTP 200, application/vnd"):
        get(f"{origin.url}/endless.m3u8", max_bytes=CAP, deadline_s=10)


@CLIENTS
def test_a_gzip_bomb_is_counted_after_decompression(origin: HostileOrigin, get: Get) -> None:
    start = time.monotonic()
    with pytest.raises(TooLarge, match="more than 4194304"):
        get(f"{origin.url}/bomb.m3u8", max_bytes=CAP, deadline_s=10)
    assert time.monotonic() - start < 5


@CLIENTS
def test_a_lying_content_length_is_refused_before_reading(origin: HostileOrigin, get: Get) -> None:
    with pytest.raises(TooLarge, match="announced 10000000000000 bytes"):
        get(f"{origin.url}/liar.m3u8", max_bytes=CAP, deadline_s=10)


@CLIENTS
def test_a_slowloris_is_cut_at_the_total_deadline(origin: HostileOrigin, get: Get) -> None:
    start = time.monotonic()
    with pytest.raises(DeadlineExceeded, match=r"within 2.5 s \(HTTP 200, [0-9] bytes received\)"):
        get(f"{origin.url}/slow.m3u8", max_bytes=CAP, deadline_s=2.5)
    assert time.monotonic() - start < 3.5


@CLIENTS
def test_redirects_are_followed_up_to_the_limit(origin: HostileOrigin, get: Get) -> None:
    ok = get(f"{origin.url}/redirect/3?to=/ok", max_bytes=CAP, deadline_s=5)
    assert (ok.status, ok.body, ok.url) == (200, b"ok", f"{origin.url}/ok")
    with pytest.raises(TooManyRedirects):
        get(f"{origin.url}/redirect/4?to=/ok", max_bytes=CAP, deadline_s=5)


@CLIENTS
@pytest.mark.parametrize("target", ["http://169.254.169.254/latest/meta-data/",
                                    "http://127.0.0.2:{port}/ok", "http://[::ffff:169.254.169.254]/"])
def test_a_redirect_to_a_refused_address_is_refused(origin: HostileOrigin, get: Get, target: str) -> None:
    to = target.format(port=origin.port)
    with pytest.raises(EgressDenied):
        get(f"{origin.url}/redirect/1?to={to}", max_bytes=CAP, deadline_s=5)


@CLIENTS
def test_loopback_is_refused_unless_allowed(origin: HostileOrigin, get: Get) -> None:
    with pytest.raises(EgressDenied, match="loopback"):
        get(f"{origin.url}/ok", EgressPolicy(), max_bytes=CAP, deadline_s=5)


@CLIENTS
def test_a_closed_port_and_a_non_http_listener_both_read_unreachable(get: Get) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    talker = socket.create_server(("127.0.0.1", 0))
    talker_port = talker.getsockname()[1]

    def banner() -> None:
        conn, _ = talker.accept()
        conn.sendall(b"SSH-2.0-OpenSSH_9.6 secret banner\r\n")
        conn.close()
    import threading
    threading.Thread(target=banner, daemon=True).start()
    try:
        messages = []
        for p in (port, talker_port):
            with pytest.raises(Unreachable) as info:
                get(f"http://127.0.0.1:{p}/", max_bytes=CAP, deadline_s=3)
            messages.append(str(info.value))
        assert messages == ["unreachable", "unreachable"]
    finally:
        talker.close()


@CLIENTS
def test_remote_bodies_never_reach_the_error_or_the_result_of_a_failure(origin: HostileOrigin,
                                                                        get: Get) -> None:
    failed = get(f"{origin.url}/secret.m3u8", max_bytes=CAP, deadline_s=5)
    assert failed.status == 500 and failed.body is None  # a non-2xx body is not even read
    with pytest.raises(TooLarge) as info:
        get(f"{origin.url}/secret", max_bytes=10, deadline_s=5)
    assert SECRET not in str(info.value) and "text/html" in str(info.value)


def test_safe_text_and_safe_word_keep_remote_text_short_and_printable() -> None:
    short = download.safe_text("bad\x1b[31m tag:\n\t'<script>'" + "x" * 500, 40)
    assert short.startswith("bad [31m tag: '<script>'xxx") and short.endswith("x…") and len(short) == 40
    assert download.safe_word("Streaming") == "Streaming"
    assert download.safe_word(" on air <b>now</b> ") == "on_air_bnowb"
    assert download.safe_word("\u202e\x00") is None
    assert len(download.safe_word("a" * 100) or "") == 32


def test_unquoted_drops_what_a_peer_said_and_keeps_our_words() -> None:
    assert download.unquoted("unexpected line 'SECRET stuff'") == "unexpected line ..."
    assert download.unquoted("GetStatus reply without a stream status: b'<xml>pw=1</xml>'") == (
        "GetStatus reply without a stream status: ...")
    assert download.unquoted('malformed frame "half') == "malformed frame ..."
    assert download.unquoted("HTTP 500: text/html") == "HTTP 500: text/html"
