"""The offered ladder against the channel's template: RENDITION_MISSING, LADDER_MISMATCH.

A template rung is matched to an offered rendition by name (``720p``), else by resolution.
A rung with no match is missing (one alert per rung, subject ``CODE/<rung>``). A matched rung
whose bandwidth differs by more than the tolerance, whose resolution differs, or whose codec
families (``avc1``, ``hvc1``, ``mp4a``…) differ is a mismatch (one channel-wide alert listing
every difference). Codecs mismatch when the video codec families differ or the rendition
carries a family the template does not list (a DASH video-only representation is fine).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from castwatch.packager_monitor.rules.base import LADDER_MISMATCH, RENDITION_MISSING, Verdict, ok


@dataclass(frozen=True, slots=True)
class Rung:
    name: str
    bandwidth: int
    resolution: str | None = None
    codecs: str | None = None


_VIDEO = frozenset({"avc1", "avc3", "hvc1", "hev1", "dvh1", "dvhe", "av01", "vp09", "vp8"})


def codec_families(codecs: str | None) -> frozenset[str]:
    return frozenset(c.strip().split(".", 1)[0].lower() for c in (codecs or "").split(",") if c.strip())


def _match(rung: Rung, offered: Sequence[Rung]) -> Rung | None:
    for o in offered:
        if o.name == rung.name:
            return o
    if rung.resolution:
        for o in offered:
            if o.resolution == rung.resolution:
                return o
    return None


def ladder_verdicts(channel: str, template: Sequence[Rung], offered: Sequence[Rung],
                    bandwidth_tolerance: float = 0.1) -> list[Verdict]:
    """Per-rung RENDITION_MISSING verdicts and one channel-wide LADDER_MISMATCH verdict."""
    out: list[Verdict] = []
    problems: list[str] = []
    for rung in template:
        got = _match(rung, offered)
        if got is None:
            out.append(Verdict(RENDITION_MISSING, rung.name, True,
                               f"{channel} {rung.name}: rendition missing from the ladder "
                               f"({len(offered)} offered: {', '.join(o.name for o in offered) or 'none'})",
                               {"expected": rung.name, "offered": [o.name for o in offered]}))
            continue
        out.append(ok(RENDITION_MISSING, rung.name))
        if rung.bandwidth and abs(got.bandwidth - rung.bandwidth) > bandwidth_tolerance * rung.bandwidth:
            problems.append(f"{rung.name} bandwidth {got.bandwidth // 1000} kbit/s, template "
                            f"{rung.bandwidth // 1000} kbit/s")
        if rung.resolution and got.resolution and got.resolution != rung.resolution:
            problems.append(f"{rung.name} resolution {got.resolution}, template {rung.resolution}")
        want, have = codec_families(rung.codecs), codec_families(got.codecs)
        if want and have and ((want & _VIDEO) != (have & _VIDEO) or have - want):
            problems.append(f"{rung.name} codecs {got.codecs}, template {rung.codecs}")
    if problems:
        out.append(Verdict(LADDER_MISMATCH, None, True,
                           f"{channel}: ladder differs from the template: {'; '.join(problems)}",
                           {"differences": problems}))
    elif template:
        out.append(ok(LADDER_MISMATCH, None))
    return out
