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
- Hostile calendars are bounded: series recurring more often than daily, and series that
  would take the calendar past :data:`MAX_EXPANSION` instances stepped through (a daily rule
  from decades ago, BYHOUR lists), are ignored; at most :data:`MAX_SERIES` series and
  :data:`MAX_OCCURRENCES` occurrences are expanded.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
import recurring_ical_events
import x_wr_timezone

from castwatch.schedules.http import ScheduleHttp
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
#: Instances the expansion may step through for one calendar (~60k/s on one core).
MAX_EXPANSION = 150_000
_TOO_FREQUENT = {"SECONDLY", "MINUTELY", "HOURLY"}
_PERIOD_S = {"DAILY": 86_400, "WEEKLY": 7 * 86_400, "MONTHLY": 28 * 86_400, "YEARLY": 365 * 86_400}


def _aware(value: date | datetime, tz: ZoneInfo) -> datetime:
    if not isinstance(value, datetime):  # an all-day event
        return datetime.combine(value, time(0), tzinfo=tz)
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


def _cost(rule: Any, first: datetime, end: datetime) -> float:
    """About how many instances the expansion steps through for ``rule`` from ``first`` to
    ``end`` (every period from DTSTART on, times the BY* lists that multiply each period)."""
    freq = str((rule.get("FREQ") or [""])[0]).upper()
    interval = max(1, int((rule.get("INTERVAL") or [1])[0]))
    until = (rule.get("UNTIL") or [None])[0]
    last = end
    if isinstance(until, datetime):
        last = min(end, until if until.tzinfo else until.replace(tzinfo=first.tzinfo))
    periods = max(0.0, (last - first).total_seconds()) / (_PERIOD_S[freq] * interval) + 1
    if rule.get("COUNT"):
        periods = min(periods, float(rule["COUNT"][0]))
    per_period = 1
    for part in ("BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO",
                 "BYMONTH", "BYSETPOS"):
        per_period *= max(1, len(rule.get(part) or []))
    return periods * per_period


def _guard(cal: icalendar.Calendar, end: datetime, tz: ZoneInfo) -> list[Ignored]:
    """Drop the series that would cost more to expand than any schedule is worth (a hostile or
    broken calendar costs its own source an error or a few ignored series, never the loop)."""
    out: list[Ignored] = []
    series, budget = 0, float(MAX_EXPANSION)
    for ev in list(cal.walk("VEVENT")):
        if (broken := _unreadable(ev)) is not None:
            out.append(ignored(str(ev.get("SUMMARY") or "event"), broken))
            _remove(cal, ev)
            continue
        rules = ev.get("RRULE")
        if rules is None or ev.get("RECURRENCE-ID") is not None:
            continue
        title = str(ev.get("SUMMARY") or "event")
        reason = None
        try:
            rules = rules if isinstance(rules, list) else [rules]
            freqs = {str((r.get("FREQ") or [""])[0]).upper() for r in rules}
            if freqs & _TOO_FREQUENT or not freqs <= set(_PERIOD_S):
                reason = f"recurs {'/'.join(sorted(freqs)).lower()}: not a broadcast schedule"
            else:
                cost = sum(_cost(r, _aware(ev.decoded("DTSTART"), tz), end) for r in rules)
                if cost > budget:
                    reason = f"recurring series too long to expand (about {cost:.0f} instances)"
                elif series >= MAX_SERIES:
                    reason = f"more than {MAX_SERIES} recurring series in one calendar"
                else:
                    series, budget = series + 1, budget - cost
        except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
            reason = f"unreadable recurrence ({type(exc).__name__})"
        if reason is not None:
            out.append(ignored(title, reason))
            _remove(cal, ev)
    return out


def _unreadable(ev: icalendar.cal.Component) -> str | None:
    """Why one VEVENT's times cannot be read (the others are still imported), or None."""
    broken = getattr(icalendar, "vBroken", ())  # icalendar ≥ 7 keeps unparsable values as vBroken
    for name in ("DTSTART", "DTEND", "DURATION", "RECURRENCE-ID", "EXDATE", "RDATE", "RRULE"):
        values = ev.get(name)
        if any(isinstance(v, broken) for v in (values if isinstance(values, list) else [values])):
            return f"unreadable {name}"
    try:
        for name in ("DTSTART", "DTEND", "DURATION", "RECURRENCE-ID"):
            if ev.get(name) is not None:
                ev.decoded(name)
        for name in ("EXDATE", "RDATE"):
            values = ev.get(name)
            for value in values if isinstance(values, list) else [values] if values is not None else []:
                _ = value.dts
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        return f"unreadable date or time ({type(exc).__name__})"
    return None


def _known_zone(name: Any) -> bool:
    try:
        return name is not None and ZoneInfo(str(name)) is not None
    except (ZoneInfoNotFoundError, ValueError):
        return False


def _remove(cal: icalendar.Calendar, ev: icalendar.cal.Component) -> None:
    for parent in cal.walk():
        parent.subcomponents[:] = [c for c in parent.subcomponents if c is not ev]


def parse_ical(data: bytes, options: Mapping[str, Any], start: datetime, end: datetime) -> Parsed:
    """Occurrences overlapping ``[start, end)`` (pure); ``stats["found"]`` counts the
    calendar's VEVENTs (any date)."""
    tz = zone(options)
    try:
        cal = icalendar.Calendar.from_ical(data)
    except (ValueError, TypeError, KeyError) as exc:
        # not the parser's message: it quotes the offending line of the remote document
        raise ScheduleError(f"ical: not a calendar ({len(data)} bytes)") from exc
    if _known_zone(cal.get("X-WR-TIMEZONE")):
        cal = x_wr_timezone.to_standard(cal)
    elif "X-WR-TIMEZONE" in cal:  # an unknown one is dropped: the events' own zones hold
        del cal["X-WR-TIMEZONE"]
    found = len(cal.walk("VEVENT"))
    skipped = _guard(cal, end, tz)
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
    if length == timedelta(0):
        length = default  # DTSTART alone (RFC 5545: ends when it starts): the source's default
    if length < timedelta(0):
        return ignored(title, "ends before it starts")
    uid = str(ev.get("UID") or f"{title}@{first.isoformat()}")
    cancelled = str(ev.get("STATUS", "")).upper() == "CANCELLED"
    return ImportedItem(
        external_id=f"ical:{uid}:{first.astimezone(UTC):%Y%m%dT%H%M}", title=title, kind=kind,
        starts_at=first, ends_at=first + length, status="cancelled" if cancelled else "scheduled",
        details={"location": str(ev.get("LOCATION") or "") or None})


def fetch(url: str, options: Mapping[str, Any], start: datetime, end: datetime, *,
          http: ScheduleHttp) -> Parsed:
    body, _ = http.get("ical", url)
    return parse_ical(body, options, start, end)
