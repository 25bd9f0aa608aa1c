"""iCal (RFC 5545) feeds: one item per VEVENT occurrence in the window (RRULEs expanded)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
from dateutil.rrule import rrulestr

from castwatch.schedules.http import ScheduleHttp
from castwatch.schedules.items import ImportedItem, ScheduleError, classify

MAX_OCCURRENCES = 500


def _aware(value: date | datetime, tz: ZoneInfo) -> datetime:
    if not isinstance(value, datetime):  # an all-day event
        return datetime.combine(value, time(0), tzinfo=tz)
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


def parse_ical(data: bytes, options: Mapping[str, Any], start: datetime, end: datetime) -> list[ImportedItem]:
    """Occurrences overlapping ``[start, end)`` (pure). Floating times use ``options.timezone``."""
    tz = ZoneInfo(str(options.get("timezone") or "UTC"))
    try:
        cal = icalendar.Calendar.from_ical(data)
    except ValueError as exc:
        # not the parser's message: it quotes the offending line of the remote document
        raise ScheduleError(f"ical: not a calendar ({len(data)} bytes)") from exc
    default = timedelta(minutes=float(options.get("duration_min") or 60))
    out = []
    for ev in cal.walk("VEVENT"):
        if ev.get("DTSTART") is None or str(ev.get("STATUS", "")).upper() == "CANCELLED":
            continue
        first = _aware(ev.decoded("DTSTART"), tz)
        if ev.get("DTEND") is not None:
            length = _aware(ev.decoded("DTEND"), tz) - first
        elif ev.get("DURATION") is not None:
            length = ev.decoded("DURATION")
        else:
            length = default
        title = str(ev.get("SUMMARY") or "event")
        uid = str(ev.get("UID") or f"{title}@{first.isoformat()}")
        starts = [first]
        if ev.get("RRULE") is not None:
            raw_rule = ev["RRULE"].to_ical()
            text = raw_rule.decode() if isinstance(raw_rule, bytes) else str(raw_rule)
            rule = rrulestr(text, dtstart=first)
            starts = []
            for occurrence in rule.xafter(start - length, count=MAX_OCCURRENCES, inc=True):
                if occurrence >= end:
                    break
                starts.append(occurrence)
        for s in starts:
            if s < end and s + length > start:
                out.append(ImportedItem(
                    external_id=f"ical:{uid}:{s.astimezone(UTC):%Y%m%dT%H%M}", title=title,
                    kind=classify(title, options, default=str(options.get("default_kind") or "show")),
                    starts_at=s, ends_at=s + length,
                    details={"location": str(ev.get("LOCATION") or "") or None}))
    return sorted(out, key=lambda i: i.starts_at)


def fetch(url: str, options: Mapping[str, Any], start: datetime, end: datetime, *,
          http: ScheduleHttp) -> list[ImportedItem]:
    body, _ = http.get("ical", url)
    return parse_ical(body, options, start, end)
