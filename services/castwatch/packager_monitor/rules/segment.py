"""One downloaded segment: reachable, fast enough, sane bytes, bitrate within BANDWIDTH."""

from __future__ import annotations

from dataclasses import dataclass

from castwatch.packager_monitor.rules.base import (
    SEGMENT_BITRATE_DEVIATION,
    SEGMENT_INVALID,
    SEGMENT_SLOW,
    SEGMENT_UNREACHABLE,
    Verdict,
    label,
    ok,
)


@dataclass(frozen=True, slots=True)
class SegmentSample:
    uri: str
    status: int | None
    error: str | None
    download_s: float
    size: int
    duration_s: float
    #: None when the bytes are sane, else the reason (see segments.check_segment).
    invalid_reason: str | None = None


@dataclass(frozen=True, slots=True)
class SegmentLimits:
    max_download_ms: float
    min_download_ratio: float
    #: Declared peak bitrate (HLS BANDWIDTH / DASH @bandwidth), 0 = unknown.
    declared_bps: int = 0
    #: Measured bitrate above declared x this is a deviation.
    bitrate_factor: float = 1.5


def segment_verdicts(channel: str, rendition: str, s: SegmentSample, lim: SegmentLimits) -> list[Verdict]:
    who = label(channel, rendition)
    if s.error is not None or s.status != 200:
        why = s.error or f"HTTP {s.status}"
        return [Verdict(SEGMENT_UNREACHABLE, rendition, True,
                        f"{who}: newest segment unreachable ({why})",
                        {"status": s.status, "error": s.error, "segment": s.uri})]
    out = [ok(SEGMENT_UNREACHABLE, rendition)]
    ms = s.download_s * 1000
    ratio = s.duration_s / s.download_s if s.download_s > 0 else float("inf")
    if ms > lim.max_download_ms or ratio < lim.min_download_ratio:
        out.append(Verdict(SEGMENT_SLOW, rendition, True,
                           f"{who}: segment took {ms:.0f} ms for {s.duration_s:.1f} s of media "
                           f"(limit {lim.max_download_ms:.0f} ms, ratio {ratio:.1f} < "
                           f"{lim.min_download_ratio:g})" if ratio < lim.min_download_ratio else
                           f"{who}: segment took {ms:.0f} ms (limit {lim.max_download_ms:.0f} ms)",
                           {"download_ms": round(ms, 1), "ratio": round(ratio, 2),
                            "segment": s.uri}))
    else:
        out.append(ok(SEGMENT_SLOW, rendition))
    if s.invalid_reason:
        out.append(Verdict(SEGMENT_INVALID, rendition, True, f"{who}: {s.invalid_reason}",
                           {"segment": s.uri, "size": s.size}))
    else:
        out.append(ok(SEGMENT_INVALID, rendition))
    if lim.declared_bps > 0 and s.duration_s > 0:
        bps = s.size * 8 / s.duration_s
        if bps > lim.declared_bps * lim.bitrate_factor:
            out.append(Verdict(SEGMENT_BITRATE_DEVIATION, rendition, True,
                               f"{who}: segment bitrate {bps / 1000:.0f} kbit/s above the declared "
                               f"{lim.declared_bps / 1000:.0f} kbit/s",
                               {"bitrate_bps": round(bps), "declared_bps": lim.declared_bps}))
        else:
            out.append(ok(SEGMENT_BITRATE_DEVIATION, rendition))
    return out
