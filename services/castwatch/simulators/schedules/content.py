"""What the schedule simulator serves, rendered from a list of events. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class SimEvent:
    title: str
    starts_at: datetime
    minutes: int = 60
    cablecast_channel: int = 1


def cablecast_page(events: Sequence[SimEvent], start: datetime, end: datetime, channel: int,
                   offset: int, page_size: int) -> dict:
    """A ``/cablecastapi/v1/scheduleitems`` answer with shows and reels sideloaded. Even
    shows carry ``totalRunTime``, odd ones only reels (both forms exist in the field)."""
    chosen = [(n, e) for n, e in enumerate(events, start=1)
              if e.cablecast_channel == channel and start <= e.starts_at < end]
    page = chosen[offset:offset + page_size]
    items, shows, reels = [], [], []
    for n, e in page:
        items.append({"id": 1000 + n, "channel": channel, "show": n, "deleted": False,
                      "runDateTime": e.starts_at.isoformat(), "runBump": 0, "runLock": False,
                      "cgExempt": False, "idType": 1, "bugText": "", "crawlText": ""})
        show = {"id": n, "title": e.title.upper(), "cgTitle": e.title, "reels": [5000 + n]}
        if n % 2 == 0:
            show["totalRunTime"] = e.minutes * 60
        shows.append(show)
        reels.append({"id": 5000 + n, "show": n, "length": e.minutes * 60, "media": 9000 + n})
    return {"scheduleItems": items, "shows": shows, "reels": reels}


def ics(events: Sequence[SimEvent], weekly: SimEvent | None = None) -> bytes:
    """An iCal feed: one VEVENT per event, and optionally a weekly recurring one."""
    def stamp(d: datetime) -> str:
        return d.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")

    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//castwatch//schedule simulator//EN"]
    for n, e in enumerate(events):
        lines += ["BEGIN:VEVENT", f"UID:sim-{n}@castwatch", f"DTSTAMP:{stamp(e.starts_at)}",
                  f"DTSTART:{stamp(e.starts_at)}",
                  f"DTEND:{stamp(e.starts_at + timedelta(minutes=e.minutes))}",
                  f"SUMMARY:{e.title}", "END:VEVENT"]
    if weekly is not None:
        lines += ["BEGIN:VEVENT", "UID:sim-weekly@castwatch", f"DTSTAMP:{stamp(weekly.starts_at)}",
                  f"DTSTART:{stamp(weekly.starts_at)}", f"DURATION:PT{weekly.minutes}M",
                  "RRULE:FREQ=WEEKLY;COUNT=4", f"SUMMARY:{weekly.title}", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


def meetings_html(events: Sequence[SimEvent], tz: str) -> str:
    """A city's meetings page: a table with 'January 5, 2026' and '6:00 PM' cells."""
    zone = ZoneInfo(tz)
    rows = "".join(
        f"<tr><td>{e.title}</td><td>{e.starts_at.astimezone(zone):%B %-d, %Y}</td>"
        f"<td>{e.starts_at.astimezone(zone):%-I:%M %p}</td><td><a href='#'>Agenda</a></td></tr>"
        for e in events)
    return ("<!doctype html><html><head><title>Meetings</title><style>td{padding:2px}</style>"
            "<script>var x = 'January 1, 2000 9:00 AM';</script></head><body><h1>Upcoming meetings</h1>"
            f"<table><tr><th>Body</th><th>Date</th><th>Time</th><th></th></tr>{rows}</table></body></html>")


def meetings_html_odd(events: Sequence[SimEvent], tz: str) -> str:
    """A non-standard page: '<b>Mon 1/5/26</b> · 6pm — Council work session' paragraphs."""
    zone = ZoneInfo(tz)
    paras = []
    for e in events:
        local = e.starts_at.astimezone(zone)
        when = f"{local:%-I%p}".lower()
        paras.append(f"<p><b>{local:%a %-m/%-d/%y}</b> &middot; {when} &mdash; {e.title}</p>")
    return f"<html><body><div class='news'>{''.join(paras)}</div></body></html>"


def agenda_lines(event: SimEvent, tz: str) -> list[str]:
    """An agenda's first page: body, date and time on separate lines, then items."""
    local = event.starts_at.astimezone(ZoneInfo(tz))
    return ["CITY OF SPRINGFIELD", f"REGULAR MEETING OF THE {event.title.upper()}",
            f"{local:%A, %B %-d, %Y}", f"{local:%-I:%M %p}".replace("AM", "A.M.").replace("PM", "P.M."),
            "COUNCIL CHAMBERS, 100 MAIN STREET", "1. CALL TO ORDER", "2. PUBLIC COMMENT",
            "3. APPROVAL OF MINUTES OF OCTOBER 3, 2019"]


def minimal_pdf(lines: Sequence[str]) -> bytes:
    """A valid one-page PDF showing ``lines`` in Helvetica (hand-written: no PDF library)."""
    def esc(s: str) -> str:
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    text = "BT /F1 12 Tf 16 TL 72 740 Td " + " ".join(f"({esc(line)}) Tj T*" for line in lines) + " ET"
    stream = text.encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >>"
        b" /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
