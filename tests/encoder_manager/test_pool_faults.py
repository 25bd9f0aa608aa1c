"""Encoder pools under hostile conditions (review of #13 item 5): a device that lies about a
start, outputs removed or renamed while a device carries them. Makito X4 simulators on
loopback, the real manager and database; what a device streams is checked on its side."""

from __future__ import annotations

import psycopg2
import pytest
from sqlalchemy import select

from castwatch.common.bus import dsn_for
from castwatch.common.models import EncoderOutput
from castwatch.encoder_manager.leadership import NAMESPACE
from tests.encoder_manager.helpers import encoder_row, fast_group, wait_for
from tests.encoder_manager.test_pool_e2e import (
    NAMES,
    assignment,
    carried_as_assigned,
    open_unassigned,
    pool_events,
    pool_group,
)


def test_a_device_that_answers_a_start_ok_but_never_goes_live_does_not_keep_the_output(
        db, session_factory, makito, start_manager):
    names = NAMES[:2]
    liar = makito("liar", names=names, base_cpu_percent=5.0)  # most headroom: both land here first
    honest = makito("honest", names=names, base_cpu_percent=50.0)
    liar.lying.add("out-2")
    group, encoders, _ = pool_group(db, [liar, honest], max_outputs=2, names=names)
    by_id = {encoders[0].id: liar, encoders[1].id: honest}
    start_manager()

    # first out-2 is assigned to the liar, which answers every start OK and streams nothing
    wait_for(lambda: assignment(session_factory, group.id).get("out-2") == encoders[0].id, timeout=30)
    placed = wait_for(lambda: carried_as_assigned(session_factory, group.id, by_id, names), timeout=30)
    assert placed == {"out-1": encoders[0].id, "out-2": encoders[1].id}
    assert liar.live_streams() == {"out-1"} and honest.live_streams() == {"out-2"}
    gave_up = [e for e in pool_events(session_factory) if "never went live" in e.reason]
    assert [(e.from_encoder_id, e.status) for e in gave_up] == [(encoders[0].id, "failed")]
    assert not open_unassigned(session_factory)


@pytest.mark.parametrize("fault", ["lying", "never_connects"])
def test_an_output_that_only_a_faulty_encoder_could_carry_is_alerted_not_silently_lost(
        db, session_factory, makito, start_manager, fault):
    """The only encoder says "started" but never goes live (``lying``), or its stream stays
    connecting for ever (``never_connects``): the output is given up and alerted."""
    names = NAMES[:2]
    device = makito(f"only-{fault}", names=names)
    getattr(device, fault).add("out-2")
    group, _encoders, _ = pool_group(db, [device], max_outputs=2, names=names)
    start_manager()

    wait_for(lambda: open_unassigned(session_factory) == {"out-2"}, timeout=40)
    assert assignment(session_factory, group.id)["out-2"] is None
    assert device.live_streams() == {"out-1"}


def test_a_removed_or_renamed_output_stops_streaming_under_its_old_name(db, session_factory, makito,
                                                                       start_manager):
    names = NAMES[:3]
    device_names = [*names, "out-2b"]  # the device has a stream for the new name too
    sims = [makito(f"r{i}", names=device_names) for i in range(1, 3)]
    group, encoders, _ = pool_group(db, sims, max_outputs=2, names=names)
    by_id = {e.id: s for e, s in zip(encoders, sims, strict=True)}
    start_manager()
    wait_for(lambda: carried_as_assigned(session_factory, group.id, by_id, names), timeout=30)

    rows = {o.name: o for o in db.scalars(select(EncoderOutput).where(EncoderOutput.group_id == group.id))}
    db.delete(rows["out-3"])
    rows["out-2"].name = "out-2b"
    db.commit()

    renamed = ["out-1", "out-2b"]
    after = wait_for(lambda: carried_as_assigned(session_factory, group.id, by_id, renamed), timeout=30)
    assert set(after) == set(renamed)
    # carried_as_assigned demands each device streams exactly what it is assigned: nothing under
    # the old names is left pushing to a destination nobody manages any more
    assert not any({"out-2", "out-3"} & s.live_streams() for s in sims)


def test_a_disabled_output_stops_streaming_and_is_not_alerted(db, session_factory, makito, start_manager):
    names = NAMES[:3]
    sims = [makito(f"d{i}", names=names) for i in range(1, 3)]
    group, encoders, _ = pool_group(db, sims, max_outputs=2, names=names)
    by_id = {e.id: s for e, s in zip(encoders, sims, strict=True)}
    start_manager()
    wait_for(lambda: carried_as_assigned(session_factory, group.id, by_id, names), timeout=30)

    row = db.scalars(select(EncoderOutput).where(EncoderOutput.name == "out-3")).one()
    row.enabled = False  # what PUT /api/v1/encoder-outputs/{id} {"enabled": false} writes
    db.commit()
    wait_for(lambda: not any("out-3" in s.live_streams() for s in sims), timeout=30)
    assert open_unassigned(session_factory) == set()
    assert {"out-1", "out-2"} <= set().union(*(s.live_streams() for s in sims))


def test_a_classic_group_that_becomes_a_pool_does_not_start_its_standby_on_the_same_destination(
        db, session_factory, make_sim, start_manager):
    # single-stream devices (no named streams): each pushes the one output it is configured for,
    # whatever output name it is told to start — here both point at the classic output
    on_air_sim, standby_sim = make_sim("generic_http", streaming=True), make_sim("generic_http")
    url = {"url": "srt://192.0.2.1:9000"}
    group = fast_group(db, "switched")
    on_air = encoder_row(db, on_air_sim, "switched-primary", group, output=url)
    encoder_row(db, standby_sim, "switched-backup", group, role="backup", output=url)
    group.active_encoder_id = on_air.id
    db.add(EncoderOutput(name="switched", group_id=group.id, destination=url["url"],
                         assigned_encoder_id=on_air.id))  # as migrated
    db.commit()
    manager = start_manager().manager
    wait_for(lambda: len(standby_sim.state.requests) > 3 and group.id not in manager.pools)

    db.add(EncoderOutput(name="second", group_id=group.id, destination="srt://192.0.2.1:9001"))
    db.commit()  # the group is a pool now
    wait_for(lambda: group.id in manager.pools, timeout=10)
    wait_for(lambda: open_unassigned(session_factory) == {"second"}, timeout=20)
    # the standby can only push the classic output's destination: it must not be started for
    # "second" (that would be two encoders pushing srt://192.0.2.1:9000)
    polls = len(standby_sim.state.requests)
    wait_for(lambda: len(standby_sim.state.requests) > polls + 10, timeout=20)
    assert not standby_sim.state.streaming
    assert not standby_sim.state.requests_matching("/stream/start")
    assert on_air_sim.state.streaming
    assert assignment(session_factory, group.id) == {"switched": on_air.id, "second": None}


def test_a_device_that_hangs_on_start_costs_one_timeout_per_pass_not_one_per_output(
        db, session_factory, makito, start_manager):
    names = NAMES[:4]
    hung = makito("hung", names=names, base_cpu_percent=5.0)  # most headroom: the plan puts all 4 here
    spare = makito("spare", names=names, base_cpu_percent=60.0)
    hung.hang_starts = True
    group, encoders, _ = pool_group(db, [hung, spare], max_outputs=10, names=names)
    start_manager()

    placed = wait_for(lambda: carried_as_assigned(session_factory, group.id,
                                                  {encoders[0].id: hung, encoders[1].id: spare}, names),
                      timeout=30)
    assert set(placed.values()) == {encoders[1].id}
    # each unanswered start holds a pass for a whole timeout: the first one held the encoder
    # (REFUSED_HOLD_S) and the pass moved on instead of timing out once per output
    assert len(hung.state.requests_matching("/start")) == 1
    assert not hung.live_streams()


def test_a_pass_in_flight_when_the_lock_is_lost_does_not_act_or_write(db, session_factory, makito,
                                                                      start_manager, database_url):
    names = NAMES[:3]
    hung = makito("stale", names=names, base_cpu_percent=5.0)
    spare = makito("spare", names=names, base_cpu_percent=60.0)
    hung.hang_starts = True
    group, _encoders, _ = pool_group(db, [hung, spare], max_outputs=10, names=names)
    manager = start_manager("a", poll_timeout_s=30.0).manager  # its pass waits on the hung start
    wait_for(lambda: hung.state.requests_matching("/start"), timeout=20)

    # replica a loses its lock while that pass is in flight: someone else holds the group now
    other = psycopg2.connect(dsn_for(database_url))
    other.autocommit = True
    try:
        with other.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = 'castwatch-leader a'")

        def locked() -> bool:
            with other.cursor() as cur:
                cur.execute("SELECT pg_try_advisory_lock(%s, %s)", (NAMESPACE, group.id))
                return bool(cur.fetchone()[0])

        wait_for(locked, timeout=20)
        wait_for(lambda: group.id not in manager.held, timeout=20)
        hung.hang_starts = False  # the stale start is answered (refused) now
        wait_for(lambda: manager.pools[group.id].task is None, timeout=20)
        polls = len(spare.state.requests_matching("/apis/status"))
        wait_for(lambda: len(spare.state.requests_matching("/apis/status")) > polls + 5, timeout=20)
        # nothing started, audited, un-assigned or alerted by a replica that no longer controls
        assert not spare.state.requests_matching("/start")
        assert not pool_events(session_factory)
        assert not open_unassigned(session_factory)
    finally:
        other.close()


def test_an_encoder_disabled_while_carrying_outputs_stops_them_when_they_move(db, session_factory, makito,
                                                                             start_manager):
    names = NAMES[:2]
    sims = [makito(f"d{i}", names=names) for i in range(1, 3)]
    group, encoders, _ = pool_group(db, sims, max_outputs=2, names=names)
    by_id = {e.id: s for e, s in zip(encoders, sims, strict=True)}
    start_manager()
    first = wait_for(lambda: carried_as_assigned(session_factory, group.id, by_id, names), timeout=30)

    leaving_id = first["out-1"]
    leaving, staying = by_id[leaving_id], next(e for e in encoders if e.id != leaving_id)
    db.get(type(staying), leaving_id).enabled = False  # the operator takes it out of the pool
    db.commit()

    def moved() -> bool:
        now = carried_as_assigned(session_factory, group.id, {staying.id: by_id[staying.id]}, names)
        return bool(now) and set(now.values()) == {staying.id}

    wait_for(moved, timeout=30)
    # what it carried went elsewhere: it must not go on pushing the same destinations too
    wait_for(lambda: not leaving.live_streams(), timeout=20)
