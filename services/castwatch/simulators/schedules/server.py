"""A loopback HTTP server playing every schedule source at once.

Paths: ``/cablecastapi/v1/scheduleitems`` (Cablecast JSON, filtered and paginated like the
real API), ``/calendar.ics``, ``/meetings.html`` (a standard city page),
``/meetings-odd.html`` (a non-standard one) and ``/agenda.pdf`` (the first event's agenda).
``fail`` makes every path answer 503 (a source that is down). ``documents`` maps a path to
``(content type, body)`` served as is (a recorded page, a redesigned one), before the above.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from castwatch.simulators.schedules import content
from castwatch.simulators.schedules.content import SimEvent


class ScheduleSimulator:
    def __init__(self, events: list[SimEvent], *, tz: str = "America/Chicago",
                 weekly: SimEvent | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.events = events
        self.tz = tz
        self.weekly = weekly
        self.fail = False
        self.documents: dict[str, tuple[str, bytes]] = {}
        self.requests: list[str] = []
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="schedule-sim", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> ScheduleSimulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def render(self, path: str, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        if self.fail:
            return 503, "text/plain", b"unavailable"
        if path in self.documents:
            ctype, body = self.documents[path]
            return 200, ctype, body
        if path == "/cablecastapi/v1/scheduleitems":
            def when(name: str, default: datetime) -> datetime:
                raw = query.get(name, [None])[0]
                return datetime.fromisoformat(raw) if raw else default

            page = content.cablecast_page(
                self.events, when("start", datetime.min.replace(tzinfo=UTC)),
                when("end", datetime.max.replace(tzinfo=UTC)), int(query.get("channel", ["1"])[0]),
                int(query.get("offset", ["0"])[0]), int(query.get("page_size", ["10"])[0]))
            return 200, "application/json", json.dumps(page).encode()
        if path == "/calendar.ics":
            return 200, "text/calendar", content.ics(self.events, self.weekly)
        if path == "/meetings.html":
            return 200, "text/html", content.meetings_html(self.events, self.tz).encode()
        if path == "/meetings-odd.html":
            return 200, "text/html", content.meetings_html_odd(self.events, self.tz).encode()
        if path == "/agenda.pdf" and self.events:
            return 200, "application/pdf", content.minimal_pdf(content.agenda_lines(self.events[0], self.tz))
        return 404, "text/plain", b"not found"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        sim = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                parts = urlsplit(self.path)
                sim.requests.append(self.path)
                status, ctype, body = sim.render(parts.path, parse_qs(parts.query))
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        return Handler
