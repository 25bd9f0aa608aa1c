"""Encoder pools end to end: Makito X4 simulators carrying several streams on loopback, the real
manager, the real database. What a device streams is checked on the simulator's side."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from castwatch.common.models import Alert, EncoderCommand, EncoderOutput, FailoverEvent
from castwatch.encoder_manager.drivers import DriverError
from castwatch.simulators.encoders.haivision_makito import HaivisionMakitoSimulator
from tests.encoder_manager.helpers import driver_for, encoder_row, fast_group, run, wait_for

NAMES = [f"out-{i}" for i in range(1, 7)]


def test_the_makito_driver_starts_and_stops_one_named_stream_of_several(makito):
    sim = makito("multi", names=["out-1", "out 2", "out-3"])
    driver = driver_for(sim)

    async def scenario() -> tuple[Any, Any]:
        try:
            await driver.start_output("out 2")  # by name (sent HTML-escaped by the device)
            await driver.start_output("3")  # by id
            both = await driver.poll()
            await driver.stop_output("out 2")
            one = await driver.poll()
            with pytest.raises(DriverError, match="no stream"):
                await driver.start_output("out-9")
            return both, one
        finally:
            await driver.close()

    both, one = run(scenario())
    assert [(s.name, s.state) for s in both.streams] == [("out-1", "idle"), ("out 2", "live"),
                                                         ("out-3", "live")]
    assert both.state == "degraded" and both.live
    assert [s.name for s in one.streams if s.state == "live"] == ["out-3"]
    assert sim.live_streams() == {"out-3"}


def pool_group(db: Any, sims: list[HaivisionMakitoSimulator], *, max_outputs: int, names: list[str] = NAMES,
               **group: Any) -> tuple[Any, list[Any], list[Any]]:
    g = fast_group(db, "pool", **group)
    encoders = [encoder_row(db, sim, f"pool-enc-{i}", g, role="primary", max_outputs=max_outputs)
                for i, sim in enumerate(sims, 1)]
    outputs = [EncoderOutput(name=name, group_id=g.id, destination=f"srt://192.0.2.1:{9000 + i}",
                             bitrate_kbps=3000, priority=len(names) - i)  # out-1 is the most important
               for i, name in enumerate(names)]
    db.add_all(outputs)
    db.commit()
    return g, encoders, outputs


def assignment(session_factory: Any, group_id: int) -> dict[str, int | None]:
    with session_factory() as s:
        rows = s.scalars(select(EncoderOutput).where(EncoderOutput.group_id == group_id))
        return {o.name: o.assigned_encoder_id for o in rows}


def carried_as_assigned(session_factory: Any, group_id: int, sims: dict[int, HaivisionMakitoSimulator],
                        names: list[str] = NAMES) -> dict[str, int | None] | None:
    """The assignment, when every output is assigned and each device streams exactly its own."""
    current = assignment(session_factory, group_id)
    if any(current.get(n) is None for n in names):
        return None
    for eid, sim in sims.items():
        if sim.live_streams() != {n for n, e in current.items() if e == eid}:
            return None
    return current


def pool_events(session_factory: Any) -> list[FailoverEvent]:
    with session_factory() as s:
        return list(s.scalars(select(FailoverEvent).where(FailoverEvent.actor == "pool")
                              .order_by(FailoverEvent.id)))


def test_a_pool_of_4_carries_6_outputs_and_reassigns_when_one_dies(db, session_factory, makito, sim_host,
                                                                  start_manager):
    sims = [makito(f"m{i}") for i in range(1, 5)]
    group, encoders, _ = pool_group(db, sims, max_outputs=2)
    by_id = {e.id: s for e, s in zip(encoders, sims, strict=True)}
    manager = start_manager().manager

    first = wait_for(lambda: carried_as_assigned(session_factory, group.id, by_id), timeout=30)
    assert group.id in manager.pools  # the pool loop runs it, not the primary/backup policy
    assert all(list(first.values()).count(eid) <= 2 for eid in by_id)  # max_outputs honoured
    assert len(set(first.values())) >= 3  # spread by headroom, not piled up

    victim_id = first["out-1"]
    victim = by_id[victim_id]
    moved = sorted(n for n, e in first.items() if e == victim_id)
    port = victim.port
    sim_host.run(victim.stop())  # the device dies: connection refused

    def reassigned() -> dict[str, int | None] | None:
        alive = {e: s for e, s in by_id.items() if e != victim_id}
        now = carried_as_assigned(session_factory, group.id, alive)
        return now if now and victim_id not in now.values() else None

    after = wait_for(reassigned, timeout=30)
    for name, eid in first.items():
        if name not in moved:
            assert after[name] == eid  # hysteresis: nothing else moved
    events = pool_events(session_factory)
    assert {(e.from_encoder_id, e.status) for e in events if "encoder failed" in e.reason} == {
        (victim_id, "succeeded")}
    assert sum("encoder failed" in e.reason for e in events) == len(moved)

    # it comes back, still streaming what it had: those streams are stopped, nothing moves back
    victim._port = port
    sim_host.run(victim.start())
    assert victim.live_streams() == set(moved)
    wait_for(lambda: not victim.live_streams(), timeout=20)
    polls = len(victim.state.requests_matching("/apis/status"))
    wait_for(lambda: len(victim.state.requests_matching("/apis/status")) > polls + 10, timeout=20)
    assert assignment(session_factory, group.id) == after
    assert carried_as_assigned(session_factory, group.id, by_id) == after


def test_thermal_pressure_sheds_the_least_important_output(db, session_factory, makito, start_manager):
    sims = [makito(f"t{i}") for i in range(1, 5)]
    group, encoders, _ = pool_group(db, sims, max_outputs=2,
                                    thresholds={"clear_after_s": 0.6, "raise_after_count": 2,
                                                "temperature_max_c": 60.0})
    by_id = {e.id: s for e, s in zip(encoders, sims, strict=True)}
    start_manager()
    first = wait_for(lambda: carried_as_assigned(session_factory, group.id, by_id), timeout=30)
    hot_id = next(eid for eid in by_id if list(first.values()).count(eid) == 2)
    mine = sorted((n for n, e in first.items() if e == hot_id), key=NAMES.index)  # most important first

    by_id[hot_id].state.set_faults(overheat=True, overheat_rate_c_per_s=20.0)  # 45 → 60 °C in < 1 s

    def shed() -> dict[str, int | None] | None:
        now = carried_as_assigned(session_factory, group.id, by_id)
        return now if now and now[mine[1]] != hot_id else None

    after = wait_for(shed, timeout=30)
    assert after[mine[0]] == hot_id  # keeps its most important output (shed to half its capacity)
    assert by_id[hot_id].live_streams() == {mine[0]}
    assert by_id[after[mine[1]]].live_streams() >= {mine[1]}
    kinds = {(e.kind, e.from_encoder_id) for e in pool_events(session_factory) if "thermal" in e.reason}
    assert kinds == {("preemptive", hot_id)}


def open_unassigned(session_factory: Any) -> set[str]:
    with session_factory() as s:
        return set(s.scalars(select(Alert.subject).where(Alert.alert_type == "ENCODER_OUTPUT_UNASSIGNED",
                                                         Alert.state != "resolved")))


def test_an_output_that_fits_nowhere_is_alerted_until_room_is_made(db, session_factory, makito,
                                                                  start_manager):
    names = NAMES[:5]
    sims = [makito(f"u{i}", names=names) for i in range(1, 3)]
    group, encoders, _ = pool_group(db, sims, max_outputs=2, names=names)
    by_id = {e.id: s for e, s in zip(encoders, sims, strict=True)}
    start_manager()

    wait_for(lambda: open_unassigned(session_factory) == {"out-5"}, timeout=30)  # the least important
    current = assignment(session_factory, group.id)
    assert current["out-5"] is None and all(current[n] is not None for n in names[:4])
    assert not any("out-5" in s.live_streams() for s in sims)

    encoders[0].max_outputs = 3  # the operator makes room
    db.commit()
    wait_for(lambda: carried_as_assigned(session_factory, group.id, by_id, names), timeout=30)
    assert assignment(session_factory, group.id)["out-5"] == encoders[0].id
    wait_for(lambda: not open_unassigned(session_factory), timeout=10)

    # a pool has no primary/backup: a manual failover is refused, nothing is started
    starts = len(sims[1].state.requests_matching("/start"))
    command = EncoderCommand(encoder_id=encoders[1].id, action="failover", requested_by="op")
    db.add(command)
    db.commit()

    def finished() -> EncoderCommand | None:
        with session_factory() as s:
            row = s.get(EncoderCommand, command.id)
            return row if row.status in ("done", "failed") else None

    done = wait_for(finished, timeout=10)
    assert done.status == "failed" and "pool" in done.result
    assert len(sims[1].state.requests_matching("/start")) == starts


def test_a_classic_primary_backup_group_is_left_to_the_failover_policy(db, session_factory, make_sim,
                                                                      start_manager):
    primary_sim = make_sim("haivision_makito", streaming=True)
    backup_sim = make_sim("generic_http")
    group = fast_group(db, "classic")
    primary = encoder_row(db, primary_sim, "classic-primary", group)
    backup = encoder_row(db, backup_sim, "classic-backup", group, role="backup")
    group.active_encoder_id = primary.id
    db.add(EncoderOutput(name="classic", group_id=group.id, assigned_encoder_id=primary.id))  # as migrated
    db.commit()
    manager = start_manager().manager
    wait_for(lambda: len(primary_sim.state.requests) > 3)
    assert group.id not in manager.pools

    primary_sim.state.set_faults(stream_stop=True)
    wait_for(lambda: backup_sim.state.streaming, timeout=20)
    wait_for(lambda: assignment(session_factory, group.id) == {"classic": backup.id}, timeout=10)
    with session_factory() as s:
        events = s.scalars(select(FailoverEvent)).all()
        assert [(e.kind, e.actor, e.to_encoder_id) for e in events] == [("automatic", "system", backup.id)]
    assert not pool_events(session_factory)


def test_a_refused_start_does_not_lose_the_output_the_next_encoder_takes_it(db, session_factory, makito,
                                                                            start_manager):
    names = NAMES[:2]
    roomy = makito("roomy", names=["out-1"], base_cpu_percent=5.0)  # most headroom, but no stream out-2
    other = makito("other", names=names, base_cpu_percent=50.0)
    group, encoders, _ = pool_group(db, [roomy, other], max_outputs=2, names=names)
    by_id = {encoders[0].id: roomy, encoders[1].id: other}
    start_manager()

    placed = wait_for(lambda: carried_as_assigned(session_factory, group.id, by_id, names), timeout=30)
    assert placed == {"out-1": encoders[0].id, "out-2": encoders[1].id}
    assert roomy.live_streams() == {"out-1"} and other.live_streams() == {"out-2"}
    refused = [(e.to_encoder_id, e.status) for e in pool_events(session_factory) if "out-2" in e.reason]
    assert refused[0] == (encoders[0].id, "failed") and refused[-1] == (encoders[1].id, "succeeded")
    assert not open_unassigned(session_factory)
