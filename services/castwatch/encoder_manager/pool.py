"""A pool group's assignment loop: carries out :func:`assignment.assign` on the devices.

Which groups are pools (:func:`is_pool`): a group with **more than one output** in
``encoder_outputs`` (enabled or not, so disabling one does not flip the group's mode), or one
of whose encoders has ``max_outputs > 1``. Every other group — today's primary/backup groups,
migrated as one-output pools — keeps the classic failover of :mod:`controller`; a pool group's
``GroupController`` is never ticked (no primary/backup policy, parking, remediation or
recording policy there).

Only the replica controlling the group (its advisory lock) ticks the pool, after each poll of
a member; one pass runs at a time. A pass, once every member has been polled at least once,
first lets an output migrated from a classic group (named after the group) adopt the one stream
live on its multi-stream encoder (:meth:`PoolController._adopt_migrated`), then:

1. builds :class:`PoolEncoder` state from the newest samples: *usable* = enabled, has a driver,
   fewer than the group's ``failure_threshold`` consecutive bad polls (unreachable, stream
   failed, or carrying outputs but not live); CPU/temperature and limits from the encoder's
   thresholds; *hot* = at its temperature limit or a confirmed overheat prediction
   (``EncoderHealth.overheat_signal``, the same signal the classic policy acts on); capacity
   ``max_outputs`` / ``bitrate_budget_kbps``; capabilities and ``wired_to`` as
   :func:`assignment.pool_encoder` builds them (the API's proposal uses the same function; a
   malformed ``driver_options["capabilities"]`` is logged once and ignored); an encoder
   that refused a start takes no new output for ``REFUSED_HOLD_S`` (it keeps what it carries);
2. calls :func:`assign` (hysteresis is there: a live output never moves to balance load);
3. carries out each move: start on the new encoder with the output's **name** as identity
   (``driver.start_output(name)``), then stop it on the old one if that one is reachable.
   A refused start keeps the output where it was when that encoder is still usable (thermal
   shedding), else leaves it unassigned: the next pass places it on another encoder;
4. verifies: an assigned output its encoder does not carry (per the newest sample polled after
   the last start: a named stream not live, or the device not live when it reports no streams)
   is started again every ``RESTART_S``; a stream seen connecting ("starting") is given the
   group's ``verify_timeout_s`` before it counts as not carried (a destination that never
   answers: restarted, then given up like a lie); a start that raises, or ``failure_threshold``
   starts answered OK that never show it live (a lying device, a stream stuck connecting),
   un-assign it and hold the encoder ``REFUSED_HOLD_S`` (next pass moves it or alerts);
5. stops strays: an output live on an encoder it is not assigned to (a dead encoder that came
   back still streaming, a previous controller's unfinished move) is stopped, retried every
   ``RESTART_S`` while it is seen live — so no output is pushed twice for long;
6. persists changed ``encoder_outputs.assigned_encoder_id``, audits every move as a finished
   failover event (kind ``automatic``, ``preemptive`` for thermal shedding; actor ``pool``; the
   reason names the output) and raises ``ENCODER_OUTPUT_UNASSIGNED`` (subject: the output's
   name) while an enabled output fits nowhere, resolved once it is placed, disabled or deleted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import replace

from castwatch.common.vocab import severity_of
from castwatch.encoder_manager import assignment, store
from castwatch.encoder_manager.assignment import (
    Move,
    Plan,
    PoolEncoder,
    assign,
    parse_capabilities,
    pool_encoder,
    pool_output,
)
from castwatch.encoder_manager.pool_devices import RESTART_S, DbCall, PoolDevices, carries
from castwatch.encoder_manager.worker import EncoderWorker

logger = logging.getLogger(__name__)

OUTPUT_UNASSIGNED = "ENCODER_OUTPUT_UNASSIGNED"
REFUSED_HOLD_S = 30.0


def is_pool(outputs: int, members: Iterable[store.EncoderRow]) -> bool:
    """The rule (``assignment.is_pool``): more than one output, or an encoder that carries several."""
    return assignment.is_pool(outputs, (m.max_outputs for m in members))


class PoolController(PoolDevices):
    def __init__(self, group: store.GroupRow, db: DbCall,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(group, db, clock)
        self.owned = False
        self.refused_until: dict[int, float] = {}
        self.alerted: set[str] = set()  # outputs with ENCODER_OUTPUT_UNASSIGNED open
        self.last_plan: Plan | None = None
        self._unsaved: dict[int, int | None] = {}
        self.restarts: dict[int, int] = {}  # output → starts sent by _verify without seeing it live
        self.connecting_since: dict[int, float] = {}  # output → first seen "starting" since its start
        self._malformed: set[int] = set()  # encoders whose malformed capabilities were logged

    # -- configuration -------------------------------------------------------------------

    def update(self, group: store.GroupRow, outputs: list[store.OutputRow],
               workers: dict[int, EncoderWorker], owned: bool) -> None:
        """New rows: outputs new to us take the database's assignment; while not in control,
        every output follows the database. An output removed/renamed while assigned is stopped
        under its old name (no stray check knows it any more) by :meth:`_stop_leftovers`, and so
        is what a member that left the group (moved, disabled, deleted) carried."""
        self.note_owed_stops(outputs, workers)
        self.group, self.workers = group, workers
        self.outputs = {o.id: o for o in outputs}
        for o in outputs:
            if not (owned and self.owned) or o.id not in self.assignment:
                self.assignment[o.id] = o.assigned_encoder_id
        for gone in set(self.assignment) - set(self.outputs):
            del self.assignment[gone]
        self.owned = owned
        self.mark_expectations()

    def take_control(self, open_unassigned: set[str]) -> None:
        """We just got the lock: start from the database's assignment and its open alerts."""
        self.assignment = {oid: o.assigned_encoder_id for oid, o in self.outputs.items()}
        self.alerted = set(open_unassigned)
        self.owned = True
        self.refused_until.clear()
        self._unsaved.clear()  # a write of a previous term would overwrite another controller's
        self.mark_expectations()

    def lose_control(self) -> None:
        """The lock is gone: a pass in flight is cancelled (it would act on devices and write the
        assignment and alerts another replica now owns; it leaves strays the next one stops)."""
        self.owned = False
        if self._task is not None:
            self._task.cancel()

    def mark_expectations(self) -> None:
        carrying = {eid for eid in self.assignment.values() if eid is not None}
        for eid, w in self.workers.items():
            w.expect_live = eid in carrying

    # -- the pass ------------------------------------------------------------------------

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._task if self._task is not None and not self._task.done() else None

    def tick(self) -> None:
        """Start a pass unless one is running (or some member has not been polled yet)."""
        if self.task is not None or not self.outputs:
            return
        if any(w.health.last_sample is None for w in self.workers.values()):
            return  # never judge an encoder we have not seen: it would look failed
        self._task = asyncio.get_running_loop().create_task(self._guarded())

    async def wait_idle(self) -> None:
        if self._task is not None:
            await asyncio.shield(self._task)

    async def _guarded(self) -> None:
        try:
            await self.run_once()
        except Exception:
            # a database hiccup must not kill the pool: the next tick retries from memory
            logger.exception("group=%s pool pass failed", self.group.name)

    def pool_encoders(self, now: float) -> list[PoolEncoder]:
        carried: dict[int, int] = {}
        for eid in self.assignment.values():
            if eid is not None:
                carried[eid] = carried.get(eid, 0) + 1
        result = []
        for eid, w in self.workers.items():
            sample, th, row = w.health.last_sample, w.thresholds, w.row
            malformed = parse_capabilities(row.driver_options.get("capabilities")) is None
            if malformed and eid not in self._malformed:
                self._malformed.add(eid)  # refused by the API; an older row: one line, then ignored
                logger.warning("group=%s encoder=%s driver_options.capabilities is not a list of short "
                               "strings: ignored", self.group.name, row.name)
            hot = w.health.overheat_signal(th)
            slots = row.max_outputs
            if self.refused_until.get(eid, float("-inf")) > now and not hot:
                slots = carried.get(eid, 0)  # keeps what it carries, takes nothing new
            result.append(pool_encoder(
                eid, usable=row.enabled and w.driver is not None
                and w.health.consecutive_failures < self.group.failure_threshold, hot=hot,
                cpu_percent=sample.cpu_percent if sample else None,
                temperature_c=sample.temperature_c if sample else None,
                temperature_max_c=th.temperature_max_c, cpu_max_percent=th.cpu_max_percent,
                max_outputs=slots, bitrate_budget_kbps=row.bitrate_budget_kbps,
                driver_capabilities=w.driver.capabilities if w.driver else (),
                driver_options=row.driver_options, output=row.output))
        return result

    async def run_once(self) -> None:
        await self._adopt_migrated()
        now = self._clock()
        encoders = self.pool_encoders(now)
        usable = {e.encoder_id for e in encoders if e.usable}
        wanted = [pool_output(o.id, o.name, bitrate_kbps=o.bitrate_kbps, priority=o.priority,
                              capabilities=o.capabilities, destination=o.destination)
                  for o in self.outputs.values() if o.enabled]
        plan = assign(wanted, encoders, {o.output_id: self.assignment.get(o.output_id) for o in wanted})
        self.last_plan = plan
        before = dict(self.assignment)
        await self._stop_leftovers()
        # each result is applied at once: a poll woken by a start may land during this pass
        for o in self.outputs.values():  # disabled outputs are carried nowhere
            was = self.assignment.get(o.id)
            if not o.enabled and was is not None:
                self.assignment[o.id] = None
                await self._stop(was, o.name)
        for move in plan.moves:
            self.restarts.pop(move.output_id, None)
            self.connecting_since.pop(move.output_id, None)
            self.assignment[move.output_id] = await self._carry_out(move, usable)
        moved = {m.output_id for m in plan.moves}
        for oid, eid in plan.assignment.items():
            if oid not in moved and eid is not None and await self._verify(oid, eid):
                self.assignment[oid] = None
        await self._stop_strays()
        self.mark_expectations()
        self._unsaved.update({oid: eid for oid, eid in self.assignment.items() if before.get(oid, -1) != eid})
        if self._unsaved:  # kept until written: a failed write is retried by the next pass
            changes = {oid: eid for oid, eid in self._unsaved.items() if oid in self.outputs}
            await self._db(store.save_assignment, self.group.id, changes)
            self._unsaved.clear()
        await self._alerts()

    async def _adopt_migrated(self) -> None:
        """Migration 0009 named a classic group's one output after the group; a multi-stream
        device (Makito X4) has no stream of that name, so the pool could neither start nor stop
        it. While that output is assigned to an encoder whose newest sample shows named streams,
        none of that name, and exactly one live stream no output is named after, the output takes
        that stream's name (written first: skipped when another output has the name) and the
        rename is audited — the stream on air stays on air and managed."""
        names = {o.name for o in self.outputs.values()}
        for oid, out in list(self.outputs.items()):
            eid = self.assignment.get(oid)
            w = self.workers.get(eid) if eid is not None and out.name == self.group.name else None
            sample = w.health.last_sample if w else None
            if w is None or sample is None or not sample.reachable or not sample.streams:
                continue
            live = [st.name for st in sample.streams if st.state == "live"]
            if any(st.name == out.name for st in sample.streams) or len(live) != 1 or live[0] in names:
                continue
            if not await self._db(store.rename_output, oid, self.group.id, out.name, live[0]):
                continue
            self.outputs[oid] = replace(out, name=live[0])
            note = (f"pool: migrated output {out.name} adopts the stream {live[0]} live on {w.row.name} "
                    "(named after it from now on)")
            logger.warning("group=%s %s", self.group.name, note)
            await self._audit(eid, eid, "automatic", note, "succeeded")

    async def _carry_out(self, move: Move, usable: set[int]) -> int | None:
        out = self.outputs[move.output_id]
        g = self.group
        kind = "preemptive" if move.reason.startswith("thermal") else "automatic"
        if move.to_id is None:
            logger.warning("group=%s output=%s fits on no encoder (%s)", g.name, out.name, move.reason)
            if move.from_id is not None and move.from_id in usable:
                return move.from_id  # shedding found no room elsewhere: it stays where it is live
            return None
        held = self.refused_until.get(move.to_id, float("-inf")) > self._clock()  # e.g. hung: 1 timeout/pass
        started = not held and await self._start(move.to_id, out.name)
        result: int | None
        to_name = self._name(move.to_id)
        if started:
            if move.from_id is not None:
                await self._stop(move.from_id, out.name)
            note = f"pool: output {out.name} to {to_name} ({move.reason})"
            status, result = "succeeded", move.to_id
        else:
            self.refused_until[move.to_id] = self._clock() + REFUSED_HOLD_S
            keep = move.from_id if move.from_id is not None and move.from_id in usable else None
            note = f"pool: output {out.name} could not start on {to_name} ({move.reason})"
            status, result = "failed", keep
        logger.warning("group=%s %s", g.name, note)
        await self._audit(move.from_id, move.to_id, kind, note, status)
        return result

    async def _verify(self, oid: int, eid: int) -> bool:
        """Start again an output its encoder does not carry; True when that start is refused."""
        w, out = self.workers.get(eid), self.outputs[oid]
        if w is None or w.sample_polled_at <= self.started_at.get(oid, float("-inf")):
            return False
        now = self._clock()
        if carries(w, out.name):
            self.restarts.pop(oid, None)
            self.connecting_since.pop(oid, None)
            return False
        if carries(w, out.name, "starting"):  # connecting: given the group's verify_timeout_s
            since = self.connecting_since.setdefault(oid, now)
            if now - since < max(RESTART_S, self.group.verify_timeout_s):
                return False
        if now - self.started_at.get(oid, float("-inf")) < RESTART_S:
            return False
        self.connecting_since.pop(oid, None)  # the next start gets its own verify_timeout_s
        tries = self.restarts[oid] = self.restarts.get(oid, 0) + 1
        if tries > max(1, self.group.failure_threshold):  # starts answered OK, never live: a lie
            self.restarts.pop(oid, None)
            self.refused_until[eid] = self._clock() + REFUSED_HOLD_S
            await self._stop(eid, out.name)
            await self._audit(eid, None, "automatic", f"pool: output {out.name} never went live on "
                              f"{w.row.name} after {tries - 1} starts", "failed")
            return True
        logger.warning("group=%s output=%s is not live on %s: starting it again", self.group.name,
                       out.name, w.row.name)
        if await self._start(eid, out.name, oid):
            return False
        self.refused_until[eid] = self._clock() + REFUSED_HOLD_S
        await self._audit(eid, None, "automatic", f"pool: output {out.name} refused to start again on "
                          f"{w.row.name}", "failed")
        return True

    async def _audit(self, from_id: int | None, to_id: int | None, kind: str, note: str, status: str) -> None:
        """Record a move as a failover event; a failed write is logged, never stops the pass (the
        device has already acted)."""
        try:
            await self._db(store.record_pool_move, self.group.id, from_id, to_id, kind, note, status)
        except Exception:
            logger.exception("group=%s could not record: %s", self.group.name, note)

    async def _alerts(self) -> None:
        g = self.group
        plan = self.last_plan
        homeless = {self.outputs[oid].name for oid in (plan.unassigned if plan else [])
                    if oid in self.outputs and self.assignment.get(oid) is None}
        ops = [store.AlertOp("raise", subject=name, alert_type=OUTPUT_UNASSIGNED,
                             severity=severity_of(OUTPUT_UNASSIGNED),
                             summary=f"output {name} of pool {g.name} fits on no usable encoder "
                                     "(capacity, capabilities, bitrate budget or all failed): it is off air",
                             group_id=g.id) for name in sorted(homeless - self.alerted)]
        ops += [store.AlertOp("clear", subject=name, alert_type=OUTPUT_UNASSIGNED,
                              summary="output placed (or disabled/removed)", group_id=g.id)
                for name in sorted(self.alerted - homeless)]
        if ops:
            await self._db(store.apply_alerts, ops)
            self.alerted = homeless
