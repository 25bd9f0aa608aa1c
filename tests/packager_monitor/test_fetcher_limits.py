"""The probe's Fetcher: caps per kind, identity-encoded segments, short safe error words."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import aiohttp
import pytest
from prometheus_client import CollectorRegistry

from castwatch.common import download
from castwatch.common.egress import EgressPolicy
from castwatch.packager_monitor.context import ChannelConfig
from castwatch.packager_monitor.fetcher import Fetcher, FetchResult, error_kind
from castwatch.packager_monitor.metrics import ProbeMetrics
from castwatch.packager_monitor.service import StaticSource
from castwatch.packager_monitor.settings import ProbeSettings
from tests.support.egress import LOOPBACK
from tests.support.hostile import HostileOrigin

from .conftest import ProbeThread, wait_for


class _Echo(BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.seen.append(self.headers.get("Accept-Encoding", ""))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def origin() -> Iterator[HostileOrigin]:
    with HostileOrigin() as o:
        yield o


def get_all(requests: list[tuple[str, str]], policy: EgressPolicy = LOOPBACK) -> list[FetchResult]:
    async def go() -> list[FetchResult]:
        async with aiohttp.ClientSession(connector=download.connector(policy)) as session:
            fetcher = Fetcher(session, ProbeMetrics(CollectorRegistry()), policy=policy, timeout_s=2.0,
                              max_bytes={"playlist": 64 * 1024, "segment": 1024 * 1024})
            return list(await asyncio.gather(*(fetcher.get(u, k) for u, k in requests)))
    return asyncio.run(go())


def test_segments_are_asked_without_compression_and_playlists_may_be_compressed() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/x"
        _Echo.seen = []
        get_all([(url, "segment")])
        get_all([(url, "playlist")])
        assert _Echo.seen[0] == "identity" and "gzip" in _Echo.seen[1]
    finally:
        server.shutdown()
        server.server_close()


def test_over_cap_bodies_are_too_large_answers_not_unreachable_origins(origin: HostileOrigin) -> None:
    endless, bomb, ok = get_all([(f"{origin.url}/endless.m3u8", "playlist"),
                                 (f"{origin.url}/bomb.m3u8", "segment"), (f"{origin.url}/ok", "playlist")])
    assert endless.status == 200 and endless.error is None and endless.body is None
    assert endless.too_large and endless.too_large.startswith("too large: more than 65536 bytes")
    assert bomb.too_large and "more than 1048576" in bomb.too_large
    assert ok.ok and ok.body == b"ok" and ok.too_large is None


def test_failures_are_a_few_safe_words(origin: HostileOrigin) -> None:
    slow, refused, metadata = get_all([(f"{origin.url}/slow.m3u8", "playlist"),
                                       (f"{origin.url}/ok", "playlist"),
                                       ("http://169.254.169.254/latest/", "playlist")],
                                      policy=EgressPolicy())
    assert refused.error == "refused by egress policy (loopback)"
    assert slow.error == "refused by egress policy (loopback)"
    assert metadata.error == "refused by egress policy (link-local)"
    (slow,) = get_all([(f"{origin.url}/slow.m3u8", "playlist")])
    assert slow.error is not None and slow.error.startswith("timeout: answer not complete within 2 s")
    assert error_kind(slow) == "timeout" and error_kind(refused) == "connect"


def test_over_cap_mpds_and_segments_raise_their_own_invalid_alerts(origin: HostileOrigin) -> None:
    """The in-process probe loop: a DASH MPD over the cap is MPD_INVALID "too large", a segment
    over the cap is SEGMENT_INVALID "too large" (the playlist itself stays valid)."""
    channels = [ChannelConfig(None, "CH_MPD", f"{origin.url}/endless.m3u8", "DASH"),
                ChannelConfig(None, "CH_SEG", f"{origin.url}/bigseg.m3u8", "HLS")]
    settings = ProbeSettings(name="probe-caps", egress=LOOPBACK, timeout_s=3,
                             max_playlist_bytes=64 * 1024, max_segment_bytes=1024 * 1024)
    with ProbeThread(settings, source=StaticSource(channels)) as probe:
        def raised() -> dict[str, str] | None:
            fired = {f"{op.subject} {op.alert_type}": op.summary for op in probe.alert_ops()
                     if op.kind == "fire"}
            wanted = ("CH_MPD MPD_INVALID", "CH_SEG/main SEGMENT_INVALID")
            return fired if all(w in fired for w in wanted) else None
        fired = wait_for(raised, 20, "MPD_INVALID and SEGMENT_INVALID")
    assert "too large: more than 65536 bytes" in fired["CH_MPD MPD_INVALID"]
    assert "too large: more than 1048576 bytes" in fired["CH_SEG/main SEGMENT_INVALID"]
    assert not any(k.startswith("CH_SEG") and k.endswith(("PLAYLIST_INVALID", "PLAYLIST_UNREACHABLE"))
                   for k in fired)
