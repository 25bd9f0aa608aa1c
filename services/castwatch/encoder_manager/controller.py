"""A group's controller: runs the pure failover policy and carries out its actions.

Only the replica holding the group's advisory lock calls :meth:`GroupController.tick` with
``owned=True``; other replicas only observe. Actions run in one task at a time per group
(device commands, then database writes); while they run, ticks are skipped. A start that
the device refuses marks the candidate ``start_failed`` so the policy moves on at once.

Stops are different: every encoder the policy stops is *parked* (``parking``): the stop runs in
its own task (a hung device cannot hold up the group's decisions), is re-sent with back-off
until the device is seen idle, and ``ENCODER_NOT_PARKED`` stays open while it is seen live.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from castwatch.common.vocab import severity_of
from castwatch.encoder_manager import parking, recording, remediation, store
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
from castwatch.encoder_manager.worker import EncoderWorker

logger = logging.getLogger(__name__)

DbCall = Callable[..., Awaitable[Any]]
RECORD_RETRY_S = 30.0


def policy_of(group: store.GroupRow) -> GroupPolicy:
    return GroupPolicy(failover_enabled=group.failover_enabled, failure_threshold=group.failure_threshold,
                       verify_timeout_s=group.verify_timeout_s, preference=group.preference,
                       failback_hold_s=group.failback_hold_s,
                       min_switch_interval_s=group.min_switch_interval_s)


class GroupController:
    def __init__(self, group: store.GroupRow, db: DbCall, metrics: EncoderMetrics,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.group = group
        self.policy = policy_of(group)
        self.state = GroupState(active_id=group.active_encoder_id)
        self._db = db
        self._metrics = metrics
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self._event_id: int | None = None
        self.start_failed: set[int] = set()
        self.cooldown = CoolDown()
        self.workers: dict[int, EncoderWorker] = {}
        self.parks: dict[int, parking.Park] = {}
        self._side_tasks: set[asyncio.Task[None]] = set()
        self._stopping: set[int] = set()
        self._recording_busy: set[int] = set()
        self._judged: set[int] = set()  # members whose first sample since take-over was looked at
        self.remedies: dict[int, remediation.Remediation] = {}
        self._remedying: set[int] = set()
        self._alert_lock = asyncio.Lock()  # parking alerts are written in the order decided

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

    def adopt_parking(self, not_parked_open: set[int]) -> None:
        """After :meth:`take_control`: park every non-active member seen live (the previous
        controller may have died between a switch and a confirmed stop), and keep watching the
        members whose ``ENCODER_NOT_PARKED`` alert is still open, so it can clear here."""
        now = self._clock()
        keep = self._keep_live()
        self.parks = parking.adopt_live(self.parks, self._observed(), keep, self.workers, now)
        for eid in not_parked_open - keep:
            if eid in self.workers and eid not in self.parks:
                self.parks[eid] = parking.Park(since=now, attempts=1, next_at=now, sent_at=now,
                                               alerted=True)

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
    def side_tasks(self) -> list[asyncio.Task[None]]:
        """Running stop and alert tasks of parking (the manager cancels them on shutdown)."""
        return [t for t in self._side_tasks if not t.done()]

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

    # -- parking ---------------------------------------------------------------------------

    def _keep_live(self) -> set[int]:
        return {e for e in (self.state.active_id, self.state.candidate_id) if e is not None}

    def _observed(self) -> dict[int, parking.Observed]:
        out = {}
        for eid, w in self.workers.items():
            sample = w.health.last_sample
            out[eid] = parking.Observed(seen=sample is not None, reachable=bool(sample and sample.reachable),
                                        live=bool(sample and sample.live), at=w.sample_polled_at)
        return out

    def _park(self, now: float) -> None:
        names = {eid: w.row.name for eid, w in self.workers.items()}
        observed = self._observed()
        # at first sight after taking control, a non-active member that streams must be parked
        # (the previous controller may have died before its stop was confirmed)
        first = [eid for eid, seen in observed.items() if seen.seen and eid not in self._judged]
        if first and self.state.phase == "steady":
            self._judged.update(first)
            self.parks = parking.adopt_live(self.parks, observed, self._keep_live(), first, now)
        self.parks, actions = parking.plan(self.parks, observed, self._keep_live(), now, names)
        self._park_actions(actions)

    def _park_actions(self, actions: list[parking.ParkAction]) -> None:
        for act in actions:
            worker = self.workers.get(act.encoder_id)
            if act.op == "stop" and worker is not None:
                self._send_stop(worker)
            elif act.op in ("raise", "clear"):
                name = worker.row.name if worker else str(act.encoder_id)
                op = store.AlertOp(act.op, subject=name, alert_type=parking.NOT_PARKED,
                                   severity=severity_of(parking.NOT_PARKED),
                                   summary=act.summary, encoder_id=act.encoder_id, group_id=self.group.id)
                logger.warning("group=%s encoder=%s %s %s: %s", self.group.name, name,
                               act.op, parking.NOT_PARKED, act.summary)
                self._side(self._write_alert(op))

    async def _write_alert(self, op: store.AlertOp) -> None:
        async with self._alert_lock:
            await self._db(store.apply_alerts, [op])

    def park(self, worker: EncoderWorker) -> None:
        """Stop ``worker``'s encoder and keep at it until it is confirmed idle."""
        self.parks = parking.request(self.parks, worker.row.id, self._clock())
        self._send_stop(worker)

    def release(self, encoder_id: int) -> None:
        """``encoder_id`` is wanted on air (started by the policy or an operator): unpark it."""
        self.parks, actions = parking.release(self.parks, encoder_id)
        self._park_actions(actions)

    def _side(self, coro: Awaitable[Any]) -> None:
        async def run() -> None:
            try:
                await coro
            except Exception:
                logger.exception("group=%s parking task failed", self.group.name)
        task = asyncio.get_running_loop().create_task(run())
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    def _send_stop(self, worker: EncoderWorker) -> None:
        eid = worker.row.id
        if worker.driver is None or eid in self._stopping:
            return  # one stop at a time per encoder; the back-off sends the next
        self._stopping.add(eid)
        driver = worker.driver

        async def stop() -> None:
            try:
                logger.info("group=%s stopping encoder=%s", self.group.name, worker.row.name)
                await driver.stop_output()
            except DriverError as exc:
                self.parks = parking.stop_failed(self.parks, eid, f"{type(exc).__name__}: {exc}")
                logger.warning("group=%s action=stop encoder=%s failed: %s (retrying with back-off "
                               "until it is confirmed idle)", self.group.name, worker.row.name, exc)
            finally:
                self._stopping.discard(eid)
            worker.wake()  # verify at once
        self._side(stop())

    # -- auto-remediation --------------------------------------------------------------------

    def _remediate(self, now: float) -> None:
        """While running without redundancy, try to bring each failed standby back (never the
        on-air encoder); see ``remediation``."""
        if not self.state.redundancy_lost or self.state.phase != "steady":
            self.remedies.clear()
            return
        views = self.views(now)
        for eid, w in self.workers.items():
            if eid == self.state.active_id or not w.row.enabled or w.driver is None:
                self.remedies.pop(eid, None)
                continue
            if eid in self._remedying or eid in self._stopping:
                continue
            v = views[eid]
            policy = remediation.RemedyPolicy(max_attempts=w.thresholds.remedy_max_attempts,
                                              backoff_s=w.thresholds.remedy_backoff_s)
            rem, what = remediation.step(
                self.remedies.get(eid), healthy=v.reachable and v.ok and not v.parking,
                capabilities=w.driver.capabilities,
                allow_reboot=w.row.driver_options.get("allow_reboot") is True, now=now, policy=policy)
            if rem is None:
                self.remedies.pop(eid, None)
            else:
                self.remedies[eid] = rem
            if what is not None:
                self._remedying.add(eid)
                self._side(self._run_remedy(w, what, rem))

    async def _run_remedy(self, worker: EncoderWorker, what: str, rem: remediation.Remediation | None
                          ) -> None:
        g, name, eid = self.group, worker.row.name, worker.row.id
        try:
            if what == remediation.RESTORED:
                note = f"remediation: {name} is a healthy standby again"
            elif what == remediation.EXHAUSTED:
                tried = ", ".join(rem.tried) if rem else "nothing"
                count = len(rem.tried) if rem else 0
                note = f"remediation of {name} gave up after {count} attempts ({tried})"
                op = store.AlertOp("raise", subject=g.name, alert_type="FAILOVER_ACTIVATED", severity="major",
                                   summary=f"running without redundancy: {name} could not be brought back "
                                           f"(tried {tried}); it needs a person",
                                   details={"remediation": list(rem.tried) if rem else []}, group_id=g.id,
                                   encoder_id=self.state.active_id)
                await self._write_alert(op)
            else:
                note = f"remediation attempt {rem.attempts if rem else '?'} on {name}: {what}"
                assert worker.driver is not None
                try:
                    if what == remediation.RECONNECT:
                        await worker.driver.close()
                    elif what == remediation.RESET_OUTPUT:
                        await worker.driver.stop_output()
                    elif what == remediation.REBOOT:
                        await worker.driver.reboot()
                    note += " — done"
                except DriverError as exc:
                    note += f" — failed: {type(exc).__name__}"
            logger.warning("group=%s encoder=%s %s", g.name, name, note)
            await self._db(store.audit_remediation, g.id, eid, note)
        finally:
            self._remedying.discard(eid)
            worker.wake()

    # -- recording policy --------------------------------------------------------------------

    def _record_policy(self, now: float) -> None:
        """Start/stop local recordings the group's policy wants (``recording.wanted``); only
        recordings the policy started are stopped by it."""
        g = self.group
        for eid, w in self.workers.items():
            if (w.driver is None or "record" not in w.driver.capabilities or eid in self._recording_busy
                    or now < w.record_retry_at):
                continue
            want = recording.wanted(role=w.row.role, on_air=eid == self.state.active_id
                                    and self.state.phase == "steady",
                                    record_on_backup=g.record_on_backup,
                                    record_during_meetings=g.record_during_meetings, in_meeting=g.in_meeting)
            if want != w.record_by_policy:
                self._recording_busy.add(eid)
                self._side(self._set_recording(w, want))

    async def _set_recording(self, worker: EncoderWorker, want: bool) -> None:
        assert worker.driver is not None
        name = worker.row.name
        try:
            if want:
                await worker.driver.start_recording()
                worker.record_by_policy = worker.record_expected = True
            else:
                worker.record_expected = False
                await worker.driver.stop_recording()
                worker.record_by_policy = False
            logger.warning("group=%s encoder=%s recording %s by the group's policy", self.group.name, name,
                           "started" if want else "stopped")
        except DriverError as exc:
            worker.record_retry_at = self._clock() + RECORD_RETRY_S
            logger.warning("group=%s encoder=%s recording %s failed: %s (retry in %gs)", self.group.name,
                           name, "start" if want else "stop", exc, RECORD_RETRY_S)
        finally:
            self._recording_busy.discard(worker.row.id)

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
