"""A channel's content state on the event loop: runs, loudness history, latest figures.

:class:`RenditionContent` turns one :class:`~.analyze.SegmentAnalysis` of the decoded
rendition into verdicts (see :mod:`castwatch.packager_monitor.rules.content`) and keeps the
latest figures for the status row, InfluxDB and Prometheus. :class:`BitrateMeter` measures a
rendition's bitrate from segment sizes and durations (every downloaded segment, decoded or not).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from castwatch.packager_monitor.content.analyze import SegmentAnalysis, VideoFacts, still_across
from castwatch.packager_monitor.content.loudness import SUBBLOCK_S, LoudnessHistory, lufs
from castwatch.packager_monitor.rules.base import Verdict
from castwatch.packager_monitor.rules.content import (
    ContentLimits,
    Run,
    loudness_verdict,
    picture_verdicts,
    silence_verdict,
)

#: one sub-block short-term is judged against the target (3 s window, EBU Tech 3341)
SHORT_TERM_BLOCKS = 30


class BitrateMeter:
    """Bits over seconds of the last ``window`` segments of one rendition."""

    def __init__(self, window: int = 5) -> None:
        self.samples: deque[tuple[int, float]] = deque(maxlen=window)

    def add(self, size_bytes: int, duration_s: float) -> None:
        if size_bytes > 0 and duration_s > 0:
            self.samples.append((size_bytes, duration_s))

    @property
    def bps(self) -> float | None:
        seconds = sum(d for _, d in self.samples)
        return sum(b for b, _ in self.samples) * 8 / seconds if seconds > 0 else None


@dataclass
class TrackState:
    silence: Run = field(default_factory=Run)
    off_target: Run = field(default_factory=Run)
    history: LoudnessHistory = field(default_factory=LoudnessHistory)


def _rounded(x: float | None, digits: int = 1) -> float | None:
    return None if x is None else round(x, digits)


@dataclass
class RenditionContent:
    """The decoded rendition of one channel."""

    rendition: str
    black: Run = field(default_factory=Run)
    frozen: Run = field(default_factory=Run)
    tracks: dict[int, TrackState] = field(default_factory=dict)
    last_sequence: int | None = None
    last_at: float | None = None
    figures: dict[str, Any] = field(default_factory=dict)
    #: the previous analysed segment's last frame: sub-sampled luma, span, still (frozen) flag
    last_frame: tuple[np.ndarray | None, float, bool] | None = None

    def contiguous(self, sequence: int | None, at: float, duration_s: float) -> bool:
        """Does this segment follow the previous analysed one without a gap?"""
        if sequence is not None and self.last_sequence is not None:
            return sequence == self.last_sequence + 1
        return self.last_at is not None and at - self.last_at <= duration_s * 1.5

    def observe(self, channel: str, res: SegmentAnalysis, lim: ContentLimits,
                sequence: int | None, at: float) -> list[Verdict]:
        """Verdicts of one analysed segment; updates :attr:`figures`."""
        cont = self.contiguous(sequence, at, res.duration_s)
        self.last_sequence, self.last_at = sequence, at
        out: list[Verdict] = []
        figures: dict[str, Any] = {"analysed_at": at, "cpu_ms": round(res.cpu_s * 1000, 1)}
        if res.video is not None:
            v = res.video
            black_s = self.black.feed(((s, b) for s, b, _ in v.frames), cont)
            frozen_s = self.frozen.feed(self.still_spans(v, cont), cont)
            out += picture_verdicts(channel, self.rendition, black_s, frozen_s, lim, v.mean_luma)
            figures.update(black_s=round(self.black.current, 2), frozen_s=round(self.frozen.current, 2),
                           mean_luma=v.mean_luma, width=v.width, height=v.height, codec=v.codec)
        silent: dict[int, float] = {}
        audio: list[dict[str, Any]] = []
        worst_peak: float | None = None
        worst_off, st_report = 0.0, None
        for a in res.audio:
            t = self.tracks.setdefault(a.index, TrackState())
            silent[a.index] = t.silence.feed(((SUBBLOCK_S, r < lim.silence_dbfs) for r in a.rms_dbfs), cont)
            if not cont:
                t.history.reset()
            t.history.extend(a.powers)
            series = short_term_series(t.history, len(a.powers))
            off = t.off_target.feed(((SUBBLOCK_S, abs(s - lim.target_lufs) > lim.loudness_tolerance_lu)
                                     for s in series), True)
            st = t.history.short_term()
            if off >= worst_off:
                worst_off, st_report = off, st
            worst_peak = a.true_peak_dbtp if worst_peak is None else max(worst_peak, a.true_peak_dbtp)
            audio.append({"track": a.index, "momentary_lufs": _rounded(t.history.momentary()),
                          "short_term_lufs": _rounded(st),
                          "integrated_lufs": _rounded(t.history.integrated()),
                          "true_peak_dbtp": a.true_peak_dbtp, "silent_s": round(t.silence.current, 1),
                          "channels": a.channels})
        if res.audio:
            out.append(silence_verdict(channel, self.rendition, silent, lim))
            out.append(loudness_verdict(channel, self.rendition, worst_off, _rounded(st_report),
                                        worst_peak, lim))
            figures["audio"] = audio
        self.figures = figures
        return out


    def still_spans(self, v: VideoFacts, contiguous: bool) -> list[tuple[float, bool]]:
        """``(seconds, frozen)`` spans of a segment's frames for the VIDEO_FROZEN run.

        A frame is *still* when it shows its predecessor's picture (not black: that is
        VIDEO_BLACK's); the first frame's predecessor is the previous segment's last frame
        when the segments are contiguous. A freeze is timed from the first frame that shows
        the still picture, as ffmpeg's freezedetect reports ``freeze_start``: the span of the
        frame a still run begins with is credited to the run, also when that frame ended the
        previous segment."""
        prev = self.last_frame if contiguous else None
        prev_span, prev_still = (prev[1], prev[2]) if prev is not None else (None, False)
        out: list[tuple[float, bool]] = []
        for i, (span, black, same) in enumerate(v.frames):
            if i == 0:
                same = prev is not None and still_across(prev[0], v.first_luma)
            still = same and not black
            if still and not prev_still and prev_span is not None:
                out.append((prev_span, True))  # the frame that began the still picture
            out.append((span, still))
            prev_span, prev_still = span, still
        if v.frames:
            self.last_frame = (v.last_luma, v.frames[-1][0], prev_still)
        return out


def short_term_series(history: LoudnessHistory, new: int) -> list[float]:
    """Short-term loudness at each of the ``new`` newest sub-blocks that has 3 s behind it."""
    p = np.fromiter(history.powers, float)
    if p.size < SHORT_TERM_BLOCKS or new <= 0:
        return []
    tail = p[-(new + SHORT_TERM_BLOCKS - 1):]
    sums = np.convolve(tail, np.ones(SHORT_TERM_BLOCKS), mode="valid") / SHORT_TERM_BLOCKS
    return [lufs(float(s)) for s in sums]
