"""The simulated origin's state: channels advancing in real time, and the faults applied.

Pure and clock-driven (``clock`` is injected; no I/O): the HTTP layer in ``server.py`` asks
this model for playlist text and segment facts. Segment ``i`` of a rendition is produced at
``t0 + (i + 1) * segment_s``; its media sequence number is ``i + shift``. Faults (see
:data:`FAULTS`) are set per channel, optionally per rendition (``rendition=None`` = all).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: fault name → what it does (and what its value means)
FAULTS: dict[str, str] = {
    "stall": "the live edge stops advancing (value ignored)",
    "skip_sequence": "one-shot: media sequence numbers jump forward by value (default 10)",
    "reset_sequence": "one-shot: the window is renumbered from 0 (an origin restart)",
    "drop_rendition": "the rendition disappears from the master, its playlist answers 404",
    "playlist_status": "the media playlist answers this HTTP status (e.g. 500)",
    "segment_status": "segments answer this HTTP status (404, 500…)",
    "slow_segments": "segments are delayed by value milliseconds (default 1500)",
    "corrupt_segments": "segment bytes are corrupted (sync bytes / box sizes broken)",
    "extinf_over_target": "new segments declare EXTINF = segment duration + value s (default 1)",
    "discontinuity_no_bump": "new segments get EXT-X-DISCONTINUITY but the discontinuity "
                             "sequence is not incremented when they leave the window",
    "mpd_invalid": "the MPD is served truncated (not well-formed XML)",
    # content faults: segments become real ffmpeg-made media (see lavfi.py)
    "black": "content: the picture is black",
    "frozen": "content: the picture is a still image",
    "silence": "content: the audio is digital silence",
    "loud": "content: the audio is a sine near full scale (about -2 LUFS, true peak > 0 dBTP)",
    "starved": "content: video only, at value kbit/s (default 24)",
}
ONE_SHOT = frozenset({"skip_sequence", "reset_sequence"})


class FaultError(ValueError):
    """An unknown channel, rendition or fault name."""


@dataclass(frozen=True)
class RungSpec:
    name: str
    width: int
    height: int
    bandwidth: int
    codecs: str = "avc1.64001f,mp4a.40.2"
    video_range: str | None = None
    #: ``audio``: a separate audio rendition (HLS EXT-X-MEDIA TYPE=AUDIO), width/height 0
    kind: str = "video"

    @property
    def resolution(self) -> str:
        return f"{self.width}x{self.height}"


DEFAULT_LADDER: tuple[RungSpec, ...] = (
    RungSpec("1080p", 1920, 1080, 5_000_000, "avc1.640028,mp4a.40.2"),
    RungSpec("720p", 1280, 720, 3_000_000),
    RungSpec("480p", 854, 480, 1_500_000, "avc1.4d401e,mp4a.40.2"),
    RungSpec("360p", 640, 360, 800_000, "avc1.4d401e,mp4a.40.2"),
)
#: the extra top rung of UHD channels (with a Dolby Atmos audio rendition in the master)
UHD_RUNG = RungSpec("2160p", 3840, 2160, 16_000_000, "hvc1.2.4.L153.B0,ec-3", "PQ")


def audio_rendition(language: str) -> RungSpec:
    """A separate AAC stereo audio rendition named ``audio_<language>``."""
    return RungSpec(f"audio_{language}", 0, 0, 128_000, "mp4a.40.2", kind="audio")


@dataclass
class SimConfig:
    channels: int = 2
    prefix: str = "CH_SIM_"
    segment_s: float = 1.0
    window: int = 6
    ladder: tuple[RungSpec, ...] = DEFAULT_LADDER
    #: the first ``uhd_channels`` channels also offer a 2160p HDR rung and Atmos audio
    uhd_channels: int = 0
    #: media sequence of the first segment: an origin that has run a while starts high, so that
    #: ``reset_sequence`` (renumber from 0) always goes backwards
    start_sequence: int = 0
    #: serve real ffmpeg-made H.264/AAC segments (needed by the probe's content layer); a
    #: content fault turns them on for its rendition anyway
    real_media: bool = False
    #: separate audio renditions, one per language (``audio_<lang>``, HLS only): the ladder is
    #: then demuxed, its real video segments carry no sound
    audio_languages: tuple[str, ...] = ()

    def codes(self) -> list[str]:
        return [f"{self.prefix}{i:03d}" for i in range(1, self.channels + 1)]


@dataclass
class Rendition:
    spec: RungSpec
    shift: int = 0
    frozen: int | None = None
    #: (from_index, until_index or None) ranges with a fault that marks new segments
    extinf_over: list[tuple[int, int | None, float]] = field(default_factory=list)
    bad_disc: list[tuple[int, int | None]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SegmentFacts:
    index: int
    sequence: int
    duration: float
    discontinuity: bool


class OriginModel:
    """Thread-safe: the HTTP server and tests may call it from different threads."""

    def __init__(self, config: SimConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.clock = clock
        # start as if the channels had run for a full window already
        self.t0 = clock() - config.window * config.segment_s
        self.channels: dict[str, dict[str, Rendition]] = {
            code: {r.name: Rendition(r, shift=self.config.start_sequence) for r in self.ladder_of(i)}
            for i, code in enumerate(config.codes())
        }
        self.faults: dict[tuple[str, str | None], dict[str, Any]] = {}
        self.version = 0
        self._lock = threading.RLock()

    def ladder_of(self, index: int) -> tuple[RungSpec, ...]:
        extra = (UHD_RUNG,) if index < self.config.uhd_channels else ()
        audio = tuple(audio_rendition(lang) for lang in self.config.audio_languages)
        return extra + self.config.ladder + audio

    def is_uhd(self, code: str) -> bool:
        return UHD_RUNG.name in self.channels[code]

    # -- time ---------------------------------------------------------------------------
    def produced(self, now: float | None = None) -> int:
        now = self.clock() if now is None else now
        return max(0, math.floor((now - self.t0) / self.config.segment_s))

    def edge(self, r: Rendition, now: float | None = None) -> int:
        """How many segments this rendition has produced (index of the next one)."""
        return r.frozen if r.frozen is not None else self.produced(now)

    def edge_time(self, r: Rendition) -> float:
        """Monotonic time at which the current edge segment was produced."""
        return self.t0 + self.edge(r) * self.config.segment_s

    # -- faults -------------------------------------------------------------------------
    def rendition(self, code: str, name: str) -> Rendition:
        try:
            return self.channels[code][name]
        except KeyError:
            raise FaultError(f"unknown channel/rendition {code}/{name}") from None

    def fault(self, code: str, rendition: str, name: str) -> Any:
        """The value of fault ``name`` for a rendition (its own, else its channel's), or None."""
        own = self.faults.get((code, rendition), {})
        if name in own:
            return own[name]
        return self.faults.get((code, None), {}).get(name)

    def _targets(self, code: str, rendition: str | None) -> list[Rendition]:
        if code not in self.channels:
            raise FaultError(f"unknown channel {code}")
        if rendition is None:
            return list(self.channels[code].values())
        return [self.rendition(code, rendition)]

    def set_fault(self, code: str, rendition: str | None, name: str, value: Any = True) -> None:
        if name not in FAULTS:
            raise FaultError(f"unknown fault {name!r}; known: {', '.join(sorted(FAULTS))}")
        with self._lock:
            targets = self._targets(code, rendition)
            for r in targets:
                edge = self.edge(r)
                if name == "stall" and r.frozen is None:
                    r.frozen = edge
                elif name == "skip_sequence":
                    r.shift += int(value) if value not in (None, True) else 10
                elif name == "reset_sequence":  # the window restarts at media sequence 0
                    r.shift = -max(0, edge - self.config.window)
                elif name == "extinf_over_target":
                    extra = float(value) if value not in (None, True) else 1.0
                    r.extinf_over.append((edge, None, extra))
                elif name == "discontinuity_no_bump":
                    r.bad_disc.append((edge, None))
            if name not in ONE_SHOT:
                self.faults.setdefault((code, rendition), {})[name] = value
            self.version += 1

    def clear_fault(self, code: str | None = None, rendition: str | None = None,
                    name: str | None = None) -> None:
        """Clear one fault, all faults of a channel/rendition, or everything (no arguments)."""
        with self._lock:
            keys = [k for k in self.faults if code is None or (k[0] == code and (
                rendition is None or k[1] == rendition))]
            for key in keys:
                names = [name] if name else list(self.faults[key])
                for fault in names:
                    if fault in self.faults[key]:
                        del self.faults[key][fault]
                        for r in self._targets(key[0], key[1]):
                            self._end(r, fault)
                if not self.faults[key]:
                    del self.faults[key]
            self.version += 1

    def _end(self, r: Rendition, fault: str) -> None:
        edge = self.edge(r)
        if fault == "stall":
            # a packager that recovers publishes what it produced meanwhile: the edge catches
            # up with the clock, numbering stays continuous (no gap, renditions back in sync)
            r.frozen = None
        elif fault == "extinf_over_target":
            r.extinf_over = [(a, edge if b is None else b, x) for a, b, x in r.extinf_over]
        elif fault == "discontinuity_no_bump":
            r.bad_disc = [(a, edge if b is None else b) for a, b in r.bad_disc]

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{"channel": c, "rendition": r, "faults": dict(f)} for (c, r), f in self.faults.items()]

    # -- content ------------------------------------------------------------------------
    def segment(self, r: Rendition, index: int) -> SegmentFacts:
        duration = self.config.segment_s
        for start, until, extra in r.extinf_over:
            if index >= start and (until is None or index < until):
                duration += extra
        disc = any(index >= a and (b is None or index < b) and (index - a) % 2 == 0
                   for a, b in r.bad_disc)
        return SegmentFacts(index, index + r.shift, duration, disc)

    def window(self, r: Rendition) -> list[SegmentFacts]:
        edge = self.edge(r)
        return [self.segment(r, i) for i in range(max(0, edge - self.config.window), edge)]

    def visible(self, code: str, kind: str = "video") -> list[Rendition]:
        """Renditions of ``kind`` (video variants or separate audio) in the master (not dropped)."""
        return [r for name, r in self.channels[code].items()
                if r.spec.kind == kind and not self.fault(code, name, "drop_rendition")]

    def demuxed(self, code: str) -> bool:
        """The channel's sound is in separate audio renditions (its video carries none)."""
        return any(r.spec.kind == "audio" for r in self.channels[code].values())

    def index_of(self, r: Rendition, sequence: int) -> int | None:
        """The segment index of a media sequence number if it is (or recently was) available."""
        index = sequence - r.shift
        edge = self.edge(r)
        if edge - 2 * self.config.window <= index < edge:
            return index
        return None
