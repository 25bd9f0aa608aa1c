"""The encoder manager's poll path: one task per encoder polls on its schedule, and one writer
flushes what the polls produced.

:class:`FleetPolling` is the base of :class:`~castwatch.encoder_manager.manager.EncoderManager`
(which creates and retires the poll tasks on a fleet reload and runs the writer). Contract:

- Each encoder's poll loop spreads its first poll over the interval (a fleet does not poll in
  lockstep), polls at most ``max_concurrent_polls`` encoders at once, and polls sooner
  (``confirm_poll_factor``) while an on-air encoder is failing. A worker's ``wake`` polls at once,
  off schedule. The loop catches everything but cancellation, logs it and carries on.
- Every sample goes through the worker (pure health + hysteresis). Only the replica that controls
  the encoder's group (:meth:`FleetPolling.owns`) queues its status and alerts, writes its Influx
  point and ticks the group's controller (or pool).
- The writer (:meth:`FleetPolling._flush_once`, every ``FLUSH_S``) writes the queued statuses and
  alerts in one transaction, so slow database I/O never delays a poll; alerts of a failed flush
  are kept for the next one (at most ``MAX_PENDING_ALERTS``).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from castwatch.common.db import transaction
from castwatch.common.influx import InfluxSink
from castwatch.common.models import utcnow
from castwatch.encoder_manager import pool, store
from castwatch.encoder_manager.controller import GroupController
from castwatch.encoder_manager.leadership import UNGROUPED
from castwatch.encoder_manager.metrics import EncoderMetrics
from castwatch.encoder_manager.sample import HealthSample
from castwatch.encoder_manager.settings import EncoderSettings
from castwatch.encoder_manager.worker import EncoderWorker

# the manager's log channel: these lines were always the manager's
logger = logging.getLogger("castwatch.encoder_manager.manager")
T = TypeVar("T")
FLUSH_S = 0.2
MAX_PENDING_ALERTS = 10_000


class FleetPolling:
    """Polling of every encoder and the writer of what polls produce (see the module's contract)."""

    # kept by the manager (fleet reload, leadership)
    controllers: dict[int, GroupController]
    pools: dict[int, pool.PoolController]
    held: set[int]

    def __init__(self, cfg: EncoderSettings, session_factory: sessionmaker[Session],
                 metrics: EncoderMetrics, influx: InfluxSink | None, clock: Callable[[], float]) -> None:
        self.cfg = cfg
        self.metrics = metrics
        self._factory = session_factory
        self._influx = influx
        self.clock = clock
        self.workers: dict[int, EncoderWorker] = {}
        self._poll_tasks: dict[int, asyncio.Task[None]] = {}
        self.lags: deque[float] = deque(maxlen=200_000)
        self._pending_status: dict[int, dict[str, Any]] = {}
        self._pending_alerts: list[store.AlertOp] = []
        self._db_pool = ThreadPoolExecutor(4, thread_name_prefix="encoders-db")
        self._sem = asyncio.Semaphore(cfg.max_concurrent_polls)

    async def db(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(session, *args)`` in one transaction on a database thread."""
        def call() -> T:
            with transaction(self._factory) as session:
                return fn(session, *args)
        return await asyncio.get_running_loop().run_in_executor(self._db_pool, call)

    def owns(self, group_id: int | None) -> bool:
        return (group_id if group_id is not None else UNGROUPED) in self.held

    # -- polling ---------------------------------------------------------------------------

    async def _poll_loop(self, worker: EncoderWorker) -> None:
        # spread first polls over the interval so a fleet does not poll in lockstep
        next_at = self.clock() + (worker.row.id * 0.6180339887 % 1.0) * worker.interval_s
        while True:
            raise_if_cancelling()
            try:
                woke = await worker.sleep_until(next_at, self.clock)
                if not woke:
                    lag = max(0.0, self.clock() - next_at)
                    self.metrics.poll_lag.observe(lag)
                    self.lags.append(lag)
                async with self._sem:
                    sample = await worker.poll()
                self._after_poll(worker, sample)
                if not woke:
                    next_at = max(next_at + self._step(worker), self.clock())
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("encoder=%s poll loop failed; carrying on", worker.row.name)
                self.metrics.loop_errors.labels("poll").inc()
                await asyncio.sleep(worker.interval_s)
                next_at = self.clock()

    def _step(self, worker: EncoderWorker) -> float:
        """Time to the next poll: shorter while an on-air encoder is failing (confirmation)."""
        if worker.expect_live and worker.health.consecutive_failures > 0:
            return worker.interval_s * self.cfg.confirm_poll_factor
        return worker.interval_s

    def _after_poll(self, worker: EncoderWorker, sample: HealthSample) -> None:
        row = worker.row
        th = worker.thresholds
        now, wall = self.clock(), utcnow()
        result = worker.process(sample, now, wall, th, refresh_s=self.cfg.alert_refresh_s,
                                write_every_s=self.cfg.sample_write_interval_s)
        if not self.owns(row.group_id):
            return
        if result.status is not None:
            self._pending_status[row.id] = self._pending_status.get(row.id, {}) | result.status
        if result.alerts:
            self._pending_alerts.extend(result.alerts)
        if self._influx is not None:
            self._influx.write("encoder_metric", {"encoder": row.name, "group": worker.group_name,
                                                  "kind": row.driver_kind},
                               worker.influx_fields(sample, result.assessment), when=wall)
        ctrl = self.controllers.get(row.group_id) if row.group_id is not None else None
        pooled = self.pools.get(row.group_id) if row.group_id is not None else None
        if pooled is not None:
            pooled.tick()  # a pool group: assignment instead of primary/backup failover
        elif ctrl is not None:
            ctrl.tick()

    async def _flush_once(self) -> float:
        statuses = list(self._pending_status.values())
        alert_ops = self._pending_alerts
        self._pending_status, self._pending_alerts = {}, []
        if statuses or alert_ops:
            try:
                results = await self.db(_write, statuses, alert_ops)
            except Exception:
                # keep the alerts for the next flush (bounded); statuses are rewritten anyway
                self._pending_alerts = (alert_ops + self._pending_alerts)[-MAX_PENDING_ALERTS:]
                raise
            for op, changed in results:
                if changed:
                    logger.warning("alert %s encoder=%s %s: %s", "opened" if op.op == "raise" else "resolved",
                                   op.subject, op.alert_type, op.summary)
        return FLUSH_S


def raise_if_cancelling() -> None:
    """Honour a cancellation that ``asyncio.wait_for`` swallowed (CPython 3.11: when the awaited
    call finishes just as the task is cancelled, wait_for returns its result and the request is
    lost — a loop would then run on and hold up shutdown, and its group locks, for ever)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def _write(session: Session, statuses: list[dict[str, Any]],
           alert_ops: list[store.AlertOp]) -> list[tuple[store.AlertOp, bool]]:
    store.write_status(session, statuses)
    return store.apply_alerts(session, alert_ops)

