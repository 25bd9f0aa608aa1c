"""The simulated origin's model, driven by a fake clock: timing and every fault."""

from __future__ import annotations

import pytest

from castwatch.packager_monitor.hls import parse_media
from castwatch.simulators.origin import render
from castwatch.simulators.origin.model import FaultError, OriginModel, SimConfig


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def clock() -> Clock:
    return Clock()


@pytest.fixture()
def model(clock: Clock) -> OriginModel:
    return OriginModel(SimConfig(channels=2, segment_s=2.0, window=5), clock)


def playlist(model: OriginModel, rendition: str = "720p", code: str = "CH_SIM_001"):
    return parse_media(render.media(model, code, model.rendition(code, rendition)))


def test_channels_start_with_a_full_window_and_advance_one_segment_per_duration(model, clock):
    p = playlist(model)
    assert (p.media_sequence, len(p.segments), p.target_duration) == (0, 5, 2)
    clock.now += 4.1
    p = playlist(model)
    assert (p.media_sequence, p.last_sequence) == (2, 6)


def test_a_stall_freezes_one_rendition_and_recovery_catches_up_without_a_gap(model, clock):
    model.set_fault("CH_SIM_001", "720p", "stall")
    clock.now += 10
    assert playlist(model).last_sequence == 4
    assert playlist(model, "1080p").last_sequence == 9
    model.clear_fault("CH_SIM_001", "720p", "stall")
    assert playlist(model).last_sequence == 9


def test_skip_and_reset_renumber_the_window(model):
    model.set_fault("CH_SIM_001", "720p", "skip_sequence", 20)
    assert playlist(model).media_sequence == 20
    model.set_fault("CH_SIM_001", "720p", "reset_sequence")
    assert playlist(model).media_sequence == 0 and playlist(model).segments[0].uri == "seg_0.ts"
    assert model.snapshot() == []  # one-shot faults leave nothing active


def test_a_reset_goes_backwards_even_right_after_start_when_the_origin_starts_high(clock):
    young = OriginModel(SimConfig(channels=1, segment_s=1.0, window=6, start_sequence=1000), clock)
    before = playlist(young).media_sequence
    young.set_fault("CH_SIM_001", "720p", "reset_sequence")
    assert before == 1000 and playlist(young).media_sequence == 0


def test_extinf_over_target_and_uncounted_discontinuities_mark_only_new_segments(model, clock):
    model.set_fault("CH_SIM_001", None, "extinf_over_target", 1.5)
    model.set_fault("CH_SIM_001", "720p", "discontinuity_no_bump")
    clock.now += 4
    p = playlist(model)
    assert [s.duration for s in p.segments] == [2.0, 2.0, 2.0, 3.5, 3.5]
    assert [s.discontinuity for s in p.segments] == [False, False, False, True, False]
    clock.now += 20
    assert playlist(model).discontinuity_sequence == 0  # never bumped: that is the fault
    model.clear_fault("CH_SIM_001")
    clock.now += 20
    assert all(s.duration == 2.0 for s in playlist(model).segments)


def test_a_dropped_rendition_leaves_the_master(model):
    model.set_fault("CH_SIM_002", "360p", "drop_rendition")
    assert "360p/index.m3u8" not in render.master(model, "CH_SIM_002")
    assert "360p/index.m3u8" in render.master(model, "CH_SIM_001")


def test_unknown_channels_renditions_and_faults_are_refused(model):
    with pytest.raises(FaultError, match="unknown channel"):
        model.set_fault("CH_NOPE", None, "stall")
    with pytest.raises(FaultError, match="unknown channel/rendition"):
        model.set_fault("CH_SIM_001", "4320p", "stall")
    with pytest.raises(FaultError, match="unknown fault"):
        model.set_fault("CH_SIM_001", None, "explode")
