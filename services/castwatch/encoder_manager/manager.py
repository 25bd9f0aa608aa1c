"""The encoder manager's asyncio loop: keep the fleet loaded, hold the group locks, obey commands.

One process polls hundreds of encoders on one event loop (async drivers; a shared aiohttp
connector); the poll path and its writer are :mod:`castwatch.encoder_manager.polling` (the base
of :class:`EncoderManager`). This module is the rest of the loop. Contract:

- Fleet: the rows are reloaded every ``reload_interval_s``, at once on a LISTEN notification of a
  group change or of an encoder/output inserted or deleted (our own status UPDATEs wait for the
  periodic reload), and after a listener reconnect. A reload starts and retires poll tasks and
  drivers, keeps one controller per group and a pool controller per pool group.
- Replicas: every replica polls every encoder (so a takeover starts with warm history), but only
  the holder of a group's advisory lock writes its rows, alerts and metrics points, runs its
  failover policy and carries out its commands. On taking a lock the replica first reloads, then
  adopts the group's open alerts, recorded switch time and parking; a lost lock stops our writes
  for that group at once.
- Each task is an outermost loop (:meth:`EncoderManager._forever`): it catches everything, logs
  it and carries on, so one broken driver never stops the others. Shutdown cancels every task and
  bounds each closing step by ``SHUTDOWN_STEP_S``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import aiohttp
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from castwatch.common import download
from castwatch.common.bus import Listener, channel_for
from castwatch.common.hysteresis import ConditionTracker
from castwatch.common.influx import InfluxSink
from castwatch.common.models import Alert
from castwatch.common.sealing import Sealer, SealingError, is_sealed
from castwatch.encoder_manager import credentials, pool, pool_hooks, store
from castwatch.encoder_manager.commands import CommandRunner
from castwatch.encoder_manager.controller import GroupController
from castwatch.encoder_manager.drivers import DriverConfig, DriverError, create_driver, driver_class
from castwatch.encoder_manager.health import CONDITION_TYPES, Thresholds
from castwatch.encoder_manager.leadership import UNGROUPED, Leadership
from castwatch.encoder_manager.metrics import EncoderMetrics
from castwatch.encoder_manager.parking import NOT_PARKED
from castwatch.encoder_manager.polling import FleetPolling, raise_if_cancelling
from castwatch.encoder_manager.settings import EncoderSettings
from castwatch.encoder_manager.worker import EncoderWorker

logger = logging.getLogger(__name__)
SHUTDOWN_STEP_S = 5.0


class EncoderManager(FleetPolling):
    def __init__(self, cfg: EncoderSettings, session_factory: sessionmaker[Session], database_url: str,
                 metrics: EncoderMetrics, influx: InfluxSink | None = None, *,
                 listen: bool = True, clock: Callable[[], float] = time.monotonic,
                 sealer: Sealer | None = None) -> None:
        super().__init__(cfg, session_factory, metrics, influx, clock)
        self._sealer = sealer  # opens sealed stream keys (CASTWATCH_SECRET_KEY) for the rows
        self._url = database_url
        self._listen = listen
        self.controllers: dict[int, GroupController] = {}
        self.pools: dict[int, pool.PoolController] = {}  # groups that are pools (``pool.is_pool``)
        self.pool_retiring: set[asyncio.Task[None]] = set()  # stops owed by pools turned classic
        self.groups: dict[int, store.GroupRow] = {}
        self.held: set[int] = set()
        self._gauged_groups: set[str] = set()
        self._lock_pool = ThreadPoolExecutor(1, thread_name_prefix="encoders-lock")
        self.leadership = Leadership(database_url, cfg.replica_name)
        self._reload_wanted = asyncio.Event()
        self._command_wanted = asyncio.Event()
        self._connector: aiohttp.TCPConnector | None = None
        self.commands = CommandRunner(self)
        self.ready = asyncio.Event()

    # -- plumbing --------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set; then cancel every task and close every connection."""
        loop = asyncio.get_running_loop()
        self._connector = download.connector(self.cfg.egress, limit=0, limit_per_host=4, ttl_dns_cache=300)
        listener = None
        if self._listen:
            listener = Listener(self._url, [channel_for(t) for t in ("encoders", "encoder_groups",
                                                                     "encoder_commands", "encoder_outputs")],
                                functools.partial(_threadsafe, loop, self._notified),
                                on_reconnect=functools.partial(_threadsafe, loop, self._reload_wanted.set))
            listener.start()
        tasks = [loop.create_task(self._forever(name, fn), name=f"encoders-{name}") for name, fn in (
            ("reload", self._reload_once), ("leadership", self._leadership_once),
            ("commands", self.commands.run_once), ("writer", self._flush_once))]
        try:
            await stop.wait()
        finally:
            actions = [c.task for c in self.controllers.values() if c.task is not None]
            actions += [t for c in self.controllers.values() for t in c.side_tasks]
            actions += [p.task for p in self.pools.values() if p.task is not None]
            actions += list(self.pool_retiring)
            everything = tasks + list(self._poll_tasks.values()) + actions + self.commands.tasks
            for task in everything:
                task.cancel()
            await asyncio.gather(*everything, return_exceptions=True)
            await self._shutdown(listener)

    async def _shutdown(self, listener: Listener | None) -> None:
        """Flush, close devices and give up the locks — each step bounded, so a stuck database or
        device cannot keep a stopping replica (and its group locks) alive."""
        loop = asyncio.get_running_loop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._flush_once(), SHUTDOWN_STEP_S)
        drivers = [w.driver.close() for w in self.workers.values() if w.driver is not None]
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.gather(*drivers, return_exceptions=True), SHUTDOWN_STEP_S)
        if self._connector is not None:
            await self._connector.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(loop.run_in_executor(self._lock_pool, self.leadership.close),
                                   SHUTDOWN_STEP_S)
        if listener is not None:
            await loop.run_in_executor(None, listener.stop)
        self._db_pool.shutdown(wait=False)
        self._lock_pool.shutdown(wait=False)

    def _notified(self, channel: str, payload: dict[str, Any]) -> None:
        if channel == channel_for("encoder_commands"):
            self._command_wanted.set()
        elif channel == channel_for("encoder_groups") or payload.get("op") in ("INSERT", "DELETE"):
            # our own status updates also notify: UPDATEs of encoders wait for the periodic reload
            self._reload_wanted.set()

    async def _forever(self, name: str, once: Callable[[], Coroutine[Any, Any, float]]) -> None:
        """The outermost loop of one task: nothing escapes it but cancellation.

        A database outage is expected (restart, failover): one line per attempt, backing off to
        10 s; anything else is a bug and is logged with its traceback.
        """
        failures = 0
        while True:
            raise_if_cancelling()
            try:
                wait_s = await once()
                failures = 0
            except asyncio.CancelledError:
                raise
            except SQLAlchemyError as exc:
                failures += 1
                wait_s = min(10.0, 2.0 ** (failures - 1))
                self.metrics.loop_errors.labels(name).inc()
                logger.warning("encoders task=%s database unavailable (retry in %gs): %s", name, wait_s,
                               str(exc).splitlines()[0][:200])
            except Exception:
                logger.exception("encoders task=%s failed; carrying on", name)
                self.metrics.loop_errors.labels(name).inc()
                wait_s = 1.0
            event = {"reload": self._reload_wanted, "commands": self._command_wanted}.get(name)
            if event is None:
                await asyncio.sleep(wait_s)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), wait_s)
                event.clear()

    # -- fleet -----------------------------------------------------------------------------

    async def _reload_once(self) -> float:
        encoders, groups = await self.db(store.load_fleet)
        outputs = await self.db(store.load_outputs)
        encoders = [self._opened(row) for row in encoders]
        self.groups = {g.id: g for g in groups}
        wanted = {row.id: row for row in encoders if row.enabled}
        for eid in set(self.workers) - set(wanted):
            await self._retire(eid)
        for row in wanted.values():
            worker = self.workers.get(row.id)
            if worker is not None and worker.row.driver_key != row.driver_key:
                await self._retire(row.id)
                worker = None
            if worker is None:
                worker = self._make_worker(row)
                self.workers[row.id] = worker
                self._poll_tasks[row.id] = asyncio.get_running_loop().create_task(
                    self._poll_loop(worker), name=f"poll-{row.name}")
            worker.row = row
            group = self.groups.get(row.group_id) if row.group_id is not None else None
            worker.group_name = group.name if group else ""
            worker.interval_s = group.poll_interval_s if group else self.cfg.poll_interval_s
            worker.failure_threshold = group.failure_threshold if group else 3
            worker.thresholds = Thresholds.merged(group.thresholds if group else None, row.thresholds)
        for gid in set(self.controllers) - set(self.groups):
            del self.controllers[gid]
        for group in groups:
            ctrl = self.controllers.get(group.id)
            if ctrl is None:
                ctrl = self.controllers[group.id] = GroupController(group, self.db, self.metrics, self.clock)
            members = {eid: w for eid, w in self.workers.items() if w.row.group_id == group.id}
            ctrl.update(group, members, owned=group.id in self.held)
        handover = pool_hooks.sync_pools(self.pools, groups, outputs, self.workers, self.held, self.db,
                                         self.clock, self.pool_retiring)
        for gid, carrier in handover.items():  # a pool turned classic: on air is what the pool carried
            self.controllers[gid].hand_over(carrier)
            await self.db(store.set_active, gid, carrier)
        self.metrics.encoders.set(len(self.workers))
        self.ready.set()
        return self.cfg.reload_interval_s

    def _opened(self, row: store.EncoderRow) -> store.EncoderRow:
        """``row`` with its clear stream key, for the drivers that push an output to a device."""
        if self._sealer is None or not is_sealed(row.output.get("stream_key")):
            return row
        try:
            return replace(row, output=self._sealer.open_output(row.output))
        except SealingError as exc:
            logger.error("encoder=%s output.stream_key: %s", row.name, exc)
            return row

    def _make_worker(self, row: store.EncoderRow) -> EncoderWorker:
        driver, error = None, None
        try:
            # the binding is checked here, for this row's address, before the secret is read
            user, password = credentials.resolve(
                row.credentials_ref, self.cfg, row.driver_options.get("username"),
                address=row.address, password_only=driver_class(row.driver_kind).password_only)
            config = DriverConfig(address=row.address, username=user, password=password,
                                  options=row.driver_options, timeout_s=self.cfg.poll_timeout_s,
                                  retries=self.cfg.poll_retries, egress=self.cfg.egress,
                                  max_reply_bytes=self.cfg.max_reply_bytes)
            driver = create_driver(row.driver_kind, config, connector=self._connector)
        except (credentials.CredentialsError, DriverError) as exc:
            error = str(exc)
            logger.error("encoder=%s cannot be polled: %s", row.name, error)
        return EncoderWorker(row=row, driver=driver, driver_error=error, metrics=self.metrics)

    async def _retire(self, encoder_id: int) -> None:
        task = self._poll_tasks.pop(encoder_id, None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        worker = self.workers.pop(encoder_id, None)
        if worker is not None and worker.driver is not None:
            await worker.driver.close()

    # -- leadership ------------------------------------------------------------------------

    async def _leadership_once(self) -> float:
        await self.ready.wait()  # know the groups before claiming any
        groups = dict(self.groups)
        wanted = set(groups) | {UNGROUPED}
        loop = asyncio.get_running_loop()
        held = await loop.run_in_executor(self._lock_pool, self.leadership.refresh, wanted)
        gained = held - self.held
        for gid in self.held - held:  # and our pool passes: they write as they go
            if (lost := self.pools.get(gid)) is not None:
                lost.lose_control()
        self.held &= held  # lost locks stop our writes at once
        if gained:
            await self._take_control(gained)  # may fail: then we retry on the next round
            self.held |= gained
        # only groups whose lock we just tried: a group loaded a moment ago is not "missing" yet
        for gid, group in groups.items():
            self.metrics.controller_active.labels(group.name).set(1 if gid in self.held else 0)
        names = {g.name for g in groups.values()}
        for gone in self._gauged_groups - names:  # a deleted group must not look controlled
            with contextlib.suppress(KeyError):
                self.metrics.controller_active.remove(gone)
        self._gauged_groups = names
        return self.cfg.lock_interval_s

    async def _take_control(self, keys: set[int]) -> None:
        """Start controlling groups: adopt their open alerts and recorded failover state."""
        await self._reload_once()  # the previous controller may have switched moments ago
        open_alerts, switches = await self.db(_control_snapshot)
        now_wall = datetime.now(UTC)
        now = self.clock()
        for worker in self.workers.values():
            if (worker.row.group_id or UNGROUPED) not in keys:
                continue
            worker.tracker = ConditionTracker()
            worker.adopt_open_alerts([t for eid, _gid, t in open_alerts if eid == worker.row.id
                                      and t in CONDITION_TYPES], now)
        for gid in keys - {UNGROUPED}:
            ctrl, group = self.controllers.get(gid), self.groups.get(gid)
            if ctrl is None or group is None:
                continue
            at = switches.get(gid)
            ctrl.take_control(group, None if at is None else (now_wall - at).total_seconds())
            types = {t for _eid, g, t in open_alerts if g == gid}
            ctrl.state = replace(ctrl.state, redundancy_lost="FAILOVER_ACTIVATED" in types,
                                 failover_failed="FAILOVER_FAILED" in types)
            ctrl.adopt_parking({eid for eid, g, t in open_alerts
                                if g == gid and eid is not None and t == NOT_PARKED})
            logger.info("replica=%s controls group=%s active=%s", self.cfg.replica_name, group.name,
                        ctrl.state.active_id)
        await pool_hooks.adopt(self.pools, keys, self.db)


def _threadsafe(loop: asyncio.AbstractEventLoop, fn: Callable[..., Any], *args: Any) -> None:
    """Run ``fn(*args)`` on ``loop`` (the listener calls in from its own thread)."""
    loop.call_soon_threadsafe(fn, *args)


OpenAlert = tuple[int | None, int | None, str]


def _control_snapshot(session: Session) -> tuple[list[OpenAlert], dict[int, datetime]]:
    rows = session.execute(select(Alert.encoder_id, Alert.group_id, Alert.alert_type)
                           .where(Alert.source == store.SOURCE, Alert.state != "resolved")).all()
    return [(e, g, t) for e, g, t in rows], store.last_switches(session)

