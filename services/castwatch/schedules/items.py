"""What every schedule importer produces, and how a title says what kind of item it is."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: Titles that are live events (a meeting to stream), unless a source sets ``live_pattern``.
LIVE_PATTERN = r"(?i)\b(live|council|meeting|commission|board|hearing|session|committee)\b"
#: Titles that are planned off-air times, unless a source sets ``off_air_pattern``.
OFF_AIR_PATTERN = r"(?i)\b(off[- ]?air|sign[- ]?off|maintenance|color ?bars)\b"


class ScheduleError(Exception):
    """A source that cannot be fetched or parsed; the message says which and why."""


@dataclass(frozen=True)
class ImportedItem:
    external_id: str
    title: str
    kind: str  # show | live_event | off_air
    starts_at: datetime
    ends_at: datetime
    details: dict[str, Any] = field(default_factory=dict)


def _pattern(options: Mapping[str, Any], name: str, default: str) -> re.Pattern[str]:
    raw = options.get(name) or default
    try:
        return re.compile(str(raw))
    except re.error as exc:
        raise ScheduleError(f"option {name}: {exc}") from exc


def classify(title: str, options: Mapping[str, Any], default: str = "show") -> str:
    """``off_air`` or ``live_event`` by the source's patterns (off-air wins), else ``default``."""
    if _pattern(options, "off_air_pattern", OFF_AIR_PATTERN).search(title):
        return "off_air"
    if _pattern(options, "live_pattern", LIVE_PATTERN).search(title):
        return "live_event"
    return default
