"""What a rule says about one alert type, and the alert type constants."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from castwatch.common.vocab import PROBE, default_severities

PLAYLIST_UNREACHABLE = "PLAYLIST_UNREACHABLE"
PLAYLIST_INVALID = "PLAYLIST_INVALID"
PLAYLIST_STALE = "PLAYLIST_STALE"
PLAYLIST_WINDOW_SHORT = "PLAYLIST_WINDOW_SHORT"
MEDIA_SEQUENCE_GAP = "MEDIA_SEQUENCE_GAP"
MEDIA_SEQUENCE_REGRESSION = "MEDIA_SEQUENCE_REGRESSION"
DISCONTINUITY_SEQUENCE_ERROR = "DISCONTINUITY_SEQUENCE_ERROR"
TARGET_DURATION_EXCEEDED = "TARGET_DURATION_EXCEEDED"
SEGMENT_DURATION_DRIFT = "SEGMENT_DURATION_DRIFT"
SEGMENT_UNREACHABLE = "SEGMENT_UNREACHABLE"
SEGMENT_SLOW = "SEGMENT_SLOW"
SEGMENT_INVALID = "SEGMENT_INVALID"
SEGMENT_BITRATE_DEVIATION = "SEGMENT_BITRATE_DEVIATION"
RENDITION_MISSING = "RENDITION_MISSING"
LADDER_MISMATCH = "LADDER_MISMATCH"
VARIANTS_OUT_OF_SYNC = "VARIANTS_OUT_OF_SYNC"
MPD_INVALID = "MPD_INVALID"
MPD_STALE = "MPD_STALE"
CERT_EXPIRING = "CERT_EXPIRING"
# content layer (issue #14): what the decoded pictures and sounds say
VIDEO_BLACK = "VIDEO_BLACK"
VIDEO_FROZEN = "VIDEO_FROZEN"
AUDIO_SILENCE = "AUDIO_SILENCE"
LOUDNESS_OUT_OF_RANGE = "LOUDNESS_OUT_OF_RANGE"
QUALITY_LOW = "QUALITY_LOW"

#: Default severity of each type (a rule may choose another, e.g. by days left): from the vocab.
SEVERITY: dict[str, str] = default_severities(PROBE)


@dataclass(frozen=True, slots=True)
class Verdict:
    """``bad`` is whether the condition of ``alert_type`` holds for ``rendition`` right now.

    ``rendition`` None means channel-wide (alert subject ``CODE``), else ``CODE/rendition``.
    """

    alert_type: str
    rendition: str | None
    bad: bool
    summary: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    severity: str | None = None

    @property
    def effective_severity(self) -> str:
        return self.severity or SEVERITY.get(self.alert_type, "major")


@lru_cache(maxsize=65_536)
def ok(alert_type: str, rendition: str | None) -> Verdict:
    """The "condition clear" verdict; shared instances (the hot path makes many)."""
    return Verdict(alert_type, rendition, False)


def label(channel: str, rendition: str | None) -> str:
    """How a summary names its subject: ``CH_TV_HD_001 720p`` or ``CH_TV_HD_001``."""
    return f"{channel} {rendition}" if rendition else channel


def fmt_s(seconds: float) -> str:
    """Seconds for a person: ``14.2 s``, ``6 s``."""
    return f"{seconds:.0f} s" if abs(seconds - round(seconds)) < 0.05 else f"{seconds:.1f} s"
