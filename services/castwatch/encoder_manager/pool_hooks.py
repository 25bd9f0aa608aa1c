"""The manager's hooks into the pool loop (:mod:`pool`): which groups get a
:class:`PoolController` after a fleet reload, and what a controller starts from when this
replica takes a group's lock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from castwatch.encoder_manager import store
from castwatch.encoder_manager.pool import OUTPUT_UNASSIGNED, DbCall, PoolController, is_pool
from castwatch.encoder_manager.worker import EncoderWorker


def sync_pools(pools: dict[int, PoolController], groups: list[store.GroupRow], outputs: list[store.OutputRow],
               workers: dict[int, EncoderWorker], held: set[int], db: DbCall,
               clock: Callable[[], float], retiring: set[asyncio.Task[None]] | None = None) -> dict[int, int]:
    """After a fleet reload: a controller for each group that is a pool now (:func:`is_pool`),
    none for the others (they are back to the classic failover). A controller dropped while we
    control its group first hands over the stops it still owes (an output deleted while live on
    an encoder): :meth:`PoolController.retire` runs as a task, kept in ``retiring`` until done.
    Returns, for each such group, the encoder carrying its remaining output (the classic
    failover's on-air encoder from now on: the caller hands it to the group's controller)."""
    handover: dict[int, int] = {}
    by_group: dict[int, list[store.OutputRow]] = {}
    for o in outputs:
        by_group.setdefault(o.group_id, []).append(o)
    for group in groups:
        members = {eid: w for eid, w in workers.items() if w.row.group_id == group.id}
        mine = by_group.get(group.id, [])
        if not is_pool(len(mine), [w.row for w in members.values()]):
            old = pools.pop(group.id, None)
            if old is not None and group.id in held and old.owned:
                old.note_owed_stops(mine, members)  # what the deleted outputs leave behind
                carrier = next((old.assignment.get(o.id) for o in mine), None)
                if carrier is not None and carrier in members:
                    handover[group.id] = carrier
                task = asyncio.get_running_loop().create_task(old.retire(), name=f"pool-retire-{group.name}")
                if retiring is not None:
                    retiring.add(task)
                    task.add_done_callback(retiring.discard)
            continue
        pool = pools.get(group.id)
        if pool is None:
            pool = pools[group.id] = PoolController(group, db, clock)
        pool.update(group, mine, members, owned=group.id in held)
    for gid in set(pools) - {g.id for g in groups}:
        del pools[gid]
    return handover


async def adopt(pools: dict[int, PoolController], keys: set[int], db: DbCall) -> None:
    """We just took control of ``keys``: each pool among them starts from the database."""
    mine = [pools[gid] for gid in keys if gid in pools]
    if not mine:
        return
    open_alerts = await db(store.open_alert_subjects, OUTPUT_UNASSIGNED)
    for pool in mine:
        pool.take_control({subject for gid, subject in open_alerts if gid == pool.group.id})
