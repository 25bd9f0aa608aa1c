"""The probe process: one event loop carrying every channel worker of this replica.

:class:`ProbeService` asks a :class:`ChannelSource` which channels it should watch (the
lease-based :class:`LeaseSource` in production, :class:`StaticSource` in benchmarks and some
tests), starts/stops/restarts channel workers to match, and writes channel status on change
or every ``status_interval_s``. Database work runs in threads (``asyncio.to_thread`` for the
lease cycle, the :class:`~castwatch.packager_monitor.store.DbWriter` for alerts), so the poll
loop never waits for PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import aiohttp
from prometheus_client import CollectorRegistry
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from castwatch import __version__
from castwatch.common import alerts, download
from castwatch.common.db import transaction
from castwatch.packager_monitor import leases
from castwatch.packager_monitor.alerting import SOURCE
from castwatch.packager_monitor.certs import tls_context
from castwatch.packager_monitor.content.pool import ContentMetrics, ContentPool
from castwatch.packager_monitor.context import ChannelConfig, NullSink, PointSink, ProbeContext
from castwatch.packager_monitor.dash_worker import DashChannelWorker
from castwatch.packager_monitor.fetcher import Fetcher
from castwatch.packager_monitor.hls_worker import HlsChannelWorker
from castwatch.packager_monitor.metrics import ProbeMetrics
from castwatch.packager_monitor.own_cert import watch_own_certificate
from castwatch.packager_monitor.settings import ProbeSettings
from castwatch.packager_monitor.store import ChannelUpdate, load_channels
from castwatch.packager_monitor.worker import ChannelWorker

logger = logging.getLogger(__name__)

Configs = dict[Any, tuple[ChannelConfig, str]]


class ChannelSource(Protocol):
    refresh_interval_s: float

    async def refresh(self, stats: dict[str, Any]) -> Configs: ...

    async def close(self) -> None: ...


class StaticSource:
    """A fixed list of channels (benchmarks, tests without a database)."""

    refresh_interval_s = 3600.0

    def __init__(self, channels: list[ChannelConfig]) -> None:
        self.configs: Configs = {c.code: (c, "static") for c in channels}

    async def refresh(self, stats: dict[str, Any]) -> Configs:
        return self.configs

    async def close(self) -> None:
        pass


class LeaseSource:
    """Channels leased by this replica in PostgreSQL; heartbeats on every refresh."""

    def __init__(self, factory: sessionmaker[Session], settings: ProbeSettings) -> None:
        self.factory, self.settings = factory, settings
        self.refresh_interval_s = settings.lease_ttl_s / 3
        self.hostname = socket.gethostname()

    async def refresh(self, stats: dict[str, Any]) -> Configs:
        return await asyncio.to_thread(self._refresh, stats)

    def _refresh(self, stats: dict[str, Any]) -> Configs:
        name = self.settings.name
        with transaction(self.factory) as s:
            leases.heartbeat(s, name, hostname=self.hostname, version=__version__, stats=stats)
            self._resolve_disabled(s)
            ids = leases.cycle(s, name, self.settings.lease_ttl_s)
        with self.factory() as s:
            return load_channels(s, ids)

    def _resolve_disabled(self, s: Session) -> None:
        """Open probe alerts of channels we hold that were disabled: nobody watches them now."""
        subjects = s.execute(text("""
            SELECT a.subject, a.alert_type FROM alerts a JOIN channels c ON c.id = a.channel_id
            JOIN leases l ON l.resource = 'channel:' || c.id AND l.holder = :h
            WHERE a.source = :src AND a.state <> 'resolved' AND NOT c.enabled
        """), {"h": self.settings.name, "src": SOURCE}).all()
        for subject, alert_type in subjects:
            alerts.clear(s, alerts.AlertKey(SOURCE, subject, alert_type),
                         actor=f"probe:{self.settings.name}", note="channel disabled")

    async def close(self) -> None:
        def stop() -> None:
            with transaction(self.factory) as s:
                leases.mark_stopped(s, self.settings.name)
        try:
            await asyncio.to_thread(stop)
        except Exception:  # shutting down: the leases will expire anyway
            logger.exception("could not release leases at shutdown")


WORKERS: dict[str, type[ChannelWorker]] = {"HLS": HlsChannelWorker, "DASH": DashChannelWorker}


def tune_gc() -> None:
    """Process-wide: make the cyclic garbage collector rare.

    A probe holds many long-lived objects (the parsed windows of thousands of renditions), and
    with the default thresholds full collections come often and walk all of them, stalling
    the event loop: in benchmarks/probe.py (6,000 renditions) schedule-lag p99 fell from
    0.8 s to 0.1 s with these thresholds. The probe makes few reference cycles; reference
    counting frees nearly everything.
    """
    gc.set_threshold(100_000, 50, 1000)


class ProbeService:
    def __init__(self, settings: ProbeSettings, registry: CollectorRegistry, source: ChannelSource,
                 emit: Callable[[list[Any]], None], points: PointSink | None = None,
                 lag_samples: list[float] | None = None) -> None:
        self.settings, self.source, self.emit = settings, source, emit
        self.metrics = ProbeMetrics(registry)
        self.content_metrics = ContentMetrics(registry)
        #: runs in each content worker process at start (benchmarks pin it to a CPU)
        self.content_initializer: Callable[[], object] | None = None
        self.points = points or NullSink()
        self.lag_samples = lag_samples
        self.workers: dict[Any, tuple[ChannelWorker, asyncio.Task[None], str]] = {}
        self._written: dict[int, tuple[str, float, Any]] = {}
        self.ctx: ProbeContext | None = None
        self.ready = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        s = self.settings
        connector = download.connector(s.egress, limit=0, limit_per_host=0, ttl_dns_cache=300,
                                       ssl=tls_context(s.ca_file))
        async with aiohttp.ClientSession(connector=connector) as session:
            fetcher = Fetcher(session, self.metrics, policy=s.egress, max_per_host=s.max_per_host,
                              timeout_s=s.timeout_s,
                              max_bytes={"playlist": s.max_playlist_bytes, "mpd": s.max_playlist_bytes,
                                         "segment": s.max_segment_bytes})
            pool = (ContentPool(self.settings.content_workers, self.settings.content_queue,
                                self.content_metrics, initializer=self.content_initializer)
                    if self.settings.content_workers > 0 else None)
            if pool is not None:
                pool.warm()
            self.ctx = ProbeContext(self.settings, fetcher, self.metrics, self.emit, self.points,
                                    lag_samples=self.lag_samples, content=pool)
            own = (asyncio.ensure_future(watch_own_certificate(self.ctx, s.own_cert_url))
                   if s.own_cert_url else None)
            try:
                await self._loop(stop)
            finally:
                if own is not None:
                    own.cancel()
                    await asyncio.gather(own, return_exceptions=True)
                if pool is not None:
                    pool.close()
                for worker, task, _ in self.workers.values():
                    task.cancel()
                    worker.stop()
                await asyncio.gather(*(t for _, t, _ in self.workers.values()), return_exceptions=True)
                self.workers.clear()
                await self.source.close()

    async def _loop(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        next_refresh = 0.0
        while not stop.is_set():
            if loop.time() >= next_refresh:
                next_refresh = loop.time() + self.source.refresh_interval_s
                try:
                    self._reconcile(await self.source.refresh(self.stats()))
                except Exception:  # the database may be down: keep watching what we have
                    logger.exception("channel refresh failed; keeping %d channels", len(self.workers))
                self.ready.set()
            self._write_status()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=min(1.0, max(0.05, next_refresh - loop.time())))

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "channels": len(self.workers),
            "open_alerts": sum(len(w.book.active) for w, _, _ in self.workers.values())}
        if self.ctx is not None and self.ctx.content is not None:
            out["content"] = self.ctx.content.stats()
        return out

    def _reconcile(self, configs: Configs) -> None:
        assert self.ctx is not None
        carried: dict[Any, dict[tuple[str | None, str], str]] = {}
        for key in [k for k in self.workers if k not in configs or configs[k][1] != self.workers[k][2]]:
            worker, task, _ = self.workers.pop(key)
            task.cancel()
            worker.stop()
            carried[key] = dict(worker.book.active)  # a changed channel keeps its open alerts
            logger.info("channel=%s released or changed; worker stopped", worker.cfg.code)
        now = self.ctx.clock()
        for key, (cfg, version) in configs.items():
            if key in self.workers:
                continue
            worker_cls = WORKERS.get(cfg.protocol.upper(), HlsChannelWorker)
            worker = worker_cls(self.ctx, cfg)
            for (rendition, alert_type), severity in carried.get(key, {}).items():
                worker.book.adopt(rendition, alert_type, severity, now)
            task = asyncio.ensure_future(self._guard(worker))
            self.workers[key] = (worker, task, version)
            logger.info("channel=%s protocol=%s watching %s", cfg.code, cfg.protocol, cfg.url)
        self.metrics.channels.set(len(self.workers))

    async def _guard(self, worker: ChannelWorker) -> None:
        """Run a worker; a bug in one channel must not stop the others (restart after 5 s)."""
        while True:
            try:
                await worker.run()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("channel=%s worker crashed; restarting in 5 s", worker.cfg.code)
                worker.stop()
                await asyncio.sleep(5)

    def _write_status(self) -> None:
        now = asyncio.get_running_loop().time()
        updates: list[Any] = []
        open_count = 0
        for worker, _, _ in self.workers.values():
            open_count += len(worker.book.active)
            cid = worker.cfg.id
            if cid is None or not (worker.facts or worker.book.active):
                continue  # not checked yet: leave the row as it is
            status = worker.book.status()
            b = worker.badges
            badges = (b.is_4k, b.is_hdr, b.is_atmos) if b is not None else None
            last = self._written.get(cid)
            fresh = last is not None and now - last[1] < self.settings.status_interval_s
            if fresh and last is not None and (last[0], last[2]) == (status, badges):
                continue
            self._written[cid] = (status, now, badges)
            updates.append(ChannelUpdate(cid, status, datetime.now(UTC), worker.summary(), badges))
        self.metrics.open_alerts.set(open_count)
        if updates:
            self.emit(updates)
