"""Segment durations against the target and the template (RFC 8216 §4.3.3.1, §6.2.2).

Only segments that are new since the previous poll are judged (the rest were judged when
they arrived), so the rules cost nothing on unchanged polls and stay O(new) on DVR windows.
"""

from __future__ import annotations

from castwatch.packager_monitor.hls import MediaPlaylist
from castwatch.packager_monitor.rules.base import (
    PLAYLIST_WINDOW_SHORT,
    SEGMENT_DURATION_DRIFT,
    TARGET_DURATION_EXCEEDED,
    Verdict,
    fmt_s,
    label,
    ok,
)


def _new(cur: MediaPlaylist) -> list:  # type: ignore[type-arg]
    n = cur.new_segments
    return cur.segments[-n:] if n else []


def target_exceeded(channel: str, rendition: str, cur: MediaPlaylist) -> Verdict | None:
    """An EXTINF that rounds to more than EXT-X-TARGETDURATION; None without new segments."""
    new = _new(cur)
    if not new:
        return None
    longest = max(s.duration for s in new)
    if int(longest + 0.5) <= cur.target_duration:
        return ok(TARGET_DURATION_EXCEEDED, rendition)
    return Verdict(TARGET_DURATION_EXCEEDED, rendition, True,
                   f"{label(channel, rendition)}: segment of {fmt_s(longest)} exceeds the target "
                   f"duration {cur.target_duration} s",
                   {"duration_s": longest, "target_s": cur.target_duration})


def duration_drift(channel: str, rendition: str, cur: MediaPlaylist, expected_s: float,
                   tolerance_s: float) -> Verdict | None:
    """A new segment outside the template's ``expected_s ± tolerance_s``.

    The segment just before a discontinuity may legitimately be short (a splice), and so may
    the newest one (it can be the last of an event); both are not judged.
    """
    segs = cur.segments
    n = cur.new_segments
    if not n or len(segs) < 2:
        return None
    start = max(len(segs) - n - 1, 0)
    judged = [segs[i] for i in range(start, len(segs) - 1) if not segs[i + 1].discontinuity]
    if not judged:
        return None
    off = [s for s in judged if abs(s.duration - expected_s) > tolerance_s]
    if not off:
        return ok(SEGMENT_DURATION_DRIFT, rendition)
    worst = max(off, key=lambda s: abs(s.duration - expected_s))
    return Verdict(SEGMENT_DURATION_DRIFT, rendition, True,
                   f"{label(channel, rendition)}: segment of {worst.duration:.3f} s outside "
                   f"{expected_s:g} ± {tolerance_s:g} s",
                   {"duration_s": worst.duration, "expected_s": expected_s,
                    "tolerance_s": tolerance_s, "segment": worst.uri})


def window_short(channel: str, rendition: str, cur: MediaPlaylist) -> Verdict:
    """A live sliding window shorter than 3x the target duration (§6.2.2); EVENT and VOD
    playlists grow from empty and are exempt."""
    if not cur.is_live or cur.playlist_type == "EVENT":
        return ok(PLAYLIST_WINDOW_SHORT, rendition)
    minimum = 3 * cur.target_duration
    if cur.duration + 1e-6 >= minimum:
        return ok(PLAYLIST_WINDOW_SHORT, rendition)
    return Verdict(PLAYLIST_WINDOW_SHORT, rendition, True,
                   f"{label(channel, rendition)}: live window of {fmt_s(cur.duration)} is shorter "
                   f"than 3 x target ({minimum} s)",
                   {"window_s": round(cur.duration, 3), "minimum_s": minimum})
