"""Is the live edge moving? PLAYLIST_STALE (RFC 8216 §6.2.1 / §6.3.4) and MPD_STALE."""

from __future__ import annotations

from castwatch.packager_monitor.rules.base import (
    MPD_STALE,
    PLAYLIST_STALE,
    Verdict,
    fmt_s,
    label,
    ok,
)

STALE_FACTOR = 1.5


def stale_deadline(last_change_at: float, target_s: float, grace_s: float = 0.0) -> float:
    """When a playlist last seen changing at ``last_change_at`` becomes stale."""
    return last_change_at + STALE_FACTOR * target_s + grace_s


def playlist_stale(channel: str, rendition: str, *, last_change_at: float, target_s: float,
                   now: float, ended: bool = False, alert_type: str = PLAYLIST_STALE,
                   grace_s: float = 0.0) -> Verdict:
    """Stale when no new segment appeared for more than 1.5x the target duration.

    ``last_change_at`` is when a poll last saw a new segment (or the first poll); a playlist
    with EXT-X-ENDLIST (a static MPD) is finished, not stale. ``grace_s`` adds the MPD's
    ``minimumUpdatePeriod``: a DASH packager may publish a segment that late in the MPD.
    """
    age = now - last_change_at
    if ended or age <= STALE_FACTOR * target_s + grace_s:
        return ok(alert_type, rendition)
    what = "MPD" if alert_type == MPD_STALE else "playlist"
    return Verdict(alert_type, rendition, True,
                   f"{label(channel, rendition)}: no new segment for {fmt_s(age)} "
                   f"(target {fmt_s(target_s)})",
                   {"age_s": round(age, 3), "target_s": target_s, "what": what})
