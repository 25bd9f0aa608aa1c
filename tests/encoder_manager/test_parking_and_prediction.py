"""Confirmed parking, trusted overheat predictions and cool-down as a preference: pure functions."""

from __future__ import annotations

import random

from castwatch.encoder_manager import parking
from castwatch.encoder_manager.health import EncoderHealth, Thresholds, fit
from castwatch.encoder_manager.parking import Observed, Park
from castwatch.encoder_manager.policy import GroupPolicy, GroupState, Member, MemberView, decide
from castwatch.encoder_manager.sample import HealthSample

NAMES = {1: "primary", 2: "backup"}
HUNG = Observed(seen=True, reachable=False, at=100.0)


def test_a_stop_to_a_hung_encoder_is_retried_with_back_off():
    parks = parking.request({}, 1, 0.0)
    parks = parking.stop_failed(parks, 1, "DriverTimeout: no answer")
    sent = []
    for t in range(0, 40):
        parks, actions = parking.plan(parks, {1: Observed(seen=True, reachable=False, at=float(t))}, {2},
                                      float(t), NAMES)
        sent += [t for a in actions if a.op == "stop"]
        assert not [a for a in actions if a.op == "raise"]  # unreachable is not "live"
    assert sent[:4] == [1, 3, 7, 15]  # 1, 2, 4, 8 s apart
    assert 1 in parks


def test_an_encoder_that_answers_still_streaming_is_alerted_and_stopped_at_once():
    parks = parking.stop_failed(parking.request({}, 1, 0.0), 1, "DriverTimeout: no answer")
    parks, actions = parking.plan(parks, {1: HUNG}, {2}, 0.5, NAMES)
    assert actions == []
    back = Observed(seen=True, reachable=True, live=True, at=0.6)
    parks, actions = parking.plan(parks, {1: back}, {2}, 0.7, NAMES)
    assert [a.op for a in actions] == ["raise", "stop"]
    assert "still streaming" in actions[0].summary and "DriverTimeout" in actions[0].summary
    # the reply to the poll sent before that stop says nothing yet
    parks, actions = parking.plan(parks, {1: Observed(seen=True, reachable=True, at=0.65)}, {2}, 0.8, NAMES)
    assert actions == [] and parks[1].alerted
    parks, actions = parking.plan(parks, {1: Observed(seen=True, reachable=True, at=0.9)}, {2}, 1.0, NAMES)
    assert [(a.op, a.encoder_id) for a in actions] == [("clear", 1)] and parks == {}


def test_an_encoder_wanted_on_air_again_is_no_longer_parked():
    parks = {1: Park(since=0.0, attempts=2, alerted=True)}
    parks, actions = parking.plan(parks, {1: Observed(seen=True, reachable=True, live=True, at=5)}, {1},
                                  6.0, NAMES)
    assert parks == {} and [a.op for a in actions] == ["clear"]


def test_a_new_controller_parks_a_standby_it_finds_streaming():
    seen = {1: Observed(seen=True, reachable=True, live=True, at=1.0),
            2: Observed(seen=True, reachable=True, live=True, at=1.0)}
    parks = parking.adopt_live({}, seen, {2}, [1, 2], 2.0)
    parks, actions = parking.plan(parks, seen, {2}, 2.0, NAMES)
    assert [(a.op, a.encoder_id) for a in actions] == [("raise", 1), ("stop", 1)]


def test_an_unconfirmed_parked_encoder_is_never_a_healthy_standby():
    members = [Member(1, "primary"), Member(2, "backup", "backup")]
    failing = MemberView(reachable=False, consecutive_failures=3, seen=True)
    parked = MemberView(reachable=True, live=False, ok=True, healthy_since=0.0, seen=True, parking=True)
    state, actions = decide(GroupPolicy(), members, {1: failing, 2: parked}, GroupState(active_id=1), 100.0)
    assert state.phase == "steady" and [a.alert_type for a in actions] == ["FAILOVER_FAILED"]


# -- predictions -----------------------------------------------------------------------------

def feed(h: EncoderHealth, temps: list[float], th: Thresholds, start: float = 0.0, step: float = 1.0):
    out = []
    for i, temp in enumerate(temps):
        a = h.assess(HealthSample(reachable=True, state="live", temperature_c=temp), start + i * step, th,
                     expect_live=True)
        out.append(a)
    return out


def test_one_noisy_reading_after_a_flat_stretch_predicts_nothing():
    th = Thresholds(temperature_max_c=75)
    h = EncoderHealth()
    # 20 s of flat 70 °C then 71 °C: the reported incident
    a = feed(h, [70.0] * 20 + [71.0], th)[-1]
    assert a.overheat_predicted_in_s is None
    # and after more than the minimum span too: the fit explains almost nothing
    h = EncoderHealth()
    a = feed(h, [70.0] * 150 + [71.0], th)[-1]
    assert a.overheat_predicted_in_s is None and not h.overheat_predicted(th)


def test_a_real_rise_over_the_minimum_span_is_predicted_and_confirmed_after_several_polls():
    th = Thresholds(temperature_max_c=75, overheat_min_span_s=120, overheat_confirm_polls=3)
    h = EncoderHealth()
    temps = [50 + i * 0.05 for i in range(125)]  # +3 °C/min: 75 °C in ~6 min
    assessments = feed(h, temps, th)
    first = next(i for i, a in enumerate(assessments) if a.overheat_predicted_in_s is not None)
    assert first == 120  # not before two minutes of history
    assert not h.overheat_predicted(th) or len(assessments) - first >= 3
    assert h.overheat_predicted(th)


def test_the_fit_measures_how_well_the_trend_explains_the_readings():
    line = [(float(t), 50 + 0.1 * t) for t in range(20)]
    assert fit(line) is not None and fit(line)[1] > 0.99
    noisy = [(float(t), 70.0 + (1.0 if t == 19 else 0.0)) for t in range(20)]
    assert fit(noisy)[1] < 0.3


def test_temperature_noise_for_ten_minutes_never_switches():
    rng = random.Random(3)
    th = Thresholds()
    members = [Member(1, "primary"), Member(2, "backup", "backup")]
    healths = {1: EncoderHealth(), 2: EncoderHealth()}
    state = GroupState(active_id=1)
    switches = 0
    for t in range(600):
        temp = 70 + rng.choice((-1, 0, 0, 1)) + rng.uniform(-0.4, 0.4)
        views = {}
        for eid, h in healths.items():
            sample = HealthSample(reachable=True, state="live" if eid == state.active_id else "idle",
                                  temperature_c=temp if eid == 1 else 50.0)
            a = h.assess(sample, float(t), th, expect_live=eid == state.active_id)
            views[eid] = MemberView(reachable=True, live=sample.live, ok=a.ok, healthy_since=h.healthy_since,
                                    consecutive_failures=h.consecutive_failures, seen=True,
                                    overheat_predicted=h.overheat_predicted(th))
        state, actions = decide(GroupPolicy(), members, views, state, float(t))
        switches += sum(1 for a in actions if a.op == "event_started")
    assert switches == 0


# -- cool-down is a preference ------------------------------------------------------------------

def test_the_only_standby_takes_over_even_while_cooling_when_the_air_fails():
    members = [Member(1, "primary"), Member(2, "backup", "backup")]
    cooling = MemberView(reachable=True, live=False, ok=True, healthy_since=0.0, seen=True, cooling=True)
    down = MemberView(reachable=True, live=False, ok=False, consecutive_failures=3, seen=True)
    state, actions = decide(GroupPolicy(), members, {1: cooling, 2: down}, GroupState(active_id=2), 100.0)
    assert state.phase == "verifying" and state.candidate_id == 1
    assert ("start", 1) in [(a.op, a.encoder_id) for a in actions]


def test_a_cooling_standby_is_not_used_for_a_preemptive_move_or_picked_before_a_cool_one():
    members = [Member(1, "primary"), Member(2, "backup", "backup"), Member(3, "spare", "backup", 5)]
    cooling = MemberView(reachable=True, ok=True, healthy_since=0.0, seen=True, cooling=True)
    cool = MemberView(reachable=True, ok=True, healthy_since=0.0, seen=True)
    hot = MemberView(reachable=True, live=True, ok=True, seen=True, overheat_predicted=True)
    state, _ = decide(GroupPolicy(), members[:2], {1: hot, 2: cooling}, GroupState(active_id=1), 100.0)
    assert state.phase == "steady"
    down = MemberView(reachable=True, ok=False, consecutive_failures=3, seen=True)
    state, _ = decide(GroupPolicy(), members, {1: down, 2: cooling, 3: cool}, GroupState(active_id=1), 100.0)
    assert state.candidate_id == 3
