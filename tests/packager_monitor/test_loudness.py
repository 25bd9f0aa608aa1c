"""The BS.1770-4 meter against EBU Tech 3341 cases and a true-peak case worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from castwatch.packager_monitor.content.loudness import (
    LoudnessHistory,
    k_weighting,
    subblock_powers,
    true_peak_dbtp,
)

RATE = 48000


def sine(dbfs: float, seconds: float, freq: float = 1000.0, channels: int = 2,
         phase: float = 0.0) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    x = 10 ** (dbfs / 20) * np.sin(2 * math.pi * freq * t + phase)
    return np.tile(x, (channels, 1))


def meter(x: np.ndarray, segment_s: float = 2.0) -> LoudnessHistory:
    """Measure in 2 s pieces, as the probe's worker processes do."""
    history = LoudnessHistory()
    step = int(RATE * segment_s)
    for start in range(0, x.shape[1], step):
        history.extend(subblock_powers(x[:, start:start + step], RATE))
    return history


def test_the_48k_filters_match_the_tables_of_bs1770():
    (b1, a1), (b2, a2) = k_weighting(48000)
    assert b1 == pytest.approx([1.53512485958697, -2.69169618940638, 1.19839281085285], abs=1e-8)
    assert a1 == pytest.approx([1.0, -1.69065929318241, 0.73248077421585], abs=1e-8)
    assert b2 == pytest.approx([1.0, -2.0, 1.0])
    assert a2 == pytest.approx([1.0, -1.99004745483398, 0.99007225036621], abs=1e-8)


@pytest.mark.parametrize("level", [-23.0, -33.0])
def test_tech3341_cases_1_and_2_stereo_1khz_sine_reads_its_level(level):
    history = meter(sine(level, 20.0))
    assert history.integrated() == pytest.approx(level, abs=0.1)
    assert history.short_term() == pytest.approx(level, abs=0.1)
    assert history.momentary() == pytest.approx(level, abs=0.1)


def test_the_absolute_gate_ignores_silence_and_the_relative_gate_quiet_parts():
    loud = sine(-23.0, 20.0)
    silence = np.zeros((2, RATE * 20))
    assert meter(np.concatenate([loud, silence], axis=1)).integrated() == pytest.approx(-23, abs=0.1)
    # Tech 3341 case 3: 10 s at -36, 60 s at -23, 10 s at -36 -> -23.0 (the -36 parts are gated)
    x = np.concatenate([sine(-36.0, 10), sine(-23.0, 60), sine(-36.0, 10)], axis=1)
    assert meter(x).integrated() == pytest.approx(-23.0, abs=0.1)


def test_a_mono_signal_counts_one_channel():
    history = meter(sine(-23.0, 10.0, channels=1))
    assert history.integrated() == pytest.approx(-26.0, abs=0.1)


def test_true_peak_finds_the_peak_between_samples():
    # a sine at fs/4 with a 45 degree phase: every sample is at +-0.707 of the crest (-3.01 dB),
    # the crest itself lies between samples; at 0 dBFS crest the true peak is 0 dBTP
    x = sine(0.0, 1.0, freq=RATE / 4, phase=math.pi / 4)
    assert 20 * math.log10(np.abs(x).max()) == pytest.approx(-3.01, abs=0.01)
    assert true_peak_dbtp(x, RATE) == pytest.approx(0.0, abs=0.3)
    assert true_peak_dbtp(sine(-6.0, 1.0), RATE) == pytest.approx(-6.0, abs=0.1)


def test_digital_silence_has_no_loudness():
    history = meter(np.zeros((2, RATE * 4)))
    assert history.integrated() is not None and history.integrated() < -100
