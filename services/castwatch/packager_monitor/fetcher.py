"""HTTP GETs for the poll loop: per-host concurrency, timeouts, conditional requests.

``Fetcher.get`` never raises for network trouble: it returns a :class:`FetchResult` whose
``error`` says what went wrong (``timeout``, ``connection refused``…), so the rules decide.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
from prometheus_client import Histogram

from castwatch.packager_monitor.metrics import ProbeMetrics

#: Bodies announced larger than this are refused (a 4K 10 s segment is ~25 MB).
MAX_BODY = 128 * 1024 * 1024


@dataclass(slots=True)
class FetchResult:
    status: int | None
    body: bytes | None
    error: str | None
    elapsed: float
    etag: str | None = None
    last_modified: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status in (200, 304)


class Fetcher:
    def __init__(self, session: aiohttp.ClientSession, metrics: ProbeMetrics, *,
                 max_per_host: int = 32, timeout_s: float = 5.0) -> None:
        self.session = session
        self.metrics = metrics
        self.max_per_host = max_per_host
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
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
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        elif last_modified:
            headers["If-Modified-Since"] = last_modified
        hist: Histogram = self._hist.get(kind, self.metrics.fetch_playlist)
        async with self._semaphore(url):
            start = time.perf_counter()
            try:
                async with self.session.get(url, headers=headers, timeout=self.timeout,
                                            allow_redirects=True) as resp:
                    if (resp.content_length or 0) > MAX_BODY:
                        raise ValueError(f"response of {resp.content_length} bytes is too large")
                    body = await resp.read() if resp.status == 200 else None
                    result = FetchResult(resp.status, body, None, time.perf_counter() - start,
                                         resp.headers.get("ETag"), resp.headers.get("Last-Modified"))
            except TimeoutError:
                result = FetchResult(None, None, "timeout", time.perf_counter() - start)
            except aiohttp.ClientError as exc:
                result = FetchResult(None, None, _describe(exc), time.perf_counter() - start)
            except (OSError, ValueError) as exc:  # bad URLs, DNS and socket trouble
                result = FetchResult(None, None, f"{type(exc).__name__}: {exc}"[:200],
                                     time.perf_counter() - start)
        hist.observe(result.elapsed)
        return result


def _describe(exc: aiohttp.ClientError) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"connection failed: {exc.os_error.strerror or exc}"[:200]
    return f"{type(exc).__name__}: {exc}"[:200]


def error_kind(result: FetchResult) -> str:
    """Bounded label for ``castwatch_probe_errors_total{type}``."""
    if result.error == "timeout":
        return "timeout"
    if result.error is not None:
        return "connect"
    if result.status is not None and result.status >= 500:
        return "http_5xx"
    return "http_4xx"
