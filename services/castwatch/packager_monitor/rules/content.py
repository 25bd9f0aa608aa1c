"""What the decoded content says: VIDEO_BLACK, VIDEO_FROZEN, AUDIO_SILENCE,
LOUDNESS_OUT_OF_RANGE, QUALITY_LOW (issue #14). Pure functions of measured figures.

A condition of time (black, frozen, silent, loudness off target) is measured as a *run*: the
seconds it has held without a break, carried from one analysed segment to the next while the
segments are consecutive (continuous analysis) and restarted after a gap (sampled analysis
then judges runs inside each segment). The alert is bad while the longest run seen in the
newest segment reaches the template's minimum; it resolves after ``PROBE_CLEAR_HOLD_S`` of
clear verdicts like every probe alert.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from castwatch.packager_monitor.rules.base import (
    AUDIO_SILENCE,
    LOUDNESS_OUT_OF_RANGE,
    QUALITY_LOW,
    VIDEO_BLACK,
    VIDEO_FROZEN,
    Verdict,
    fmt_s,
    label,
    ok,
)

CONTENT_MODES = ("continuous", "sampled", "off")
LOUDNESS_STANDARDS = {"ebu_r128": -23.0, "atsc_a85": -24.0}


@dataclass(frozen=True)
class ContentLimits:
    """A template's content thresholds (defaults: issue #14 / EBU R128)."""

    #: continuous (every segment of the chosen rendition), sampled (one every
    #: ``sample_interval_s``) or off; None = by channel tier (tier 1 continuous, else sampled)
    mode: str | None = None
    sample_interval_s: float = 10.0
    #: which video rendition is decoded: ``lowest``, ``highest`` or a rendition name
    rendition: str = "lowest"
    black_min_s: float = 2.0
    frozen_min_s: float = 2.0
    silence_dbfs: float = -60.0
    silence_min_s: float = 2.0
    loudness_standard: str = "ebu_r128"
    #: None = the standard's target (-23 LUFS EBU R128, -24 LKFS ATSC A/85)
    loudness_target_lufs: float | None = None
    loudness_tolerance_lu: float = 5.0
    loudness_min_s: float = 10.0
    true_peak_max_dbtp: float = -1.0
    mos_min: float = 3.5

    @property
    def target_lufs(self) -> float:
        if self.loudness_target_lufs is not None:
            return self.loudness_target_lufs
        return LOUDNESS_STANDARDS.get(self.loudness_standard, -23.0)

    def effective_mode(self, tier: int) -> str:
        return self.mode or ("continuous" if tier == 1 else "sampled")


class Run:
    """The length of a condition's current unbroken run, across consecutive segments."""

    __slots__ = ("current",)

    def __init__(self) -> None:
        self.current = 0.0

    def feed(self, spans: Iterable[tuple[float, bool]], contiguous: bool = True) -> float:
        """Add ``(seconds, bad)`` spans in time order; returns the longest run among them
        (counting the run carried in when ``contiguous``)."""
        if not contiguous:
            self.current = 0.0
        longest = 0.0
        for seconds, bad in spans:
            if bad:
                self.current += seconds
                longest = max(longest, self.current)
            else:
                self.current = 0.0
        return longest


def picture_verdicts(channel: str, rendition: str, black_s: float, frozen_s: float,
                     lim: ContentLimits, mean_luma: float | None = None) -> list[Verdict]:
    who = label(channel, rendition)
    out = []
    if black_s >= lim.black_min_s:
        out.append(Verdict(VIDEO_BLACK, rendition, True, f"{who}: picture black for {fmt_s(black_s)}",
                           {"black_s": round(black_s, 2), "mean_luma": mean_luma}))
    else:
        out.append(ok(VIDEO_BLACK, rendition))
    if frozen_s >= lim.frozen_min_s:
        out.append(Verdict(VIDEO_FROZEN, rendition, True,
                           f"{who}: picture unchanged for {fmt_s(frozen_s)}",
                           {"frozen_s": round(frozen_s, 2)}))
    else:
        out.append(ok(VIDEO_FROZEN, rendition))
    return out


def silence_verdict(channel: str, rendition: str, silent_tracks: dict[int, float],
                    lim: ContentLimits) -> Verdict:
    """``silent_tracks``: audio stream index → longest run below ``silence_dbfs``."""
    bad = {i: s for i, s in silent_tracks.items() if s >= lim.silence_min_s}
    if not bad:
        return ok(AUDIO_SILENCE, rendition)
    tracks = ", ".join(f"#{i}" for i in sorted(bad))
    return Verdict(AUDIO_SILENCE, rendition, True,
                   f"{label(channel, rendition)}: audio track {tracks} below "
                   f"{lim.silence_dbfs:g} dBFS for {fmt_s(max(bad.values()))}",
                   {"tracks": {str(i): round(s, 2) for i, s in bad.items()},
                    "threshold_dbfs": lim.silence_dbfs})


def loudness_verdict(channel: str, rendition: str, off_target_s: float, short_term: float | None,
                     true_peak: float | None, lim: ContentLimits) -> Verdict:
    """Short-term loudness off target by more than the tolerance for ``loudness_min_s``, or a
    true peak above ``true_peak_max_dbtp``."""
    who = label(channel, rendition)
    details = {"short_term_lufs": short_term, "true_peak_dbtp": true_peak,
               "target_lufs": lim.target_lufs, "tolerance_lu": lim.loudness_tolerance_lu}
    if off_target_s >= lim.loudness_min_s and short_term is not None:
        return Verdict(LOUDNESS_OUT_OF_RANGE, rendition, True,
                       f"{who}: short-term loudness {short_term:.1f} LUFS, target "
                       f"{lim.target_lufs:g} ± {lim.loudness_tolerance_lu:g} LU, for "
                       f"{fmt_s(off_target_s)}", details)
    if true_peak is not None and true_peak > lim.true_peak_max_dbtp:
        return Verdict(LOUDNESS_OUT_OF_RANGE, rendition, True,
                       f"{who}: true peak {true_peak:.1f} dBTP above {lim.true_peak_max_dbtp:g} dBTP",
                       details)
    return ok(LOUDNESS_OUT_OF_RANGE, rendition)


def quality_verdict(channel: str, rendition: str, mos: float | None, lim: ContentLimits) -> Verdict:
    """QUALITY_LOW on the top rendition; no verdict-worthy number (None) is never bad."""
    if mos is not None and mos < lim.mos_min:
        return Verdict(QUALITY_LOW, rendition, True,
                       f"{label(channel, rendition)}: video MOS {mos:.2f} below {lim.mos_min:g} "
                       "(P.1203.1 mode 0)", {"mos": mos, "threshold": lim.mos_min})
    return ok(QUALITY_LOW, rendition)
