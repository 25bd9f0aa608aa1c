"""Meeting dates from a city's web page (HTML) or PDF agenda.

Per source (``options``): ``pattern``, a regex with named groups ``date`` and optionally
``time`` and ``title``; ``date_format``/``time_format`` (``strptime``, default
``%B %d, %Y`` / ``%I:%M %p``); ``timezone``; ``duration_min`` (default 120); ``title``
(default ``Meeting``); ``default_time`` (``HH:MM``, default 18:00: the time of a pattern match
without one, and of a cancelled row that gives none); ``body`` (the body's name, e.g. ``City
Council``; a string or a list); ``meeting_pattern`` (replaces :data:`MEETING_WORDS`).

When the pattern is missing or finds nothing, the **fallback** reads the text line by line
(an HTML table row is one line) and believes a line only when it reads like a meeting
announcement: a date in a common form (``January 5, 2026``, ``Jan. 5th 2026``, ``1/5/2026``,
``2026-01-05``) that is not a posting/effective/minutes date (:data:`NOT_A_MEETING`), a time
(``6:00 PM``, ``6 p.m.``, ``18:00``; on the same line or, for an agenda, starting the next), and the
body's name or a meeting word on the line (or, for a date alone on its line, within three lines
above). A line saying cancelled/postponed is imported as ``cancelled`` (its time may be
missing). Every other dated line is ignored, with its reason, in :attr:`Parsed.ignored`.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from html.parser import HTMLParser
from typing import Any

from castwatch.schedules.http import ScheduleHttp
from castwatch.schedules.items import (
    Ignored,
    ImportedItem,
    Parsed,
    ScheduleError,
    classify,
    ignored,
    is_cancelled,
    zone,
)

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DATE_WORDS = re.compile(
    r"(?i)\b(?P<month>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?"
    r"\s+(?P<year>\d{4})\b")
_DATE_US = re.compile(r"\b(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4}|\d{2})\b")
_DATE_ISO = re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})\b")
_TIME_12 = re.compile(r"(?i)\b(?P<h>1[0-2]|0?[1-9])(?::(?P<min>[0-5]\d))?\s*(?P<ap>[ap])\.?\s*m\b\.?")
_TIME_24 = re.compile(r"\b(?P<h>[01]?\d|2[0-3]):(?P<min>[0-5]\d)\b")
#: Words naming a meeting (or the body that meets), unless a source sets ``meeting_pattern``.
MEETING_WORDS = (r"(?i)\b(meetings?|council|commission|board|hearings?|session|committee|workshop|"
                 r"authority|trustees|assembly|caucus|selectboard|supervisors|aldermen|legislature|"
                 r"town hall|task force)\b")
#: Words just before a date that make it something other than a meeting's date.
NOT_A_MEETING = re.compile(
    r"(?i)\b(posted|effective|effect|updated|published|adopted|approved|dated|minutes|revised|as of|"
    r"through|until|deadline|due|expires?|printed|issued|filed|received|copyright|since)\b"
    r"[^.;]{0,40}$")
_BLOCK = {"p", "div", "li", "tr", "br", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article",
          "table", "ul", "ol", "dt", "dd"}


class _Text(HTMLParser):
    """Visible text, one block per line; a table row is one line; counts tables with rows."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._rows: list[int] = []  # rows seen per open table
        self._in_row = 0
        self.tables = 0  # tables with at least two rows

    def _break(self, tag: str) -> None:
        inside = self._in_row and tag not in ("tr", "table")
        self.parts.append(" " if inside else "\n")

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "table":
            self._rows.append(0)
        elif tag == "tr":
            self._in_row += 1
            if self._rows:
                self._rows[-1] += 1
        if tag in _BLOCK:
            self._break(tag)
        elif tag in ("td", "th"):
            self.parts.append("\t")  # cells stay apart: a row's title is its first cell

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag == "table" and self._rows:
            self.tables += int(self._rows.pop() >= 2)
        elif tag == "tr":
            self._in_row = max(0, self._in_row - 1)
        if tag in _BLOCK:
            self._break(tag)

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_text(html: str) -> str:
    """Visible text of an HTML page, one block element (or table row) per line."""
    return html_page(html)[0]


def html_page(html: str) -> tuple[str, int]:
    """Visible text of an HTML page and how many tables (of two rows or more) it has."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts), parser.tables


def pdf_text(data: bytes) -> str:
    """Text of every page of a PDF (pdfplumber)."""
    import pdfplumber  # imported here: only PDF sources need it

    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            return "\n".join(page.extract_text() or "" for page in pdf.pages)
    except Exception as exc:  # pdfminer raises many unrelated types for a broken file
        raise ScheduleError(f"pdf: cannot read the agenda: {exc}") from exc


def find_dates(line: str) -> list[tuple[date, tuple[int, int]]]:
    """Every date in ``line`` in a common form, with its span, left to right."""
    found: list[tuple[date, tuple[int, int]]] = []
    for regex in (_DATE_WORDS, _DATE_ISO, _DATE_US):
        for m in regex.finditer(line):
            if any(a < m.end() and m.start() < b for _, (a, b) in found):
                continue  # part of a date already found (2026-01-05 is not also 01/05)
            try:
                if regex is _DATE_WORDS:
                    month = _MONTHS.index(m["month"][:3].lower()) + 1
                    day = date(int(m["year"]), month, int(m["day"]))
                else:
                    year = int(m["y"]) + (2000 if len(m["y"]) == 2 else 0)
                    day = date(year, int(m["m"]), int(m["d"]))
            except ValueError:  # 2/30/2026
                continue
            found.append((day, m.span()))
    return sorted(found, key=lambda f: f[1])


def find_date(line: str) -> tuple[date, tuple[int, int]] | None:
    """The first date in ``line`` in a common form, and its span."""
    dates = find_dates(line)
    return dates[0] if dates else None


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
    """The line without its date/time, weekday names, separators and trailing link words; for
    a table row (cells apart by tabs), the first cell with anything left."""
    chars = list(line)
    for a, b in spans:
        chars[a:b] = " " * (b - a)
    for cell in "".join(chars).split("\t"):
        title = _WEEKDAY.sub(" ", cell)
        title = re.sub(f"[{_SEPARATORS}]{{2,}}", " ", title)
        title = re.sub(f"^[{_SEPARATORS}]+|[{_SEPARATORS}]+$", "", re.sub(r"\s+", " ", title))
        title = re.sub(r"(?i)^(at|on)\s+|\s+(at|on)$", "", title).strip()
        title = _LINK_WORDS.sub("", " " + title).strip()
        if title:
            return title
    return ""


class _Words:
    """The meeting words, and the body's name(s) when the source gives them."""

    def __init__(self, options: Mapping[str, Any]) -> None:
        try:
            self._patterns = [re.compile(str(options.get("meeting_pattern") or MEETING_WORDS))]
        except re.error as exc:
            raise ScheduleError(f"option meeting_pattern: {exc}") from exc
        bodies = options.get("body") or []
        names = [bodies] if isinstance(bodies, str) else [str(b) for b in bodies]
        self._patterns += [re.compile(r"\b" + re.escape(n.strip()) + r"\b", re.IGNORECASE)
                           for n in names if n.strip()]

    def search(self, text: str) -> bool:
        return any(p.search(text) for p in self._patterns)


def _title_near(lines: list[str], n: int, words: _Words) -> str | None:
    """For a date alone on its line (a PDF agenda): the closest line above naming a meeting."""
    for back in range(1, 4):
        if n - back >= 0 and words.search(lines[n - back]) and not find_dates(lines[n - back]):
            return re.sub(r"(?i)^(regular|special)?\s*meeting of the\s+", "", lines[n - back].strip()).title()
    return None


def _item(day: date, at: time, title: str, options: Mapping[str, Any], *, found_by: str,
          cancelled: bool = False) -> ImportedItem:
    start = datetime.combine(day, at, tzinfo=zone(options))
    length = timedelta(minutes=float(options.get("duration_min") or 120))
    return ImportedItem(external_id=f"meeting:{start:%Y%m%dT%H%M}", title=title[:500],
                        kind=classify(title, options, default="live_event"), starts_at=start,
                        ends_at=start + length, details={"found_by": found_by},
                        status="cancelled" if cancelled else "scheduled")


def _default_time(options: Mapping[str, Any]) -> time:
    try:
        return time.fromisoformat(str(options.get("default_time") or "18:00"))
    except ValueError as exc:
        raise ScheduleError("option default_time: use HH:MM") from exc


def _by_pattern(text: str, options: Mapping[str, Any]) -> list[ImportedItem]:
    """What the source's own pattern finds (trusted: the station wrote it)."""
    try:
        pattern = re.compile(str(options["pattern"]), re.MULTILINE)
    except re.error as exc:
        raise ScheduleError(f"option pattern: {exc}") from exc
    if "date" not in pattern.groupindex:
        raise ScheduleError("option pattern: needs a named group (?P<date>…)")
    date_fmt = str(options.get("date_format") or "%B %d, %Y")
    time_fmt = str(options.get("time_format") or "%I:%M %p")
    default_at = _default_time(options)
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
        line_end = text.find("\n", m.end())
        rest = text[m.start():line_end if line_end >= 0 else len(text)]
        out.append(_item(day, at, title, options, found_by="pattern", cancelled=is_cancelled(rest)))
    return out


def _meeting_date(line: str) -> tuple[tuple[date, tuple[int, int]] | None, list[tuple[int, int]]]:
    """The line's first date that may be a meeting's, and the spans of the others (a posting,
    effective or minutes date, with the time right after it) to leave out of the line."""
    left_out: list[tuple[int, int]] = []
    chosen = None
    for day, (a, b) in find_dates(line):
        if NOT_A_MEETING.search(line[max(0, a - 50):a]):
            t = find_time(line[b:b + 16])
            left_out.append((a, b + t[1][1] if t else b))
        elif chosen is None:
            chosen = (day, (a, b))
    return chosen, left_out


def _leading_time(line: str) -> tuple[time, tuple[int, int]] | None:
    """The time a line starts with ("6:00 P.M.", "at 7 pm, Council Chambers"), if it has no
    date: an agenda's time line, not a body line that happens to hold a time."""
    stripped = line.strip()
    t = find_time(stripped)
    if t is None or find_dates(stripped) or t[1][0] > 4:
        return None
    return t


def _blank(line: str, spans: Iterable[tuple[int, int]]) -> str:
    chars = list(line)
    for a, b in spans:
        chars[a:b] = " " * (b - a)
    return "".join(chars)


def _by_fallback(text: str, options: Mapping[str, Any]) -> tuple[list[ImportedItem], list[Ignored]]:
    """Lines that read like a meeting announcement, and every other dated line with why not."""
    words = _Words(options)
    default_at = _default_time(options)
    lines = text.splitlines()
    out: list[ImportedItem] = []
    skipped: list[Ignored] = []
    for n, raw in enumerate(lines):
        found, left_out = _meeting_date(raw)
        if found is None:
            if left_out:
                skipped.append(ignored(raw, "a posting, effective or minutes date, not a meeting"))
            continue
        day, dspan = found
        line = _blank(raw, left_out)
        t = find_time(_blank(line, [dspan]))
        spans = [*left_out, dspan] + ([t[1]] if t else [])
        title = _clean_title(raw, spans)
        if t is None and n + 1 < len(lines):
            t = _leading_time(lines[n + 1])  # agendas put the time on the next line
        cancelled = is_cancelled(line) or (not title and n + 1 < len(lines) and is_cancelled(lines[n + 1]))
        if title and words.search(_blank(line, [dspan])):
            pass
        elif not title and (near := _title_near(lines, n, words)) is not None:
            title = near
        else:
            skipped.append(ignored(raw, "no meeting word or body name on the line"))
            continue
        if t is None and not cancelled:
            skipped.append(ignored(raw, "a date without a time is not a meeting announcement"))
            continue
        out.append(_item(day, t[0] if t else default_at, title, options, found_by="fallback",
                         cancelled=cancelled))
    return out, skipped


def parse_meetings(text: str, options: Mapping[str, Any], start: datetime,
                   end: datetime) -> Parsed:
    """Meetings in ``text`` overlapping ``[start, end)``, by the source's pattern, else by the
    fallback; duplicates (same start) are dropped, first kept. ``stats["found"]`` counts the
    meetings recognised at any date."""
    found = _by_pattern(text, options) if options.get("pattern") else []
    skipped: list[Ignored] = []
    if not found:
        found, skipped = _by_fallback(text, options)
    seen: set[str] = set()
    out = []
    for item in sorted(found, key=lambda i: i.starts_at):
        if item.external_id in seen:
            continue
        seen.add(item.external_id)
        if item.starts_at < end and item.ends_at > start:
            out.append(item)
    return Parsed(out, skipped, {"found": len(seen), "ignored": len(skipped)})


def parse_document(data: bytes, options: Mapping[str, Any], start: datetime, end: datetime, *,
                   pdf: bool) -> Parsed:
    """A fetched page (HTML, any charset) or PDF agenda, parsed (pure). HTML adds
    ``stats["tables"]`` (tables of two rows or more)."""
    if pdf:
        return parse_meetings(pdf_text(data), options, start, end)
    try:
        html = data.decode("utf-8")
    except UnicodeDecodeError:
        html = data.decode("cp1252", errors="replace")
    text, tables = html_page(html)
    parsed = parse_meetings(text, options, start, end)
    return Parsed(parsed.items, parsed.ignored, {**parsed.stats, "tables": tables})


def fetch(url: str, options: Mapping[str, Any], start: datetime, end: datetime, *, pdf: bool,
          http: ScheduleHttp) -> Parsed:
    body, _ = http.get("pdf" if pdf else "html", url)
    return parse_document(body, options, start, end, pdf=pdf)
