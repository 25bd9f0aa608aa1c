from __future__ import annotations

from castwatch.common.hysteresis import ConditionTracker, Debounce


def test_a_condition_raises_only_after_it_held_and_clears_after_the_hold():
    t: ConditionTracker[str] = ConditionTracker(Debounce(raise_after_s=2, clear_after_s=5))
    assert t.observe("k", True, 0) is None
    assert t.observe("k", True, 1) is None
    assert t.observe("k", True, 2) == "raise"
    assert t.observe("k", True, 3) is None
    assert t.observe("k", False, 4) is None
    assert t.observe("k", True, 5) is None  # flapped back: the clear hold restarts
    assert t.observe("k", False, 6) is None
    assert t.observe("k", False, 10) is None
    assert t.observe("k", False, 11) == "clear"
    assert not t.is_active("k")


def test_a_single_blip_never_raises_when_a_count_is_required():
    t: ConditionTracker[str] = ConditionTracker(Debounce(raise_after_count=3, clear_after_s=0))
    assert [t.observe("k", b, i) for i, b in enumerate([True, True, False, True, True, True])] == [
        None, None, None, None, None, "raise"]
