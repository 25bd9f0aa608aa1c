"""Meeting dates from a city's web page (HTML) or PDF agenda.

Per source (``options``): ``pattern``, a regex with named groups ``date`` and optionally
``time`` and ``title``; ``date_format``/``time_format`` (``strptime``, default
``%B %d, %Y`` / ``%I:%M %p``); ``timezone``; ``duration_min`` (default 120); ``title``
(default ``Meeting``); ``default_time`` (``HH:MM`` when a line has no time, default 18:00).
When the pattern is missing or finds nothing, the fallback scans every line for a date in a
common form (``January 5, 2026``, ``Jan. 5th 2026``, ``1/5/2026``, ``2026-01-05``) and a time
(``6:00 PM``, ``6 p.m.``, ``18:00``), and uses the rest of the line as the title.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo

from castwatch.schedules.http import ScheduleHttp
from castwatch.schedules.items import ImportedItem, ScheduleError, classify

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DATE_WORDS = re.compile(
    r"(?i)\b(?P<month>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?"
    r"\s+(?P<year>\d{4})\b")
_DATE_US = re.compile(r"\b(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4}|\d{2})\b")
_DATE_ISO = re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})\b")
_TIME_12 = re.compile(r"(?i)\b(?P<h>1[0-2]|0?[1-9])(?::(?P<min>[0-5]\d))?\s*(?P<ap>[ap])\.?\s*m\b\.?")
_TIME_24 = re.compile(r"\b(?P<h>[01]?\d|2[0-3]):(?P<min>[0-5]\d)\b")
_BLOCK = {"p", "div", "li", "tr", "br", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article",
          "table", "ul", "ol", "dt", "dd"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in _BLOCK:
            self.parts.append("\n")
        elif tag == "td":
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_text(html: str) -> str:
    """Visible text of an HTML page, one block element per line."""
    parser = _Text()
    parser.feed(html)
    return "".join(parser.parts)


def pdf_text(data: bytes) -> str:
    """Text of every page of a PDF (pdfplumber)."""
    import pdfplumber  # imported here: only PDF sources need it

    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            return "\n".join(page.extract_text() or "" for page in pdf.pages)
    except Exception as exc:  # pdfminer raises many unrelated types for a broken file
        raise ScheduleError(f"pdf: cannot read the agenda: {exc}") from exc


def find_date(line: str) -> tuple[date, tuple[int, int]] | None:
    """The first date in ``line`` in a common form, and its span."""
    m = _DATE_WORDS.search(line)
    try:
        if m:
            month = _MONTHS.index(m["month"][:3].lower()) + 1
            return date(int(m["year"]), month, int(m["day"])), m.span()
        m = _DATE_ISO.search(line)
        if m:
            return date(int(m["y"]), int(m["m"]), int(m["d"])), m.span()
        m = _DATE_US.search(line)
        if m:
            year = int(m["y"]) + (2000 if len(m["y"]) == 2 else 0)
            return date(year, int(m["m"]), int(m["d"])), m.span()
    except ValueError:  # 2/30/2026
        return None
    return None


def find_time(line: str) -> tuple[time, tuple[int, int]] | None:
    m = _TIME_12.search(line)
    if m:
        hour = int(m["h"]) % 12 + (12 if m["ap"].lower() == "p" else 0)
        return time(hour, int(m["min"] or 0)), m.span()
    m = _TIME_24.search(line)
    if m:
        return time(int(m["h"]), int(m["min"])), m.span()
    return None


_WEEKDAY = re.compile(r"(?i)\b(mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(day|nesday|sday|urday)?\b\.?")
_LINK_WORDS = re.compile(r"(?i)(\s+\b(agenda|minutes|video|packet|watch)\b)+\s*$")
_SEPARATORS = "\\s\\-–—:|,@·•*"


def _clean_title(line: str, spans: Iterable[tuple[int, int]]) -> str:
    """The line without its date/time, weekday names, separators and trailing link words."""
    chars = list(line)
    for a, b in spans:
        chars[a:b] = " " * (b - a)
    title = _WEEKDAY.sub(" ", "".join(chars))
    title = re.sub(f"[{_SEPARATORS}]{{2,}}", " ", title)
    title = re.sub(f"^[{_SEPARATORS}]+|[{_SEPARATORS}]+$", "", re.sub(r"\s+", " ", title))
    title = re.sub(r"(?i)^(at|on)\s+|\s+(at|on)$", "", title).strip()
    return _LINK_WORDS.sub("", title).strip()


def _title_near(lines: list[str], n: int, fallback: str) -> str:
    """For a date alone on its line (a PDF agenda): the closest line above naming a meeting."""
    from castwatch.schedules.items import LIVE_PATTERN

    for back in range(1, 4):
        if n - back >= 0 and re.search(LIVE_PATTERN, lines[n - back]):
            return re.sub(r"(?i)^(regular|special)?\s*meeting of the\s+", "", lines[n - back].strip()).title()
    return fallback


def _item(day: date, at: time, title: str, options: Mapping[str, Any]) -> ImportedItem:
    tz = ZoneInfo(str(options.get("timezone") or "UTC"))
    start = datetime.combine(day, at, tzinfo=tz)
    length = timedelta(minutes=float(options.get("duration_min") or 120))
    return ImportedItem(external_id=f"meeting:{start:%Y%m%dT%H%M}", title=title[:500],
                        kind=classify(title, options, default="live_event"), starts_at=start,
                        ends_at=start + length, details={"found_by": options.get("_found_by", "")})


def _by_pattern(text: str, options: Mapping[str, Any]) -> list[ImportedItem]:
    try:
        pattern = re.compile(str(options["pattern"]), re.MULTILINE)
    except re.error as exc:
        raise ScheduleError(f"option pattern: {exc}") from exc
    if "date" not in pattern.groupindex:
        raise ScheduleError("option pattern: needs a named group (?P<date>…)")
    date_fmt = str(options.get("date_format") or "%B %d, %Y")
    time_fmt = str(options.get("time_format") or "%I:%M %p")
    default_at = time.fromisoformat(str(options.get("default_time") or "18:00"))
    out = []
    for m in pattern.finditer(text):
        try:
            day = datetime.strptime(re.sub(r"\s+", " ", m["date"].strip()), date_fmt).date()
            raw_time = m.groupdict().get("time")
            at = datetime.strptime(raw_time.strip().upper().replace(".", ""), time_fmt).time() \
                if raw_time else default_at
        except ValueError:
            continue  # a line the pattern caught but that is not a date: the fallback may do better
        title = (m.groupdict().get("title") or "").strip() or str(options.get("title") or "Meeting")
        out.append(_item(day, at, title, {**options, "_found_by": "pattern"}))
    return out


def _by_fallback(text: str, options: Mapping[str, Any]) -> list[ImportedItem]:
    default_at = time.fromisoformat(str(options.get("default_time") or "18:00"))
    fallback_title = str(options.get("title") or "Meeting")
    lines = text.splitlines()
    out = []
    for n, line in enumerate(lines):
        found = find_date(line)
        if found is None:
            continue
        day, dspan = found
        rest = line[:dspan[0]] + " " * (dspan[1] - dspan[0]) + line[dspan[1]:]
        t = find_time(rest)
        spans = [dspan] if t is None else [dspan, t[1]]
        if t is None and n + 1 < len(lines) and find_date(lines[n + 1]) is None:
            t = find_time(lines[n + 1])  # agendas put the time on the next line
        title = _clean_title(line, spans) or _title_near(lines, n, fallback_title)
        out.append(_item(day, t[0] if t else default_at, title, {**options, "_found_by": "fallback"}))
    return out


def parse_meetings(text: str, options: Mapping[str, Any], start: datetime,
                   end: datetime) -> list[ImportedItem]:
    """Meetings in ``text`` overlapping ``[start, end)``, by the source's pattern, else by the
    fallback; duplicates (same start) are dropped, first kept."""
    found = _by_pattern(text, options) if options.get("pattern") else []
    if not found:
        found = _by_fallback(text, options)
    seen: set[str] = set()
    out = []
    for item in sorted(found, key=lambda i: i.starts_at):
        if item.external_id in seen or not (item.starts_at < end and item.ends_at > start):
            continue
        seen.add(item.external_id)
        out.append(item)
    return out


def fetch(url: str, options: Mapping[str, Any], start: datetime, end: datetime, *, pdf: bool,
          http: ScheduleHttp) -> list[ImportedItem]:
    body, _ = http.get("pdf" if pdf else "html", url)
    text = pdf_text(body) if pdf else html_text(body.decode("utf-8", "replace"))
    return parse_meetings(text, options, start, end)
