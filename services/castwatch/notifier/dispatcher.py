"""The dispatcher loop: plan, claim, send concurrently (rate-limited), record; wake on NOTIFY.

Thin I/O around :mod:`planner` and :mod:`store`. One asyncio loop per process; database work
runs in worker threads. It wakes when the bus announces an alert event or a new delivery and
otherwise polls every ``NOTIFY_POLL_INTERVAL_S`` (and exactly when the next grouped or retried
row falls due), so a lost notification costs at most one poll interval.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from castwatch.notifier.metrics import NotifyMetrics
from castwatch.notifier.planner import Planner
from castwatch.notifier.render import Renderer
from castwatch.notifier.settings import NotifySettings
from castwatch.notifier.store import Job, OutboxStore
from castwatch.notifier.transports.base import (
    SendResult,
    Transport,
    TransportError,
    TransportNotConfigured,
)

logger = logging.getLogger(__name__)


def worker_name() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Dispatcher:
    def __init__(self, factory: sessionmaker[Session], settings: NotifySettings,
                 transports: dict[str, Transport], metrics: NotifyMetrics,
                 renderer: Renderer | None = None, worker_id: str | None = None) -> None:
        self._settings = settings
        self.transports = transports
        self.metrics = metrics
        self.renderer = renderer or Renderer(settings.templates_dir)
        self.planner = Planner(factory, horizon_s=settings.plan_horizon_s,
                               update_coalesce_s=settings.incident_update_s)
        self.store = OutboxStore(factory, settings, worker_id or worker_name(), self.renderer)
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._in_flight_ids: dict[int, list[int]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    def wake(self, *_args: object) -> None:
        """Thread-safe: run a round now (called by the bus listener)."""
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        for name, transport in self.transports.items():
            try:
                await transport.start()
            except TransportError as exc:  # keep running: its rows retry and fail visibly
                logger.error("transport=%s failed to start: %s", name, exc)
        last_tick = last_beat = 0.0
        try:
            while not stop.is_set():
                timeout = self._settings.poll_interval_s
                try:
                    if time.monotonic() - last_tick >= self._settings.tick_interval_s:
                        await asyncio.to_thread(self.planner.tick)
                        self.metrics.queue_depth.set(await asyncio.to_thread(self.store.queue_depth))
                        last_tick = time.monotonic()
                    if time.monotonic() - last_beat >= self._settings.claim_timeout_s / 4:
                        # before claiming: after a stall, our claims are refreshed first
                        ids = [i for batch in list(self._in_flight_ids.values()) for i in batch]
                        await asyncio.to_thread(self.store.heartbeat, ids)
                        last_beat = time.monotonic()
                    self.metrics.planned.inc(await asyncio.to_thread(self.planner.plan_pending))
                    timeout = await self._claim_round(timeout)
                except SQLAlchemyError as exc:
                    logger.warning("database unavailable: %s", exc.__class__.__name__)
                    timeout = max(timeout, 1.0)
                except Exception:
                    logger.exception("dispatcher round failed")
                    timeout = max(timeout, 1.0)
                await self._sleep(stop, timeout)
        finally:
            await self._drain()

    async def _claim_round(self, timeout: float) -> float:
        capacity = self._settings.max_in_flight - len(self._in_flight)
        if capacity <= 0:
            return timeout
        limit = min(self._settings.batch_size, capacity)
        mine = [i for batch in list(self._in_flight_ids.values()) for i in batch]
        jobs, next_due = await asyncio.to_thread(self.store.claim, limit, mine)
        for job in jobs:
            task = asyncio.create_task(self._run_job(job))
            self._in_flight[job.ids[0]] = task
            self._in_flight_ids[job.ids[0]] = job.ids
            task.add_done_callback(self._forget)
        if len(jobs) >= limit:
            return 0.0
        return timeout if next_due is None else min(timeout, next_due + 0.01)

    def _forget(self, task: asyncio.Task[None]) -> None:
        full = len(self._in_flight) >= self._settings.max_in_flight
        for key, value in list(self._in_flight.items()):
            if value is task:
                self._in_flight.pop(key, None)
                self._in_flight_ids.pop(key, None)
        if full and self._wake is not None:  # room again: claim more now, not at the next poll
            self._wake.set()

    async def _sleep(self, stop: asyncio.Event, timeout: float) -> None:
        assert self._wake is not None
        if timeout > 0:
            waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
            _done, pending = await asyncio.wait(waiters, timeout=timeout,
                                                return_when=asyncio.FIRST_COMPLETED)
            for w in pending:
                w.cancel()
        self._wake.clear()

    async def _drain(self, grace_s: float = 5.0) -> None:
        if self._in_flight:
            await asyncio.wait(list(self._in_flight.values()), timeout=grace_s)
        for task in list(self._in_flight.values()):
            task.cancel()
        for transport in self.transports.values():
            await transport.close()

    async def _run_job(self, job: Job) -> None:
        try:
            if job.skip is not None:
                await asyncio.to_thread(self.store.record_skip, job)
                self.metrics.deliveries.labels(job.transport, "skipped").inc()
                return
            transport = self.transports.get(job.transport)
            if transport is None or job.message is None:
                await self._failed(job, TransportNotConfigured(job.transport))
                return
            started = time.perf_counter()
            try:
                result = await self._deliver(transport, job)
            except TransportError as exc:
                await self._failed(job, exc)
                return
            except Exception as exc:  # a transport bug must not lose the row: retry it later
                logger.exception("transport=%s crashed delivery=%s", job.transport, job.ids[0])
                await self._failed(job, TransportError(f"internal error: {exc!r}"))
                return
            finally:
                self.metrics.send_seconds.labels(job.transport).observe(time.perf_counter() - started)
            await self._record_sent(job, result)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("delivery=%s could not be recorded; it will be reclaimed", job.ids[0])

    @staticmethod
    async def _deliver(transport: Transport, job: Job) -> SendResult:
        """Send the message, or edit an earlier message in place (incident updates of a
        transport that :attr:`~Transport.edits_in_place`)."""
        assert job.message is not None
        if job.edit is None:
            return await transport.send(job.message)
        await transport.edit(job.edit, job.message)
        return SendResult(external_id=job.edit)

    async def _record_sent(self, job: Job, result: SendResult) -> None:
        for attempt in range(5):
            try:
                kept = await asyncio.to_thread(self.store.record_sent, job, result)
                self.metrics.deliveries.labels(job.transport, "sent").inc()
                if not kept:  # another replica reclaimed the row meanwhile (see record_sent)
                    self.metrics.claims_lost.labels(job.transport).inc()
                if job.kind == "catchup":
                    self.metrics.catchups.inc()
                logger.info("sent delivery=%s transport=%s recipient=%s kind=%s rows=%d",
                            job.ids[0], job.transport, job.recipient_id, job.kind, len(job.ids))
                return
            except SQLAlchemyError:
                await asyncio.sleep(0.5 * 2 ** attempt)
        raise RuntimeError("could not record a sent delivery")

    async def _failed(self, job: Job, exc: TransportError) -> None:
        status = await asyncio.to_thread(self.store.record_failure, job, exc)
        self.metrics.deliveries.labels(job.transport, status).inc()
        log = logger.warning if status == "retried" else logger.error
        log("delivery=%s transport=%s recipient=%s %s: %s", job.ids[0], job.transport,
            job.recipient_id, status, exc)
        self.wake()  # fallback or admin rows may have been planned
