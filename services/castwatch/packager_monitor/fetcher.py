"""HTTP GETs for the poll loop: per-host concurrency, the egress policy, bounded bodies.

``Fetcher.get`` never raises for network trouble: it returns a :class:`FetchResult` whose
``error`` says, in a few safe words, what went wrong (``unreachable``, ``timeout: …``,
``refused by egress policy (…)``), so the rules decide. Every download goes through
:func:`castwatch.common.download.fetch`: the connector refuses addresses the egress policy does
not allow (after DNS and on every redirect), the body is read in chunks and its decoded bytes
are capped per kind (``PROBE_MAX_PLAYLIST_BYTES`` for playlists and MPDs,
``PROBE_MAX_SEGMENT_BYTES`` for segments) and the whole exchange has one deadline
(``PROBE_TIMEOUT_S``). A body over the cap is not an unreachable origin: the result is a 200
with ``too_large`` set, which the workers report as PLAYLIST_INVALID / MPD_INVALID /
SEGMENT_INVALID ("too large …"). Segments are asked with ``Accept-Encoding: identity``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
from prometheus_client import Histogram

from castwatch.common import download
from castwatch.common.download import DownloadError, TooLarge
from castwatch.common.egress import EgressDenied, EgressPolicy
from castwatch.packager_monitor.metrics import ProbeMetrics

#: Default decoded-byte caps per kind (the settings override them).
DEFAULT_MAX_BYTES = {"playlist": 4 * 1024 * 1024, "mpd": 4 * 1024 * 1024, "segment": 64 * 1024 * 1024}


@dataclass(slots=True)
class FetchResult:
    status: int | None
    body: bytes | None
    error: str | None
    elapsed: float
    etag: str | None = None
    last_modified: str | None = None
    #: Set (a short safe message) when the answer was a 200 whose body passed the cap.
    too_large: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status in (200, 304)


class Fetcher:
    def __init__(self, session: aiohttp.ClientSession, metrics: ProbeMetrics, *,
                 policy: EgressPolicy, max_per_host: int = 32, timeout_s: float = 5.0,
                 max_bytes: Mapping[str, int] | None = None) -> None:
        """``session`` must use :func:`castwatch.common.download.connector` with ``policy``."""
        self.session = session
        self.metrics = metrics
        self.policy = policy
        self.max_per_host = max_per_host
        self.timeout_s = timeout_s
        self.max_bytes = {**DEFAULT_MAX_BYTES, **(max_bytes or {})}
        self._sems: dict[str, asyncio.Semaphore] = {}
        self._hosts: dict[str, str] = {}
        self._hist = {"playlist": metrics.fetch_playlist, "segment": metrics.fetch_segment,
                      "mpd": metrics.fetch_mpd}

    def _semaphore(self, url: str) -> asyncio.Semaphore:
        # the host is everything up to the third slash; cached per URL prefix
        cut = url.find("/", 8)
        prefix = url[:cut] if cut > 0 else url
        sem = self._sems.get(prefix)
        if sem is None:
            host = urlsplit(url).netloc
            sem = self._sems.get(host)
            if sem is None:
                sem = self._sems[host] = asyncio.Semaphore(self.max_per_host)
            self._sems[prefix] = sem
        return sem

    async def get(self, url: str, kind: str, *, etag: str | None = None,
                  last_modified: str | None = None) -> FetchResult:
        headers = dict(download.IDENTITY) if kind == "segment" else {}
        if etag:
            headers["If-None-Match"] = etag
        elif last_modified:
            headers["If-Modified-Since"] = last_modified
        hist: Histogram = self._hist.get(kind, self.metrics.fetch_playlist)
        cap = self.max_bytes.get(kind, self.max_bytes["playlist"])
        async with self._semaphore(url):
            start = time.perf_counter()
            try:
                got = await download.fetch(self.session, url, policy=self.policy, max_bytes=cap,
                                           deadline_s=self.timeout_s, headers=headers)
                result = FetchResult(got.status, got.body if got.status == 200 else None, None,
                                     time.perf_counter() - start, got.headers.get("ETag"),
                                     got.headers.get("Last-Modified"))
            except TooLarge as exc:
                result = FetchResult(exc.status, None, None, time.perf_counter() - start,
                                     too_large=str(exc))
            except (DownloadError, EgressDenied) as exc:
                result = FetchResult(None, None, str(exc), time.perf_counter() - start)
            except TimeoutError:  # a session-level timeout (the probe sets none): no answer
                result = FetchResult(None, None, "unreachable", time.perf_counter() - start)
        hist.observe(result.elapsed)
        return result


def error_kind(result: FetchResult) -> str:
    """Bounded label for ``castwatch_probe_errors_total{type}``."""
    if result.error is not None and result.error.startswith("timeout"):
        return "timeout"
    if result.error is not None:
        return "connect"
    if result.status is not None and result.status >= 500:
        return "http_5xx"
    return "http_4xx"
