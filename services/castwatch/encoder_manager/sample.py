"""The health sample every driver returns, and lenient parsing of vendors' numbers.

Contract: a field a device does not report is ``None`` — never 0 — so "no data" cannot be
mistaken for "zero drops" or "0 °C". Vendor quirks ("2,954", "0 kbps", "45 C", "N/A") are
parsed by :func:`parse_number`; anything unparseable becomes ``None``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

STATES = ("idle", "starting", "live", "degraded", "failed", "unknown")

_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def parse_number(value: Any) -> float | None:
    """A float from ``value``: numbers pass, strings are read leniently, else ``None``.

    ``"2,954"`` → 2954.0, ``"0 kbps"`` → 0.0, ``"45.5 C"`` → 45.5, ``"N/A"``/``""``/``None`` → None.
    Booleans are not numbers here (a JSON ``true`` is never a temperature).
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
        return number if math.isfinite(number) else None
    if not isinstance(value, str):
        return None
    text = value.strip().replace(",", "").replace("\u202f", "").replace(" ", " ")
    match = _NUMBER.search(text)
    if match is None:
        return None
    number = float(match.group(0))
    return number if math.isfinite(number) else None


def parse_int(value: Any) -> int | None:
    number = parse_number(value)
    return None if number is None else int(number)


@dataclass(frozen=True)
class LinkStats:
    """Network link of the stream output (SRT or similar); None when not reported."""

    rtt_ms: float | None = None
    lost: int | None = None
    retransmitted: int | None = None
    reconnections: int | None = None
    congestion: float | None = None


@dataclass(frozen=True)
class OutputStream:
    """One stream output of the device (an encoder may have several)."""

    name: str
    state: str = "unknown"
    bitrate_kbps: float | None = None


@dataclass(frozen=True)
class HealthSample:
    """One poll of one encoder. ``state`` is one of :data:`STATES`; ``vendor_state`` is raw."""

    reachable: bool
    state: str = "unknown"
    vendor_state: str | None = None
    temperature_c: float | None = None
    cpu_percent: float | None = None
    memory_percent: float | None = None
    bitrate_kbps: float | None = None
    frames_total: int | None = None
    frames_dropped: int | None = None
    encoder_resets: int | None = None
    link: LinkStats | None = None
    streams: tuple[OutputStream, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    #: local recording: True/False on devices that record (capability ``record``), else None;
    #: ``record_reason`` is the device's own word on why it is not recording, when it gives one
    recording: bool | None = None
    record_reason: str | None = None

    def __post_init__(self) -> None:
        if self.state not in STATES:
            raise ValueError(f"unknown state {self.state!r}")

    @classmethod
    def unreachable(cls, error: str) -> HealthSample:
        return cls(reachable=False, state="unknown", error=error)

    @property
    def live(self) -> bool:
        return self.reachable and self.state in ("live", "degraded")

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict (for ``encoders.last_sample``); ``raw`` is left out (it can be big)."""
        link = self.link
        return {
            "reachable": self.reachable, "state": self.state, "vendor_state": self.vendor_state,
            "temperature_c": self.temperature_c, "cpu_percent": self.cpu_percent,
            "memory_percent": self.memory_percent, "bitrate_kbps": self.bitrate_kbps,
            "frames_total": self.frames_total, "frames_dropped": self.frames_dropped,
            "encoder_resets": self.encoder_resets, "error": self.error,
            "recording": self.recording, "record_reason": self.record_reason,
            "link": None if link is None else {
                "rtt_ms": link.rtt_ms, "lost": link.lost, "retransmitted": link.retransmitted,
                "reconnections": link.reconnections, "congestion": link.congestion},
            "streams": [{"name": s.name, "state": s.state, "bitrate_kbps": s.bitrate_kbps}
                        for s in self.streams],
        }
