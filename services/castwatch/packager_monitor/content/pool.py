"""Content analysis off the poll loop: worker processes behind a bounded queue.

The event loop calls :meth:`ContentPool.submit` (never blocks). At most ``workers`` jobs are
in the processes at a time; the rest wait in a queue of ``max_queue``. When the queue is full
the *oldest* waiting job is dropped and counted (``castwatch_probe_content_dropped_total``):
newer segments say more about the picture now, and the playlist polls and their alerts never
wait for decoding. A crashed worker process is replaced; its job is counted as failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import partial
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge

from castwatch.packager_monitor.content.analyze import SegmentAnalysis, analyze_segment

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ContentJob:
    channel: str
    rendition: str
    data: bytes
    duration_s: float
    thumbnail: bool = False


Callback = Callable[[SegmentAnalysis], None]


class ContentMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.dropped = Counter("castwatch_probe_content_dropped_total",
                               "Content analysis jobs dropped because analysis fell behind",
                               registry=registry)
        self.analysed = Counter("castwatch_probe_content_analysed_total",
                                "Segments decoded and measured, by result", ["result"],
                                registry=registry)
        self.cpu = Counter("castwatch_probe_content_cpu_seconds_total",
                           "CPU seconds the worker processes spent measuring segments",
                           registry=registry)
        self.queue = Gauge("castwatch_probe_content_queue_depth",
                           "Content analysis jobs waiting for a worker process", registry=registry)


class ContentPool:
    def __init__(self, workers: int, max_queue: int, metrics: ContentMetrics,
                 *, start_method: str = "spawn", analyse: Callable[..., SegmentAnalysis] = analyze_segment,
                 initializer: Callable[[], object] | None = None) -> None:
        self.workers, self.max_queue, self.metrics = max(1, workers), max(1, max_queue), metrics
        self.start_method = start_method
        self.analyse = analyse
        #: runs once in each worker process (e.g. to pin it to CPUs of its own)
        self.initializer = initializer
        self.pending: deque[tuple[ContentJob, Callback]] = deque()
        self.in_flight = 0
        self.dropped = 0
        self._executor: ProcessPoolExecutor | None = None

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            ctx = multiprocessing.get_context(self.start_method)
            self._executor = ProcessPoolExecutor(self.workers, mp_context=ctx,
                                                 initializer=self.initializer)
        return self._executor

    def warm(self) -> None:
        """Start the worker processes now (each imports the decoder once), not at the first
        segment: a spawned worker takes seconds to start on a busy machine."""
        pool = self._pool()
        for _ in range(self.workers):
            pool.submit(self.analyse, b"", 0.0)

    def submit(self, job: ContentJob, callback: Callback) -> None:
        """Queue a job (on the event loop); drops the oldest waiting job when full."""
        if len(self.pending) >= self.max_queue:
            old, _ = self.pending.popleft()
            self.dropped += 1
            self.metrics.dropped.inc()
            logger.debug("channel=%s rendition=%s content job dropped: analysis behind",
                         old.channel, old.rendition)
        self.pending.append((job, callback))
        self._pump()

    def _pump(self) -> None:
        loop = asyncio.get_running_loop()
        while self.in_flight < self.workers and self.pending:
            job, callback = self.pending.popleft()
            self.in_flight += 1
            call = partial(self.analyse, job.data, job.duration_s, thumbnail=job.thumbnail)
            try:
                fut = loop.run_in_executor(self._pool(), call)
            except (BrokenProcessPool, RuntimeError):
                self._reset()
                fut = loop.run_in_executor(self._pool(), call)
            fut.add_done_callback(partial(self._done, job, callback))
        self.metrics.queue.set(len(self.pending))

    def _done(self, job: ContentJob, callback: Callback, fut: Future[SegmentAnalysis]) -> None:
        self.in_flight -= 1
        if not fut.cancelled():
            exc = fut.exception()
            if exc is not None:
                self.metrics.analysed.labels("failed").inc()
                logger.error("channel=%s rendition=%s content analysis failed: %s",
                             job.channel, job.rendition, type(exc).__name__)
                if isinstance(exc, BrokenProcessPool):
                    self._reset()
            else:
                res = fut.result()
                self.metrics.analysed.labels("error" if res.error else "ok").inc()
                self.metrics.cpu.inc(res.cpu_s)
                try:
                    callback(res)
                except Exception:  # a bug in one channel's handling must not stop the pool
                    logger.exception("channel=%s content result handling failed", job.channel)
        with contextlib.suppress(RuntimeError):  # the loop is closing
            self._pump()

    def _reset(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        self._executor = None

    def stats(self) -> dict[str, Any]:
        return {"queued": len(self.pending), "in_flight": self.in_flight, "dropped": self.dropped}

    def close(self) -> None:
        self.pending.clear()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
