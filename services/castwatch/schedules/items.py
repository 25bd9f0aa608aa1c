"""What every schedule importer produces, and how a title says what kind of item it is.

An importer turns a document into a :class:`Parsed`: the items to store (each ``scheduled``
or ``cancelled``), what it read but did not believe (:class:`Ignored`, with a reason, for the
preview), and a few counts about the document itself (:attr:`Parsed.stats`) that the import
service compares with the last good import to tell an empty schedule from a broken source.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: Titles that are live events (a meeting to stream), unless a source sets ``live_pattern``.
LIVE_PATTERN = r"(?i)\b(live|council|meeting|commission|board|hearing|session|committee)\b"
#: Words that mark an entry as cancelled (imported as ``cancelled``: shown, never alerted).
CANCELLED_PATTERN = r"(?i)\b(cancel+ed|cancel+ation|postponed|rescheduled)\b"
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
    status: str = "scheduled"  # scheduled | cancelled (a cancelled item never alerts)


#: Longest excerpt of a remote document kept in an :class:`Ignored` (shown only in the preview).
EXCERPT_CHARS = 160


@dataclass(frozen=True)
class Ignored:
    """Something read from a source and not imported: an excerpt and why."""

    text: str
    reason: str


def ignored(text: str, reason: str) -> Ignored:
    """An :class:`Ignored` with ``text`` squeezed to one line of at most :data:`EXCERPT_CHARS`."""
    line = " ".join(str(text).split())
    return Ignored(line if len(line) <= EXCERPT_CHARS else line[:EXCERPT_CHARS - 1] + "…", reason)


@dataclass(frozen=True)
class Parsed:
    """One import's outcome. ``stats`` counts the whole document, not just the window:
    ``found`` (entries recognised, any date), and per kind e.g. ``tables`` (HTML tables) —
    :func:`castwatch.schedules.judge.judge` compares them with the last good import."""

    items: list[ImportedItem]
    ignored: list[Ignored] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)


def _pattern(options: Mapping[str, Any], name: str, default: str) -> re.Pattern[str]:
    raw = options.get(name) or default
    try:
        return re.compile(str(raw))
    except re.error as exc:
        raise ScheduleError(f"option {name}: {exc}") from exc


def zone(options: Mapping[str, Any]) -> ZoneInfo:
    """The source's time zone (``options["timezone"]``, an IANA name; default UTC)."""
    name = str(options.get("timezone") or "UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ScheduleError(f"unknown time zone {name[:64]!r}") from exc


def is_cancelled(text: str) -> bool:
    """Does ``text`` (a row, a line, a status) say the entry is cancelled or postponed?"""
    return re.search(CANCELLED_PATTERN, text) is not None


def classify(title: str, options: Mapping[str, Any], default: str = "show") -> str:
    """``off_air`` or ``live_event`` by the source's patterns (off-air wins), else ``default``."""
    if _pattern(options, "off_air_pattern", OFF_AIR_PATTERN).search(title):
        return "off_air"
    if _pattern(options, "live_pattern", LIVE_PATTERN).search(title):
        return "live_event"
    return default
