"""A group's controller: runs the pure failover policy and carries out its actions.

Contract: only the replica holding the group's advisory lock calls :meth:`GroupController.tick`;
other replicas only observe (:meth:`GroupController.update` with ``owned=False`` follows the
recorded active encoder). Actions run in one task at a time per group (device commands, then
database writes); while they run, ticks are skipped. A start that the device refuses marks the
candidate ``start_failed`` so the policy moves on at once. A database or driver error in an
action is logged and never kills the controller: the next tick retries.

Each tick first does the group's upkeep (:mod:`castwatch.encoder_manager.upkeep`: parking of
every encoder the policy stops, the recording policy, auto-remediation), then decides.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace

from castwatch.encoder_manager import store
from castwatch.encoder_manager.drivers import DriverError
from castwatch.encoder_manager.metrics import EncoderMetrics
from castwatch.encoder_manager.policy import (
    Action,
    GroupPolicy,
    GroupState,
    Member,
    MemberView,
    decide,
    request_switch,
)
from castwatch.encoder_manager.thermal import CoolDown, Load, headroom
from castwatch.encoder_manager.upkeep import DbCall, GroupUpkeep
from castwatch.encoder_manager.worker import EncoderWorker

logger = logging.getLogger(__name__)


def policy_of(group: store.GroupRow) -> GroupPolicy:
    return GroupPolicy(failover_enabled=group.failover_enabled, failure_threshold=group.failure_threshold,
                       verify_timeout_s=group.verify_timeout_s, preference=group.preference,
                       failback_hold_s=group.failback_hold_s,
                       min_switch_interval_s=group.min_switch_interval_s)


class GroupController(GroupUpkeep):
    def __init__(self, group: store.GroupRow, db: DbCall, metrics: EncoderMetrics,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(group, db, clock)
        self.policy = policy_of(group)
        self.state = GroupState(active_id=group.active_encoder_id)
        self._metrics = metrics
        self._task: asyncio.Task[None] | None = None
        self._event_id: int | None = None
        self.start_failed: set[int] = set()
        self.cooldown = CoolDown()

    # -- configuration -------------------------------------------------------------------

    def update(self, group: store.GroupRow, workers: dict[int, EncoderWorker], owned: bool) -> None:
        """New rows from the database; when not in control, follow the recorded active encoder."""
        self.group, self.policy, self.workers = group, policy_of(group), workers
        if not owned and self.state.phase == "steady":
            self.state = replace(self.state, active_id=group.active_encoder_id)
        self._mark_expectations()

    def hand_over(self, active_id: int) -> None:
        """The group was a pool until now: its on-air encoder is the one the pool had carrying
        its remaining output (else parking would stop that output there)."""
        self.state = replace(self.state, active_id=active_id, phase="steady", candidate_id=None)
        self._mark_expectations()

    def take_control(self, group: store.GroupRow, last_switch_age_s: float | None) -> None:
        """We just got the lock: start from what the database says."""
        now = self._clock()
        self.state = GroupState(active_id=group.active_encoder_id,
                                last_switch_at=None if last_switch_age_s is None else now - last_switch_age_s)
        self._judged = set()
        self._mark_expectations()


    def _mark_expectations(self) -> None:
        for eid, worker in self.workers.items():
            worker.expect_live = eid == self.state.active_id

    @property
    def members(self) -> list[Member]:
        return [Member(w.row.id, w.row.name, w.row.role, w.row.priority, w.row.enabled)
                for w in self.workers.values()]

    def views(self, now: float) -> dict[int, MemberView]:
        views = {}
        for eid, w in self.workers.items():
            sample, a = w.health.last_sample, w.last_assessment
            th = w.thresholds
            temp = sample.temperature_c if sample else None
            views[eid] = MemberView(
                reachable=bool(sample and sample.reachable), live=bool(sample and sample.live),
                ok=bool(a and a.ok), consecutive_failures=w.health.consecutive_failures,
                healthy_since=w.health.healthy_since,
                # a raw prediction never switches anything: it must have held for several polls
                overheat_predicted=w.health.overheat_signal(th),
                cooling=self.cooldown.cooling(eid, temp, th.temperature_max_c, now),
                start_failed=eid in self.start_failed, seen=sample is not None,
                parking=eid in self.parks,
                headroom=headroom(Load(eid, sample.cpu_percent if sample else None, temp,
                                       streams=1 if sample and sample.live else 0,
                                       temperature_max_c=th.temperature_max_c,
                                       cpu_max_percent=th.cpu_max_percent)),
            )
        return views

    # -- decisions -------------------------------------------------------------------------

    @property
    def task(self) -> asyncio.Task[None] | None:
        """The running action task, if any (the manager cancels it on shutdown)."""
        return self._task if self.busy else None

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    def tick(self) -> None:
        """Evaluate the policy; start carrying out its actions if there are any."""
        now = self._clock()
        self._park(now)
        self._record_policy(now)
        self._remediate(now)
        if self.busy:
            return
        self.state, actions = decide(self.policy, self.members, self.views(now), self.state, now)
        if self.state.phase == "steady":
            self.start_failed.clear()  # refusals only count within the failover that saw them
        self._launch(actions)

    def manual(self, target_id: int | None, *, kind: str, actor: str, reason: str) -> bool:
        """Begin an operator's switch; False when one is already in progress."""
        if self.busy or self.state.phase != "steady":
            return False
        now = self._clock()
        self.state, actions = request_switch(self.state, self.members, self.views(now), target_id,
                                             kind=kind, actor=actor, reason=reason, now=now)
        self._launch(actions)
        return True

    # -- actions ---------------------------------------------------------------------------

    def _launch(self, actions: list[Action]) -> None:
        if actions:
            self._task = asyncio.get_running_loop().create_task(self._execute(actions))

    async def wait_idle(self) -> None:
        if self._task is not None:
            await asyncio.shield(self._task)

    async def _execute(self, actions: list[Action]) -> None:
        for action in actions:
            try:
                await self._do(action)
            except DriverError as exc:
                logger.warning("group=%s action=%s encoder=%s failed: %s", self.group.name, action.op,
                               action.encoder_id, exc)
            except Exception:
                # a database hiccup must not kill the controller; the next tick retries
                logger.exception("group=%s action=%s failed", self.group.name, action.op)
        self._mark_expectations()

    async def _do(self, action: Action) -> None:
        g = self.group
        worker = self.workers.get(action.encoder_id) if action.encoder_id is not None else None
        if action.op == "start" and worker is not None:
            await self._start(worker)
        elif action.op == "stop" and worker is not None:
            if self.state.kind == "preemptive":
                self.cooldown.start(worker.row.id)  # preferably no load until it has cooled down
            self.park(worker)
        elif action.op == "set_active" and action.encoder_id is not None:
            self._mark_expectations()
            await self._db(store.set_active, g.id, action.encoder_id)
        elif action.op == "event_started" and action.encoder_id is not None:
            self._event_id = await self._db(store.start_failover_event, g.id, self.state.from_id,
                                            action.encoder_id, self.state.kind, self.state.reason,
                                            self.state.actor)
            logger.warning("group=%s failover started: %s", g.name, action.summary)
        elif action.op == "event_finished":
            status = str(action.details.get("status", "failed"))
            self._metrics.failovers.labels(status).inc()
            if self._event_id is not None:
                await self._db(store.finish_failover_event, self._event_id, status)
            logger.warning("group=%s failover %s: %s", g.name, status, action.summary)
        elif action.op in ("raise", "clear") and action.alert_type is not None:
            op = store.AlertOp(action.op, subject=g.name, alert_type=action.alert_type,
                               severity=action.severity, summary=action.summary,
                               details=dict(action.details), group_id=g.id,
                               encoder_id=self.state.active_id, actor=self.state.actor
                               if action.op == "raise" else "system")
            await self._db(store.apply_alerts, [op])

    async def _start(self, worker: EncoderWorker) -> None:
        self.release(worker.row.id)
        if worker.driver is None:
            self.start_failed.add(worker.row.id)
            return
        logger.warning("group=%s starting encoder=%s", self.group.name, worker.row.name)
        try:
            await worker.driver.start_output()
            self.start_failed.discard(worker.row.id)
        except DriverError as exc:
            logger.warning("group=%s encoder=%s refused to start: %s", self.group.name, worker.row.name, exc)
            self.start_failed.add(worker.row.id)
        worker.wake()  # verify at once instead of waiting for the next scheduled poll
