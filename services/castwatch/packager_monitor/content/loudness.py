"""Loudness per ITU-R BS.1770-4 (EBU R128 / ATSC A/85) and true peak, with numpy + scipy.

The meter is split in two so that segments can be measured in separate worker processes:

- :func:`subblock_powers` (worker side) K-weights a segment's samples (BS.1770-4 §2.1, the
  shelving "pre-filter" and the RLB high-pass, two biquads) and returns the channel-weighted
  mean square (§2.3, weights G: 1.0 for L/R/C, 1.41 for the surrounds, LFE excluded) of each
  100 ms sub-block. A 400 ms gating block with 75 % overlap (§2.4) is then the mean of four
  consecutive sub-blocks, so no sample needs to travel back to the event loop.
- :class:`LoudnessHistory` (event-loop side) keeps the sub-block powers of the last
  ``window_s`` seconds and answers momentary (400 ms), short-term (3 s, EBU Tech 3341) and
  integrated loudness over the window with the absolute (−70 LUFS) and relative (−10 LU)
  gates of §2.5.

Each segment is filtered from a zero state: the filters settle within a few milliseconds
(the high-pass corner is 38 Hz), so the error at a segment boundary is far below 0.1 LU for
programme material. True peak (BS.1770-4 Annex 2) oversamples 4x (at rates below 96 kHz)
with a 48-tap polyphase interpolation FIR (12 taps per phase, the length of the Annex 2
example; a Hamming-windowed sinc here) and takes the largest absolute value, in dBTP.
"""

from __future__ import annotations

import math
from collections import deque
from functools import lru_cache

import numpy as np
from scipy.signal import firwin, lfilter, upfirdn

SUBBLOCK_S = 0.1
#: Levels below this are "minus infinity" (a digital silence has no loudness).
FLOOR_LUFS = -120.0
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0


def k_weighting(rate: int) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """(b, a) of the two K-weighting stages at ``rate`` Hz.

    BS.1770-4 Tables 1 and 2 give the coefficients at 48 kHz; other rates use the analogue
    prototypes those tables were derived from (bilinear transform of a high shelf at
    1681.97 Hz, +3.9998 dB, Q 0.7072, and a second-order high-pass at 38.135 Hz, Q 0.5003),
    which reproduce the 48 kHz table to 1e-9.
    """
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / rate)
    vh = 10 ** (gain_db / 20)
    vb = vh ** 0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf_b = np.array([(vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0,
                        (vh - vb * k / q + k * k) / a0])
    shelf_a = np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0])
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / rate)
    d = 1 + k / q + k * k
    hp_b = np.array([1.0, -2.0, 1.0])
    hp_a = np.array([1.0, 2 * (k * k - 1) / d, (1 - k / q + k * k) / d])
    return (shelf_b, shelf_a), (hp_b, hp_a)


def channel_weights(channels: int) -> np.ndarray:
    """BS.1770-4 §2.3 weights in the usual channel order (FL FR FC LFE BL BR for 5.1)."""
    if channels == 6:
        return np.array([1.0, 1.0, 1.0, 0.0, 1.41, 1.41])
    if channels == 8:  # 7.1: FL FR FC LFE BL BR SL SR
        return np.array([1.0, 1.0, 1.0, 0.0, 1.41, 1.41, 1.41, 1.41])
    return np.ones(channels)


def subblock_powers(samples: np.ndarray, rate: int) -> np.ndarray:
    """Channel-weighted K-weighted mean square of each whole 100 ms sub-block.

    ``samples`` is float (channels, n) with full scale 1.0. A trailing part shorter than a
    sub-block is left out.
    """
    n = int(round(rate * SUBBLOCK_S))
    blocks = samples.shape[1] // n
    if blocks == 0:
        return np.zeros(0)
    (b1, a1), (b2, a2) = k_weighting(rate)
    x = samples[:, : blocks * n].astype(np.float64)
    y = lfilter(b2, a2, lfilter(b1, a1, x, axis=1), axis=1)
    ms = (y * y).reshape(samples.shape[0], blocks, n).mean(axis=2)
    return np.asarray(channel_weights(samples.shape[0]) @ ms)


def subblock_rms_dbfs(samples: np.ndarray, rate: int) -> np.ndarray:
    """Unweighted RMS of the loudest channel per 100 ms sub-block, dBFS (silence detection)."""
    n = int(round(rate * SUBBLOCK_S))
    blocks = samples.shape[1] // n
    if blocks == 0:
        return np.zeros(0)
    x = samples[:, : blocks * n].astype(np.float64)
    ms = (x * x).reshape(samples.shape[0], blocks, n).mean(axis=2).max(axis=0)
    return np.asarray(10 * np.log10(np.maximum(ms, 1e-20)))


@lru_cache(maxsize=4)
def _interpolator(factor: int) -> np.ndarray:
    taps = 12 * factor
    return (firwin(taps, 1.0 / factor) * factor).astype(np.float32)


def true_peak_dbtp(samples: np.ndarray, rate: int) -> float:
    """Largest absolute value of the 4x oversampled signal (2x at 96 kHz, none above), dBTP."""
    if samples.size == 0:
        return FLOOR_LUFS
    factor = 4 if rate < 96000 else 2 if rate < 192000 else 1
    x = samples.astype(np.float32)
    peak = float(np.abs(x).max())
    if factor > 1:
        peak = max(peak, float(np.abs(upfirdn(_interpolator(factor), x, factor, axis=1)).max()))
    return 20 * math.log10(peak) if peak > 0 else FLOOR_LUFS


def lufs(power: float) -> float:
    """BS.1770-4 eq. (2): L = -0.691 + 10 log10(sum G z)."""
    return -0.691 + 10 * math.log10(power) if power > 0 else FLOOR_LUFS


def gated_integrated(block_powers: np.ndarray) -> float:
    """Integrated loudness of 400 ms block powers with the §2.5 two-stage gate."""
    if block_powers.size == 0:
        return FLOOR_LUFS
    with np.errstate(divide="ignore"):
        loud = -0.691 + 10 * np.log10(block_powers)
    above = block_powers[loud > ABSOLUTE_GATE_LUFS]
    if above.size == 0:
        return FLOOR_LUFS
    relative = lufs(float(above.mean())) + RELATIVE_GATE_LU
    kept = above[(-0.691 + 10 * np.log10(above)) > relative]
    return lufs(float(kept.mean())) if kept.size else FLOOR_LUFS


class LoudnessHistory:
    """The sub-block powers of one audio track over the last ``window_s`` seconds."""

    def __init__(self, window_s: float = 600.0) -> None:
        self.powers: deque[float] = deque(maxlen=max(int(window_s / SUBBLOCK_S), 30))

    def extend(self, powers: np.ndarray | list[float] | tuple[float, ...]) -> None:
        self.powers.extend(float(p) for p in powers)

    def reset(self) -> None:
        self.powers.clear()

    def _last(self, count: int) -> float | None:
        if len(self.powers) < count:
            return None
        return lufs(sum(list(self.powers)[-count:]) / count)

    def momentary(self) -> float | None:
        """400 ms loudness, LUFS (None until 400 ms are known)."""
        return self._last(4)

    def short_term(self) -> float | None:
        """3 s loudness, LUFS (None until 3 s are known)."""
        return self._last(30)

    def integrated(self) -> float | None:
        """Gated loudness over the window, LUFS (None before the first 400 ms block)."""
        p = np.fromiter(self.powers, float)
        if p.size < 4:
            return None
        blocks = np.convolve(p, np.full(4, 0.25), mode="valid")
        return gated_integrated(blocks)
