"""Replicas, manual commands and flapping, end to end with the real database and simulators."""

from __future__ import annotations

import time

from sqlalchemy import select

from castwatch.common.models import Alert, AlertEvent, EncoderCommand, EncoderGroup, FailoverEvent
from tests.encoder_manager.helpers import encoder_row, fast_group, wait_for


def pair(db, make_sim, kinds=("haivision_makito", "obs"), **group_kw):
    primary_sim = make_sim(kinds[0], streaming=True)
    backup_sim = make_sim(kinds[1])
    group = fast_group(db, **group_kw)
    primary = encoder_row(db, primary_sim, "primary", group)
    backup = encoder_row(db, backup_sim, "backup", group, role="backup")
    group.active_encoder_id = primary.id
    db.commit()
    return group, (primary, primary_sim), (backup, backup_sim)


def failover_events(session_factory) -> list[FailoverEvent]:
    with session_factory() as s:
        return list(s.scalars(select(FailoverEvent).order_by(FailoverEvent.id)))


def active_of(session_factory, group_id):
    with session_factory() as s:
        return s.get(EncoderGroup, group_id).active_encoder_id


def test_two_replicas_fail_over_exactly_once(db, session_factory, make_sim, start_manager):
    group, (_p, psim), (backup, bsim) = pair(db, make_sim)
    a, b = start_manager("replica-a"), start_manager("replica-b")
    wait_for(lambda: (a.manager.held | b.manager.held) >= {group.id}, timeout=10)
    assert not (a.manager.held & b.manager.held)
    psim.state.set_faults(stream_stop=True)
    wait_for(lambda: active_of(session_factory, group.id) == backup.id, timeout=20)
    time.sleep(1.0)  # give a second controller every chance to act twice
    assert len(bsim.state.requests_matching("StartStream")) == 1
    assert [e.status for e in failover_events(session_factory)] == ["succeeded"]


def test_the_other_replica_takes_over_when_the_controller_stops(db, session_factory, make_sim, start_manager):
    group, (_p, psim), (backup, _bsim) = pair(db, make_sim)
    first = start_manager("first")
    wait_for(lambda: group.id in first.manager.held, timeout=10)
    second = start_manager("second")
    time.sleep(0.5)
    assert group.id not in second.manager.held
    first.stop()
    wait_for(lambda: group.id in second.manager.held, timeout=10)
    psim.state.set_faults(stream_stop=True)
    wait_for(lambda: active_of(session_factory, group.id) == backup.id, timeout=20)


def command(session_factory, encoder_id, action, who="alice") -> int:
    with session_factory() as s, s.begin():
        cmd = EncoderCommand(encoder_id=encoder_id, action=action, requested_by=who)
        s.add(cmd)
        s.flush()
        return cmd.id


def finished(session_factory, command_id):
    with session_factory() as s:
        cmd = s.get(EncoderCommand, command_id)
        return cmd if cmd.status in ("done", "failed") else None


def test_a_manual_failover_command_switches_and_is_audited(db, session_factory, make_sim, start_manager):
    group, (primary, psim), (backup, bsim) = pair(db, make_sim, ("generic_http", "blackmagic"))
    start_manager()
    wait_for(lambda: len(bsim.state.requests) > 2)
    cid = command(session_factory, backup.id, "failover", "alice")
    cmd = wait_for(lambda: finished(session_factory, cid), timeout=20)
    assert cmd.status == "done" and "backup" in cmd.result
    assert active_of(session_factory, group.id) == backup.id
    assert bsim.state.streaming and not psim.state.streaming
    [event] = failover_events(session_factory)
    assert (event.kind, event.actor, event.status, event.to_encoder_id) == ("manual", "alice", "succeeded",
                                                                             backup.id)


def test_start_and_stop_commands_reach_the_device(db, session_factory, make_sim, start_manager):
    sim = make_sim("matrox_monarch")
    enc = encoder_row(db, sim, "solo")
    db.commit()
    start_manager()
    cid = command(session_factory, enc.id, "start", "bob")
    assert wait_for(lambda: finished(session_factory, cid), timeout=20).status == "done"
    assert sim.state.streaming
    cid = command(session_factory, enc.id, "stop", "bob")
    assert wait_for(lambda: finished(session_factory, cid), timeout=20).result == "stopped"
    assert not sim.state.streaming


def test_a_command_the_device_refuses_is_marked_failed(db, session_factory, make_sim, start_manager):
    sim = make_sim("matrox_monarch")
    sim.state.set_faults(retry_storm=True)
    enc = encoder_row(db, sim, "stormy")
    db.commit()
    start_manager()
    cid = command(session_factory, enc.id, "start")
    cmd = wait_for(lambda: finished(session_factory, cid), timeout=20)
    assert cmd.status == "failed" and "RETRY" in cmd.result


def test_a_manual_stop_is_noted_on_the_encoders_open_alert(db, session_factory, make_sim, start_manager):
    sim = make_sim("aja_helo", streaming=True)
    enc = encoder_row(db, sim, "noted")
    db.commit()
    start_manager()
    sim.state.set_faults(stream_stop=True)

    def alert():
        with session_factory() as s:
            return s.scalars(select(Alert).where(Alert.alert_type == "ENCODER_STREAM_DOWN")).first()

    found = wait_for(alert, timeout=20)
    cid = command(session_factory, enc.id, "stop", "carol")
    wait_for(lambda: finished(session_factory, cid), timeout=20)
    with session_factory() as s:
        notes = s.scalars(select(AlertEvent).where(AlertEvent.alert_id == found.id,
                                                   AlertEvent.kind == "note")).all()
    assert [n.actor for n in notes] == ["carol"]


def test_a_seeded_flapping_pair_switches_at_most_once_per_hold_time(db, session_factory, make_sim,
                                                                    start_manager):
    group, (_p, psim), (_b, bsim) = pair(db, make_sim, ("generic_http", "haivision_makito"),
                                         min_switch_interval_s=30.0)
    psim.state.set_faults(flapping=0.6, seed=3)
    bsim.state.set_faults(flapping=0.6, seed=4)
    start_manager()
    deadline = time.monotonic() + 4.0
    while time.monotonic() < deadline:
        time.sleep(0.2)
    events = failover_events(session_factory)
    assert len([e for e in events if e.status == "succeeded"]) <= 1


def test_without_a_healthy_backup_failover_failed_is_raised(db, session_factory, make_sim, start_manager):
    group, (_p, psim), (_b, bsim) = pair(db, make_sim, ("obs", "aja_helo"))
    bsim.state.set_faults(hang=True)
    start_manager()
    psim.state.set_faults(stream_stop=True)

    def failed_alert():
        with session_factory() as s:
            return s.scalars(select(Alert).where(Alert.alert_type == "FAILOVER_FAILED",
                                                 Alert.state != "resolved")).first()

    alert = wait_for(failed_alert, timeout=20)
    assert alert.subject == group.name and alert.severity == "critical"
