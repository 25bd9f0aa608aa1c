"""The failover policy as a pure function of state, member health and time."""

from __future__ import annotations

import random

from castwatch.encoder_manager.policy import (
    FAILOVER_ACTIVATED,
    FAILOVER_FAILED,
    GroupPolicy,
    GroupState,
    Member,
    MemberView,
    decide,
    request_switch,
)

P, B1, B2 = 1, 2, 3
MEMBERS = [Member(P, "primary"), Member(B1, "backup-1", "backup", 1), Member(B2, "backup-2", "backup", 2)]
POLICY = GroupPolicy(failure_threshold=3, verify_timeout_s=5, failback_hold_s=30, min_switch_interval_s=30)


def live(since: float = 0.0) -> MemberView:
    return MemberView(reachable=True, live=True, ok=True, healthy_since=since, seen=True)


def standby(since: float = 0.0) -> MemberView:
    return MemberView(reachable=True, live=False, ok=True, healthy_since=since, seen=True)


def failing(n: int) -> MemberView:
    return MemberView(reachable=False, ok=False, consecutive_failures=n, seen=True)


def ops(actions) -> list[tuple[str, int | None, str | None]]:
    return [(a.op, a.encoder_id, a.alert_type) for a in actions]


def test_the_first_decision_records_the_live_member_as_active():
    state, actions = decide(POLICY, MEMBERS, {P: standby(), B1: live()}, GroupState(), 0.0)
    assert state.active_id == B1 and ops(actions) == [("set_active", B1, None)]


def test_it_waits_for_the_threshold_of_consecutive_failures():
    state = GroupState(active_id=P)
    views = {P: failing(2), B1: standby(), B2: standby()}
    assert decide(POLICY, MEMBERS, views, state, 10.0) == (state, [])


def test_it_starts_the_best_backup_after_three_failures():
    state, actions = decide(POLICY, MEMBERS, {P: failing(3), B1: standby(), B2: standby()},
                            GroupState(active_id=P), 10.0)
    assert state.phase == "verifying" and state.candidate_id == B1 and state.from_id == P
    assert ops(actions) == [("event_started", B1, None), ("start", B1, None)]


def test_an_unreachable_backup_is_skipped():
    views = {P: failing(3), B1: failing(1), B2: standby()}
    state, _ = decide(POLICY, MEMBERS, views, GroupState(active_id=P), 10.0)
    assert state.candidate_id == B2


def test_a_verified_backup_becomes_active_and_the_primary_is_parked():
    verifying, _ = decide(POLICY, MEMBERS, {P: failing(3), B1: standby(), B2: standby()},
                          GroupState(active_id=P), 10.0)
    state, actions = decide(POLICY, MEMBERS, {P: failing(4), B1: live(), B2: standby()}, verifying, 11.0)
    assert state.active_id == B1 and state.phase == "steady" and state.redundancy_lost
    assert ops(actions) == [("set_active", B1, None), ("event_finished", B1, None), ("stop", P, None),
                            ("raise", None, FAILOVER_ACTIVATED)]


def test_a_backup_that_never_goes_live_is_stopped_and_the_next_one_tried():
    verifying, _ = decide(POLICY, MEMBERS, {P: failing(3), B1: standby(), B2: standby()},
                          GroupState(active_id=P), 10.0)
    views = {P: failing(8), B1: standby(), B2: standby()}
    assert decide(POLICY, MEMBERS, views, verifying, 14.0)[1] == []  # still within verify timeout
    state, actions = decide(POLICY, MEMBERS, views, verifying, 15.0)
    assert ops(actions) == [("event_finished", B1, None), ("stop", B1, None),
                            ("raise", None, FAILOVER_FAILED), ("event_started", B2, None),
                            ("start", B2, None)]
    assert state.candidate_id == B2 and state.failover_failed


def test_a_refused_start_moves_on_without_waiting_for_the_timeout():
    verifying, _ = decide(POLICY, MEMBERS, {P: failing(3), B1: standby(), B2: standby()},
                          GroupState(active_id=P), 10.0)
    refused = MemberView(reachable=True, ok=True, start_failed=True, seen=True)
    state, _ = decide(POLICY, MEMBERS, {P: failing(4), B1: refused, B2: standby()}, verifying, 10.5)
    assert state.candidate_id == B2


def test_when_every_backup_fails_it_stays_and_raises_failover_failed():
    two = MEMBERS[:2]
    verifying, _ = decide(POLICY, two, {P: failing(3), B1: standby()}, GroupState(active_id=P), 10.0)
    state, actions = decide(POLICY, two, {P: failing(9), B1: standby()}, verifying, 16.0)
    assert state.phase == "steady" and state.active_id == P and state.last_switch_at == 16.0
    assert ("raise", None, FAILOVER_FAILED) in ops(actions)


def test_no_healthy_standby_raises_failover_failed_once():
    views = {P: failing(3), B1: failing(3), B2: failing(3)}
    state, actions = decide(POLICY, MEMBERS, views, GroupState(active_id=P), 10.0)
    assert ops(actions) == [("raise", None, FAILOVER_FAILED)]
    again = decide(POLICY, MEMBERS, views | {P: failing(40)}, state, 50.0)[1]
    assert FAILOVER_FAILED not in [a.alert_type for a in again if a.op == "raise"]


def test_it_never_switches_twice_within_the_switch_interval():
    state = GroupState(active_id=B1, last_switch_at=100.0)
    views = {P: standby(), B1: failing(5), B2: standby()}
    assert decide(POLICY, MEMBERS, views, state, 120.0)[1] == []
    assert decide(POLICY, MEMBERS, views, state, 130.0)[0].phase == "verifying"


def test_equal_preference_never_fails_back():
    state = GroupState(active_id=B1, last_switch_at=0.0)
    assert decide(POLICY, MEMBERS, {P: standby(0.0), B1: live(), B2: standby()}, state, 500.0)[1] == []


def test_primary_preferred_fails_back_after_the_hold_time_and_restores_redundancy():
    policy = GroupPolicy(preference="primary_preferred", failback_hold_s=30, min_switch_interval_s=30)
    state = GroupState(active_id=B1, last_switch_at=0.0, redundancy_lost=True)
    views = {P: standby(100.0), B1: live(), B2: failing(2)}
    assert decide(policy, MEMBERS[:2], views, state, 120.0)[0].phase == "steady"
    verifying, first = decide(policy, MEMBERS[:2], views, state, 131.0)
    assert verifying.kind == "failback" and ("start", P, None) in ops(first)
    done, second = decide(policy, MEMBERS[:2], views | {P: live()}, verifying, 132.0)
    assert done.active_id == P and not done.redundancy_lost
    assert ("stop", B1, None) in ops(second)
    assert ("clear", None, FAILOVER_ACTIVATED) in ops(first + second)


def test_redundancy_comes_back_when_a_standby_has_been_healthy_for_the_hold_time():
    state = GroupState(active_id=B1, last_switch_at=0.0, redundancy_lost=True)
    two = MEMBERS[:2]
    assert decide(POLICY, two, {P: standby(100.0), B1: live()}, state, 110.0)[1] == []
    state, actions = decide(POLICY, two, {P: standby(100.0), B1: live()}, state, 131.0)
    assert ops(actions) == [("clear", None, FAILOVER_ACTIVATED)] and not state.redundancy_lost


def test_a_predicted_overheat_moves_the_output_preemptively():
    hot = MemberView(reachable=True, live=True, ok=True, overheat_predicted=True, seen=True)
    state, _ = decide(POLICY, MEMBERS, {P: hot, B1: standby(), B2: standby()}, GroupState(active_id=P), 5.0)
    assert state.phase == "verifying" and state.kind == "preemptive"


def test_a_cooling_encoder_is_not_a_candidate():
    cooling = MemberView(reachable=True, ok=True, cooling=True, seen=True)
    views = {P: failing(3), B1: cooling, B2: standby()}
    state, _ = decide(POLICY, MEMBERS, views, GroupState(active_id=P), 5.0)
    assert state.candidate_id == B2


def test_disabled_failover_only_watches():
    policy = GroupPolicy(failover_enabled=False)
    assert decide(policy, MEMBERS, {P: failing(9), B1: standby()}, GroupState(active_id=P), 5.0)[1] == []


def test_a_manual_switch_ignores_the_switch_interval_and_records_the_actor():
    state = GroupState(active_id=P, last_switch_at=99.0)
    new, actions = request_switch(state, MEMBERS, {P: live(), B1: standby(), B2: standby()}, B2,
                                  kind="manual", actor="alice", reason="maintenance", now=100.0)
    assert new.candidate_id == B2 and new.actor == "alice" and new.kind == "manual"
    assert ("start", B2, None) in ops(actions)


def test_seeded_stream_blips_shorter_than_the_threshold_never_fail_over():
    rng = random.Random(7)
    state, switches, failures = GroupState(active_id=P), 0, 0
    for t in range(600):
        # blips of 1–2 bad polls, never 3 in a row
        bad = failures < 2 and rng.random() < 0.4
        failures = failures + 1 if bad else 0
        views = {P: failing(failures) if bad else live(), B1: standby(), B2: standby()}
        state, actions = decide(POLICY, MEMBERS, views, state, float(t))
        switches += sum(1 for a in actions if a.op == "event_started")
    assert switches == 0


def test_a_truly_flapping_group_switches_at_most_once_per_interval():
    rng = random.Random(11)
    state = GroupState(active_id=P)
    fails = {P: 0, B1: 0, B2: 0}
    switched_at: list[float] = []
    for t in range(600):
        views = {}
        for eid in fails:
            bad = rng.random() < 0.5
            fails[eid] = fails[eid] + 1 if bad else 0
            is_active = eid == state.active_id or eid == state.candidate_id
            views[eid] = failing(fails[eid]) if bad else (live() if is_active else standby())
        state, actions = decide(POLICY, MEMBERS, views, state, float(t))
        switched_at += [float(t) for a in actions if a.op == "set_active"]
    switches = switched_at
    gaps = [b - a for a, b in zip(switches, switches[1:], strict=False)]
    assert switches and all(g >= POLICY.min_switch_interval_s for g in gaps)


def test_among_equal_backups_the_one_with_most_headroom_is_started():
    members = [Member(P, "primary"), Member(B1, "warm", "backup", 1), Member(B2, "cool", "backup", 1)]
    views = {P: failing(3), B1: MemberView(reachable=True, ok=True, seen=True, headroom=0.2),
             B2: MemberView(reachable=True, ok=True, seen=True, headroom=0.7)}
    state, _ = decide(POLICY, members, views, GroupState(active_id=P), 10.0)
    assert state.candidate_id == B2
