"""Pure rules for values the API derives instead of asking for: protocol and channel badges."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Protocol as TypingProtocol
from urllib.parse import urlsplit


class Rung(TypingProtocol):
    resolution: str | None
    video_range: str | None
    audio_channels: str | None


def infer_protocol(input_url: str) -> str:
    """``DASH`` when the URL's path ends in ``.mpd``, else ``HLS``."""
    return "DASH" if urlsplit(input_url).path.lower().endswith(".mpd") else "HLS"


_RESOLUTION = re.compile(r"^(\d+)x(\d+)$")


def badges(renditions: Iterable[Rung]) -> dict[str, bool]:
    """The 4K / HDR / Atmos badges a ladder earns.

    4K: a rung at least 3840 wide or 2160 high. HDR: a rung whose video range is PQ or HLG.
    Atmos: a rung whose audio channels say JOC (Dolby Atmos in HLS, e.g. ``16/JOC``) or Atmos.
    """
    is_4k = is_hdr = is_atmos = False
    for rung in renditions:
        match = _RESOLUTION.match(rung.resolution or "")
        if match and (int(match.group(1)) >= 3840 or int(match.group(2)) >= 2160):
            is_4k = True
        if (rung.video_range or "").upper() in ("PQ", "HLG"):
            is_hdr = True
        audio = (rung.audio_channels or "").upper()
        if "JOC" in audio or "ATMOS" in audio:
            is_atmos = True
    return {"is_4k": is_4k, "is_hdr": is_hdr, "is_atmos": is_atmos}
