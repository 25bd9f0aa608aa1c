"""What a pool controller does on the devices (:class:`PoolDevices`, the base of
:class:`pool.PoolController`): start and stop outputs by name, stop strays and the old names of
removed/renamed outputs, and hand the stops still owed over when the group stops being a pool.

Contracts: a stop goes only to a reachable member; a stray (an output live where it is not
assigned) or leftover is stopped at most every ``RESTART_S`` and only when a poll after the last
stop still shows it; a member that left the group gets one best-effort stop, and so does every
stop still owed when the group stops being a pool (:meth:`PoolDevices.retire`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from castwatch.encoder_manager import store
from castwatch.encoder_manager.drivers import DriverError
from castwatch.encoder_manager.worker import EncoderWorker

logger = logging.getLogger("castwatch.encoder_manager.pool")

RESTART_S = 2.0
DbCall = Callable[..., Awaitable[Any]]


def carries(worker: EncoderWorker, name: str, *states: str) -> bool:
    """Does the newest sample show ``name`` live (or in one of ``states``) on this encoder?"""
    sample, wanted = worker.health.last_sample, states or ("live",)
    if sample is None or not sample.reachable:
        return False
    if sample.streams:
        return any(s.name == name and s.state in wanted for s in sample.streams)
    return sample.live or sample.state in wanted


class PoolDevices:
    """Device actions and the stop bookkeeping of one pool group."""

    def __init__(self, group: store.GroupRow, db: DbCall,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.group = group
        self._db = db
        self._clock = clock
        self.outputs: dict[int, store.OutputRow] = {}
        self.workers: dict[int, EncoderWorker] = {}
        self.assignment: dict[int, int | None] = {}  # ours while in control; the database's otherwise
        self.started_at: dict[int, float] = {}  # output → when a start was last sent
        self._stop_sent: dict[tuple[int, str], float] = {}
        self._leftovers: set[tuple[int, str]] = set()  # (encoder, old name) of removed/renamed outputs
        self._departed: dict[int, EncoderWorker] = {}  # members gone while carrying outputs
        self._task: asyncio.Task[None] | None = None  # the pass in flight

    def note_owed_stops(self, outputs: list[store.OutputRow], workers: dict[int, EncoderWorker]) -> None:
        """Against the new rows: the old name of an output removed or renamed while assigned, and
        what a member that left the group carried, are owed a stop (:meth:`_stop_leftovers`)."""
        new = {o.id: o for o in outputs}
        self._leftovers |= {(eid, old.name) for oid, old in self.outputs.items()
                            if (eid := self.assignment.get(oid)) is not None
                            and (oid not in new or new[oid].name != old.name or eid not in workers)}
        self._departed |= {eid: w for eid, w in self.workers.items() if eid not in workers}

    async def retire(self) -> None:
        """The group is no longer a pool (outputs deleted down to one of single-output encoders):
        after the pass in flight, the stops still owed — old names of outputs removed or renamed
        while carried, what departed members carried — are sent once, best effort (an
        unreachable device is logged), before the controller is dropped and the classic
        failover owns the group."""
        if self._task is not None and not self._task.done():
            await asyncio.gather(self._task, return_exceptions=True)
        for eid, name in sorted(self._leftovers):
            w = self.workers.get(eid) or self._departed.get(eid)
            if w is None or w.driver is None:
                continue
            try:
                logger.info("group=%s no longer a pool: stopping output=%s on encoder=%s",
                            self.group.name, name, w.row.name)
                await w.driver.stop_output(name)
            except Exception as exc:  # noqa: BLE001 - best effort: a closed or failing driver is logged
                logger.warning("group=%s could not stop output=%s on encoder=%s: %s", self.group.name,
                               name, w.row.name, exc)
            finally:
                w.wake()
        self._leftovers.clear()
        self._departed.clear()

    async def _stop_leftovers(self) -> None:
        """Stop old names of removed/renamed outputs until a poll after the stop shows them idle."""
        assigned = {(eid, self.outputs[oid].name) for oid, eid in self.assignment.items()
                    if eid is not None and oid in self.outputs}
        for key in sorted(self._leftovers):
            w = self.workers.get(key[0])
            sample = w.health.last_sample if w else None
            if w is None:  # left the group: one stop, best effort (nobody polls it for us)
                self._leftovers.discard(key)
                gone = self._departed.get(key[0])
                if gone is not None and gone.driver is not None:
                    try:
                        await gone.driver.stop_output(key[1])
                    except DriverError as exc:
                        logger.warning("group=%s could not stop output=%s on encoder=%s that left it: %s",
                                       self.group.name, key[1], gone.row.name, exc)
                continue
            if sample is None or not sample.reachable:
                continue  # unreachable: stopped once it answers
            seen = w.sample_polled_at > self._stop_sent.get(key, float("-inf"))
            if key in assigned or not sample.streams or (seen and not carries(w, key[1])):
                self._leftovers.discard(key)  # wanted again, left to _stop_strays, or stopped
            else:
                await self._stop(*key, only_if_seen_since=True)
        waiting = {eid for eid, _ in self._leftovers}
        self._departed = {eid: w for eid, w in self._departed.items() if eid in waiting}

    async def _stop_strays(self) -> None:
        names = {o.name: oid for oid, o in self.outputs.items()}
        for eid, w in self.workers.items():
            sample = w.health.last_sample
            if sample is None or not sample.reachable:
                continue
            if sample.streams:
                for s in sample.streams:
                    oid = names.get(s.name)
                    if s.state == "live" and oid is not None and self.assignment.get(oid) != eid:
                        await self._stop(eid, s.name, only_if_seen_since=True)
            elif sample.live and eid not in self.assignment.values():
                await self._stop(eid, None, only_if_seen_since=True)

    def _name(self, eid: int) -> str:
        w = self.workers.get(eid)
        return w.row.name if w else str(eid)

    async def _start(self, eid: int, name: str, oid: int | None = None) -> bool:
        w = self.workers.get(eid)
        if w is None or w.driver is None:
            return False
        key = oid if oid is not None else next((i for i, o in self.outputs.items() if o.name == name), None)
        if key is not None:
            self.started_at[key] = self._clock()
        try:
            await w.driver.start_output(name)
            return True
        except DriverError as exc:
            logger.warning("group=%s encoder=%s refused to start output=%s: %s", self.group.name,
                           w.row.name, name, exc)
            return False
        finally:
            w.wake()  # verify at once

    async def _stop(self, eid: int, name: str | None, *, only_if_seen_since: bool = False) -> None:
        """Stop ``name`` on ``eid`` when it is reachable (strays: at most every ``RESTART_S``,
        and only when a poll after the last stop still shows it)."""
        w = self.workers.get(eid)
        sample = w.health.last_sample if w else None
        if w is None or w.driver is None or sample is None or not sample.reachable:
            return
        key, now = (eid, name or ""), self._clock()
        last = self._stop_sent.get(key, float("-inf"))
        if only_if_seen_since and (now - last < RESTART_S or w.sample_polled_at <= last):
            return
        self._stop_sent[key] = now
        try:
            logger.info("group=%s stopping output=%s on encoder=%s", self.group.name, name, w.row.name)
            await w.driver.stop_output(name)
        except DriverError as exc:
            logger.warning("group=%s encoder=%s stop of output=%s failed: %s (retried while seen live)",
                           self.group.name, w.row.name, name, exc)
        finally:
            w.wake()
