"""Helpers that write media playlists for the parser and rule tests."""

from __future__ import annotations


def media_text(first: int, count: int, *, target: int = 6, duration: float = 6.0, dseq: int = 0,
               disc_at: tuple[int, ...] = (), end: bool = False, playlist_type: str | None = None,
               durations: dict[int, float] | None = None, prefix: str = "seg_") -> str:
    """A sliding-window playlist of segments ``first .. first+count-1`` named by sequence."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{target}",
             f"#EXT-X-MEDIA-SEQUENCE:{first}", f"#EXT-X-DISCONTINUITY-SEQUENCE:{dseq}"]
    if playlist_type:
        lines.append(f"#EXT-X-PLAYLIST-TYPE:{playlist_type}")
    for n in range(first, first + count):
        if n in disc_at:
            lines.append("#EXT-X-DISCONTINUITY")
        lines.append(f"#EXTINF:{(durations or {}).get(n, duration):.3f},")
        lines.append(f"{prefix}{n}.ts")
    if end:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"
