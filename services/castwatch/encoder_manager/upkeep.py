"""A group controller's upkeep beside the failover decisions: parking, auto-remediation and the
recording policy, and the side tasks they run in.

:class:`GroupUpkeep` is the base of :class:`~castwatch.encoder_manager.controller.GroupController`
(which owns the state, the policy's views and the tick that calls in here); it holds what these
three duties keep between ticks. Contract:

- Parking (``parking``): every encoder the policy stops is *parked*: the stop runs in its own
  task (a hung device cannot hold up the group's decisions), one at a time per encoder, is re-sent
  with back-off until the device is seen idle, and ``ENCODER_NOT_PARKED`` stays open while it is
  seen live. Parking alerts are written in the order they were decided.
- Remediation (``remediation``): while the group runs without redundancy, each failed standby
  (never the on-air encoder) is tried back with the device's own means; each attempt and the
  outcome are audited, and giving up raises ``FAILOVER_ACTIVATED`` for a person.
- Recording (``recording.wanted``): local recordings the group's policy wants are started and
  stopped; only those the policy started are stopped by it; a refusal is retried after
  ``RECORD_RETRY_S``.

Every side task logs its own failure and never raises into the tick; the manager cancels the
running ones (:attr:`GroupUpkeep.side_tasks`) on shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from castwatch.common.vocab import severity_of
from castwatch.encoder_manager import parking, recording, remediation, store
from castwatch.encoder_manager.drivers import DriverError
from castwatch.encoder_manager.policy import GroupState, MemberView
from castwatch.encoder_manager.worker import EncoderWorker

# the controller's log channel: these lines were always the controller's
logger = logging.getLogger("castwatch.encoder_manager.controller")

DbCall = Callable[..., Awaitable[Any]]
RECORD_RETRY_S = 30.0


class GroupUpkeep:
    """Parking, remediation and recording of one group's members (see the module's contract)."""

    state: GroupState  # set by the controller

    def __init__(self, group: store.GroupRow, db: DbCall, clock: Callable[[], float]) -> None:
        self.group = group
        self._db = db
        self._clock = clock
        self.workers: dict[int, EncoderWorker] = {}
        self.parks: dict[int, parking.Park] = {}
        self._side_tasks: set[asyncio.Task[None]] = set()
        self._stopping: set[int] = set()
        self._recording_busy: set[int] = set()
        self._judged: set[int] = set()  # members whose first sample since take-over was looked at
        self.remedies: dict[int, remediation.Remediation] = {}
        self._remedying: set[int] = set()
        self._alert_lock = asyncio.Lock()  # parking alerts are written in the order decided

    def views(self, now: float) -> dict[int, MemberView]:
        """What the policy sees of each member; the controller provides it."""
        raise NotImplementedError

    @property
    def side_tasks(self) -> list[asyncio.Task[None]]:
        """Running stop and alert tasks of parking (the manager cancels them on shutdown)."""
        return [t for t in self._side_tasks if not t.done()]

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
