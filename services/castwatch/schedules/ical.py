"""iCal (RFC 5545) feeds: one item per VEVENT occurrence in the window.

Recurrence is expanded by ``recurring-ical-events`` (RRULE, RDATE, EXDATE, RECURRENCE-ID
overrides including THISANDFUTURE, VTIMEZONE and DST), after ``x-wr-timezone`` has repaired
Google Calendar's ``X-WR-TIMEZONE`` exports. Outlook's Windows zone names (``TZID:Central
Standard Time``) resolve through the feed's VTIMEZONE, or icalendar's Windows→IANA table when
the feed has none. Floating times and all-day dates are in the source's time zone
(``options["timezone"]``, set by the service from the source's ``timezone``).

- An occurrence whose STATUS is CANCELLED (the master's or an override's) is imported as
  ``cancelled``: listed, never alerted.
- An all-day occurrence is no timed broadcast: imported only as ``off_air`` when its title
  says so, otherwise ignored.
- Hostile calendars are bounded: series recurring more often than daily, or starting more
  than :data:`MAX_SERIES_AGE` before the window, are ignored; at most :data:`MAX_SERIES`
  series and :data:`MAX_OCCURRENCES` occurrences are expanded.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
import requests
import x_wr_timezone

from castwatch.schedules.items import (
    Ignored,
    ImportedItem,
    Parsed,
    ScheduleError,
    classify,
    ignored,
    zone,
)

MAX_OCCURRENCES = 500
MAX_SERIES = 200
MAX_SERIES_AGE = timedelta(days=366 * 20)
_TOO_FREQUENT = {"SECONDLY", "MINUTELY", "HOURLY"}


def _aware(value: date | datetime, tz: ZoneInfo) -> datetime:
    if not isinstance(value, datetime):  # an all-day event
        return datetime.combine(value, time(0), tzinfo=tz)
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


def _guard(cal: icalendar.Calendar, start: datetime, tz: ZoneInfo) -> list[Ignored]:
    """Drop the series that would cost more to expand than any schedule is worth."""
    out: list[Ignored] = []
    series = 0
    for ev in list(cal.walk("VEVENT")):
        rule = ev.get("RRULE")
        if rule is None or ev.get("RECURRENCE-ID") is not None:
            continue
        title = str(ev.get("SUMMARY") or "event")
        freq = str((rule.get("FREQ") or [""])[0]).upper()
        reason = None
        if freq in _TOO_FREQUENT:
            reason = f"recurs {freq.lower()}: more often than any schedule"
        elif ev.get("DTSTART") is not None and _aware(ev.decoded("DTSTART"), tz) < start - MAX_SERIES_AGE:
            reason = "recurring series starts more than 20 years before the window"
        elif series >= MAX_SERIES:
            reason = f"more than {MAX_SERIES} recurring series in one calendar"
        else:
            series += 1
        if reason is not None:
            out.append(ignored(title, reason))
            for parent in cal.walk():
                parent.subcomponents[:] = [c for c in parent.subcomponents if c is not ev]
    return out


def parse_ical(data: bytes, options: Mapping[str, Any], start: datetime, end: datetime) -> Parsed:
    """Occurrences overlapping ``[start, end)`` (pure); ``stats["found"]`` counts the
    calendar's VEVENTs (any date)."""
    tz = zone(options)
    try:
        cal = x_wr_timezone.to_standard(icalendar.Calendar.from_ical(data))
    except (ValueError, TypeError, KeyError) as exc:
        raise ScheduleError(f"ical: not a calendar: {type(exc).__name__}") from exc
    found = len(cal.walk("VEVENT"))
    skipped = _guard(cal, start, tz)
    default = timedelta(minutes=float(options.get("duration_min") or 60))
    try:
        occurrences = recurring_ical_events.of(cal).between(start, end)
    except Exception as exc:  # the library raises its own and dateutil's types for a bad rule
        raise ScheduleError(f"ical: cannot expand the calendar: {type(exc).__name__}") from exc
    if len(occurrences) > MAX_OCCURRENCES:
        skipped.append(ignored(f"{len(occurrences) - MAX_OCCURRENCES} occurrences",
                               f"more than {MAX_OCCURRENCES} occurrences in the window"))
        occurrences = occurrences[:MAX_OCCURRENCES]
    items = []
    for ev in occurrences:
        item = _item(ev, options, tz, default)
        if isinstance(item, Ignored):
            skipped.append(item)
        elif item.starts_at < end and item.ends_at > start:
            items.append(item)
    return Parsed(sorted(items, key=lambda i: i.starts_at), skipped, {"found": found})


def _item(ev: icalendar.Event, options: Mapping[str, Any], tz: ZoneInfo,
          default: timedelta) -> ImportedItem | Ignored:
    """One occurrence as an item, or why it is not one."""
    title = str(ev.get("SUMMARY") or "event")
    if ev.get("DTSTART") is None:
        return ignored(title, "no DTSTART")
    raw = ev.decoded("DTSTART")
    first = _aware(raw, tz)
    if ev.get("DTEND") is not None:
        length = _aware(ev.decoded("DTEND"), tz) - first
    elif ev.get("DURATION") is not None:
        length = ev.decoded("DURATION")
    else:
        length = timedelta(days=1) if not isinstance(raw, datetime) else default
    kind = classify(title, options, default=str(options.get("default_kind") or "show"))
    if not isinstance(raw, datetime) and kind != "off_air":
        return ignored(f"{title} ({raw.isoformat()})", "all-day event: no start time to broadcast")
    if length <= timedelta(0):
        return ignored(title, "ends before it starts")
    uid = str(ev.get("UID") or f"{title}@{first.isoformat()}")
    cancelled = str(ev.get("STATUS", "")).upper() == "CANCELLED"
    return ImportedItem(
        external_id=f"ical:{uid}:{first.astimezone(UTC):%Y%m%dT%H%M}", title=title, kind=kind,
        starts_at=first, ends_at=first + length, status="cancelled" if cancelled else "scheduled",
        details={"location": str(ev.get("LOCATION") or "") or None})


def fetch(url: str, options: Mapping[str, Any], start: datetime, end: datetime,
          timeout_s: float = 10.0) -> Parsed:
    try:
        resp = requests.get(url, timeout=timeout_s)
        resp.raise_for_status()
    except requests.RequestException as exc:
        raise ScheduleError(f"ical: {url}: {exc}") from exc
    return parse_ical(resp.content, options, start, end)
