"""Fetch failures and parse errors of playlists and MPDs."""

from __future__ import annotations

from castwatch.common.download import safe_text
from castwatch.packager_monitor.rules.base import (
    MPD_INVALID,
    PLAYLIST_INVALID,
    PLAYLIST_UNREACHABLE,
    Verdict,
    label,
    ok,
)


def reachability(channel: str, rendition: str | None, status: int | None, error: str | None,
                 what: str = "playlist") -> Verdict:
    """PLAYLIST_UNREACHABLE when the request failed or returned anything but 200/304."""
    if error is None and status in (200, 304):
        return ok(PLAYLIST_UNREACHABLE, rendition)
    why = error or f"HTTP {status}"
    # "unreachable" is all the fetcher says of any failure to get an HTTP answer (no port scan)
    detail = "" if why == "unreachable" else f" ({why})"
    return Verdict(PLAYLIST_UNREACHABLE, rendition, True,
                   f"{label(channel, rendition)}: {what} unreachable{detail}",
                   {"status": status, "error": error, "what": what})


def validity(channel: str, rendition: str | None, parse_error: str | None,
             alert_type: str = PLAYLIST_INVALID) -> Verdict:
    """PLAYLIST_INVALID (or MPD_INVALID) with the parser's message, made a short printable
    token (parsers quote bits of the document to help fix it; the origin wrote those bits)."""
    if parse_error is None:
        return ok(alert_type, rendition)
    parse_error = safe_text(parse_error, 160)
    what = "MPD" if alert_type == MPD_INVALID else "playlist"
    return Verdict(alert_type, rendition, True,
                   f"{label(channel, rendition)}: {what} invalid: {parse_error}",
                   {"error": parse_error})
