"""Lenient parsing, rates from counters, thresholds, predictions, instability: pure functions."""

from __future__ import annotations

import pytest

from castwatch.encoder_manager.health import (
    CPU_HIGH,
    DROPPED_FRAMES,
    LINK_ERRORS,
    OVERHEAT,
    STREAM_DOWN,
    UNREACHABLE,
    EncoderHealth,
    Thresholds,
    slope,
)
from castwatch.encoder_manager.sample import HealthSample, LinkStats, parse_int, parse_number


@pytest.mark.parametrize(("raw", "expected"), [
    ("2,954", 2954.0), ("0 kbps", 0.0), ("45.5 C", 45.5), ("37 %", 37.0), (12, 12.0),
    ("N/A", None), ("", None), (None, None), (True, None), (float("nan"), None), ("-3", -3.0),
])
def test_numbers_are_parsed_leniently(raw, expected):
    assert parse_number(raw) == expected


def test_parse_int_truncates():
    assert parse_int("1,000.9 frames") == 1000


def test_a_sample_rejects_an_unknown_state():
    with pytest.raises(ValueError):
        HealthSample(reachable=True, state="on-fire")


def live(**kw) -> HealthSample:
    return HealthSample(reachable=True, state="live", **kw)


def test_counter_rates_skip_a_reset_instead_of_going_negative():
    h = EncoderHealth()
    assert h.rate("dropped", 100, 0.0) is None
    assert h.rate("dropped", 110, 1.0) == 10.0
    assert h.rate("dropped", 3, 2.0) is None  # reset
    assert h.rate("dropped", 5, 3.0) == 2.0


def test_a_healthy_live_sample_raises_nothing():
    a = EncoderHealth().assess(live(temperature_c=50, cpu_percent=40), 0.0, Thresholds(), expect_live=True)
    assert a.ok
    assert not any(c.bad for c in a.conditions.values())


def test_unreachable_is_bad_and_other_conditions_are_not_judged():
    a = EncoderHealth().assess(HealthSample.unreachable("timeout"), 0.0, Thresholds(), expect_live=True)
    assert a.conditions[UNREACHABLE].bad and not a.ok
    assert OVERHEAT not in a.conditions


def test_stream_down_only_when_the_encoder_should_be_live_or_failed():
    idle = HealthSample(reachable=True, state="idle")
    assert EncoderHealth().assess(idle, 0.0, Thresholds(), expect_live=True).conditions[STREAM_DOWN].bad
    standby = EncoderHealth().assess(idle, 0.0, Thresholds(), expect_live=False)
    assert not standby.conditions[STREAM_DOWN].bad and standby.ok
    failed = HealthSample(reachable=True, state="failed")
    assert EncoderHealth().assess(failed, 0.0, Thresholds(), expect_live=False).conditions[STREAM_DOWN].bad


def test_thresholds_come_from_defaults_then_group_then_encoder():
    th = Thresholds.merged({"cpu_max_percent": 80, "bogus": 1}, {"cpu_max_percent": 70, "clear_after_s": "x"})
    assert th.cpu_max_percent == 70.0 and th.clear_after_s == Thresholds().clear_after_s
    a = EncoderHealth().assess(live(cpu_percent=75), 0.0, th, expect_live=True)
    assert a.conditions[CPU_HIGH].bad


def test_dropped_frames_are_judged_by_rate():
    h, th = EncoderHealth(), Thresholds(drop_rate_max_per_s=1.0)
    h.assess(live(frames_dropped=0), 0.0, th, expect_live=True)
    a = h.assess(live(frames_dropped=50), 1.0, th, expect_live=True)
    assert a.conditions[DROPPED_FRAMES].bad and a.conditions[DROPPED_FRAMES].severity == "major"
    assert a.rates["drop_rate"] == 50.0


def test_a_rising_drop_trend_warns_before_the_limit():
    h, th = EncoderHealth(), Thresholds(drop_rate_max_per_s=10.0)
    drops, t = 0, 0.0
    a = None
    for rate in (0, 1, 2, 3, 4, 5, 6, 7):
        drops += rate
        t += 1.0
        a = h.assess(live(frames_dropped=drops), t, th, expect_live=True)
    assert a is not None
    cond = a.conditions[DROPPED_FRAMES]
    assert cond.bad and cond.severity == "minor"


def test_link_errors_from_loss_rate_or_rtt():
    h, th = EncoderHealth(), Thresholds()
    h.assess(live(link=LinkStats(lost=0, rtt_ms=10)), 0.0, th, expect_live=True)
    a = h.assess(live(link=LinkStats(lost=100, rtt_ms=10)), 1.0, th, expect_live=True)
    assert a.conditions[LINK_ERRORS].bad
    slow = EncoderHealth().assess(live(link=LinkStats(rtt_ms=900)), 0.0, th, expect_live=True)
    assert slow.conditions[LINK_ERRORS].bad


def test_overheat_is_critical_over_the_limit_and_minor_when_predicted():
    th = Thresholds(temperature_max_c=75, overheat_predict_minutes=10)
    hot = EncoderHealth().assess(live(temperature_c=80), 0.0, th, expect_live=True)
    assert hot.conditions[OVERHEAT].bad and hot.conditions[OVERHEAT].severity == "critical"
    h = EncoderHealth()
    a = None
    # +0.05 °C/s from 60 °C over the two minutes a prediction needs: 75 °C ~170 s after the last
    for i in range(130):
        a = h.assess(live(temperature_c=60 + i * 0.05), float(i), th, expect_live=True)
    assert a is not None and a.overheat_predicted_in_s is not None
    assert 100 < a.overheat_predicted_in_s < 200
    assert a.conditions[OVERHEAT].bad and a.conditions[OVERHEAT].severity == "minor"


def test_a_steady_temperature_predicts_nothing():
    h, th = EncoderHealth(), Thresholds()
    for i in range(10):
        a = h.assess(live(temperature_c=60), float(i), th, expect_live=True)
    assert a.overheat_predicted_in_s is None and not a.conditions[OVERHEAT].bad


def test_slope_needs_three_points():
    assert slope([(0, 1), (1, 2)]) is None
    assert slope([(0, 0), (1, 2), (2, 4)]) == pytest.approx(2.0)


def test_instability_grows_with_flaps_and_decays_over_time():
    h, th = EncoderHealth(), Thresholds(instability_window_s=300)
    for i in range(6):
        sample = live() if i % 2 == 0 else HealthSample(reachable=True, state="idle")
        h.assess(sample, float(i), th, expect_live=True)
    noisy = h.instability(6.0, th.instability_window_s)
    assert noisy >= 20
    assert h.instability(200.0, th.instability_window_s) < noisy
    assert h.instability(1000.0, th.instability_window_s) == 0.0


def test_consecutive_failures_and_healthy_since_track_the_role():
    h, th = EncoderHealth(), Thresholds()
    for t in range(3):
        h.assess(HealthSample.unreachable("x"), float(t), th, expect_live=True)
    assert h.consecutive_failures == 3 and h.healthy_since is None
    h.assess(live(), 3.0, th, expect_live=True)
    h.assess(live(), 4.0, th, expect_live=True)
    assert h.consecutive_failures == 0 and h.healthy_since == 3.0
