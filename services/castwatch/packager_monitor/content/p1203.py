"""Video MOS per ITU-T P.1203.1 (10/2017) mode 0: metadata only (bitrate, resolution, frame
rate, codec), 1..5.

Clauses implemented (numbers of ITU-T Rec. P.1203.1):

- §7.1.1 (mode 0 quantization): ``quant = a1 + a2 ln(a3 + ln(br) + ln(br·bpp + a4))`` with
  ``br`` the video bitrate in kbit/s and ``bpp = br / (coding_pixels · framerate)``; mode 0
  coefficients of Table 2: a1 = 11.9983519, a2 = −2.99991847, a3 = 41.2475074001,
  a4 = 0.13183165961.
- §7.1.2 eq. (2): ``MOSq = q1 + q2 exp(q3 · quant)`` with q1 = 4.66, q2 = −0.07, q3 = 4.06,
  clipped to [1, 5]; ``Dq = 100 − RfromMOS(MOSq)`` clipped to [0, 100].
- §7.2 (upscaling): ``Du = u1 log10(u2 (scaleFactor − 1) + 1)`` with
  ``scaleFactor = max(display_pixels / coding_pixels, 1)``, u1 = 72.61, u2 = 0.32,
  clipped to [0, 100].
- §7.3 (frame rate): ``Dt = (100 − Dq − Du)(t1 − t2 · framerate)/(t3 + framerate)`` when
  the frame rate is below 24, else 0; t1 = 30.98, t2 = 1.29, t3 = 64.65; clipped.
- §7.4 (integration): ``D = clip(Dq + Du + Dt, 0, 100)``, ``Q = 100 − D``, ``O22 =
  MOSfromR(Q)``.
- ITU-T P.1203 Annex (MOS/R conversion, also used by P.1203.1): ``MOSfromR(Q) = MOS_MIN +
  (MOS_MAX − MOS_MIN) Q/100 + Q(Q − 60)(100 − Q) · 7e−6`` with MOS_MIN = 1.05, MOS_MAX = 4.9,
  clipped to [MOS_MIN, MOS_MAX]; ``RfromMOS`` is its inverse. The cubic is not monotonic
  just above Q = 0 (it dips below MOS_MIN), so the inverse is taken on the monotonic branch:
  tabulated here at Q steps of 0.25 from 3.25 to 100 (plus MOS_MIN ↔ 0) and interpolated
  linearly, as the P.1203 reference software does.

P.1203.1 is specified for H.264 only; any other codec gives ``model="unsupported-codec"`` and
no number (never a made-up score). The display is assumed to be 1920x1080 (the PC/TV context
of P.1203) unless given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

MODEL = "p1203.1-mode0"
UNSUPPORTED = "unsupported-codec"
MISSING = "insufficient-metadata"

A1, A2, A3, A4 = 11.9983519, -2.99991847, 41.2475074001, 0.13183165961
Q1, Q2, Q3 = 4.66, -0.07, 4.06
U1, U2 = 72.61, 0.32
T1, T2, T3 = 30.98, 1.29, 64.65
MOS_MIN, MOS_MAX = 1.05, 4.9
DISPLAY_PIXELS = 1920 * 1080

_H264 = ("h264", "avc", "avc1", "avc3")


@dataclass(frozen=True, slots=True)
class VideoMos:
    model: str
    mos: float | None = None
    #: the three degradations (R scale) behind the score, for the curious
    deg_quant: float | None = None
    deg_upscale: float | None = None
    deg_framerate: float | None = None

    def as_dict(self) -> dict[str, object]:
        return {"model": self.model, "mos": self.mos}


def _clip(x: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, x))


def mos_from_r(q: float) -> float:
    """P.1203 Annex: the R-scale (0..100) to MOS mapping (MOS_MIN below 0, MOS_MAX above 100)."""
    if q <= 0:
        return MOS_MIN
    if q >= 100:
        return MOS_MAX
    mos = MOS_MIN + (MOS_MAX - MOS_MIN) * q / 100 + q * (q - 60) * (100 - q) * 7e-6
    return _clip(mos, MOS_MIN, MOS_MAX)


@lru_cache(maxsize=1)
def _inverse_table() -> tuple[np.ndarray, np.ndarray]:
    qs = np.concatenate(([0.0], np.arange(3.25, 100.0001, 0.25)))
    moss = np.array([MOS_MIN] + [mos_from_r(float(q)) for q in qs[1:]])
    return moss, qs


def r_from_mos(mos: float) -> float:
    """Inverse of :func:`mos_from_r` on its monotonic branch."""
    moss, qs = _inverse_table()
    return float(np.interp(_clip(mos, MOS_MIN, MOS_MAX), moss, qs))


def is_h264(codec: str | None) -> bool:
    """``h264`` (a decoder name) or an RFC 6381 ``avc1.64001f`` string, case-insensitive."""
    if not codec:
        return False
    first = codec.split(",")[0].strip().lower()
    return first.split(".")[0] in _H264


def video_mos(codec: str | None, bitrate_kbps: float | None, width: int | None,
              height: int | None, framerate: float | None,
              display_pixels: int = DISPLAY_PIXELS) -> VideoMos:
    """O22 of one segment/rendition by P.1203.1 mode 0 (see the module docstring)."""
    if not codec:
        return VideoMos(MISSING)
    if not is_h264(codec):
        return VideoMos(UNSUPPORTED)
    if not bitrate_kbps or bitrate_kbps <= 0 or not width or not height or not framerate:
        return VideoMos(MISSING)
    coding = width * height
    bpp = bitrate_kbps / (coding * framerate)
    quant = A1 + A2 * math.log(A3 + math.log(bitrate_kbps) + math.log(bitrate_kbps * bpp + A4))
    mos_q = _clip(Q1 + Q2 * math.exp(Q3 * quant), 1.0, 5.0)
    d_q = _clip(100.0 - r_from_mos(mos_q), 0.0, 100.0)
    scale = max(display_pixels / coding, 1.0)
    d_u = _clip(U1 * math.log10(U2 * (scale - 1.0) + 1.0), 0.0, 100.0)
    d_t = 0.0
    if framerate < 24:
        d_t = _clip((100 - d_q - d_u) * (T1 - T2 * framerate) / (T3 + framerate), 0.0, 100.0)
    q = 100 - _clip(d_q + d_u + d_t, 0.0, 100.0)
    return VideoMos(MODEL, round(mos_from_r(q), 3), round(d_q, 3), round(d_u, 3), round(d_t, 3))
