"""The SMTP sink: a real SMTP server (aiosmtpd) on loopback that accepts every message for any
recipient and keeps the last :data:`KEEP` of them (bounded), for the demo and for tests.
:meth:`SmtpSink.serve_http` also lists them as JSON (``GET /messages``, newest first) on a
loopback HTTP port, for the console's demo inbox."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

#: messages kept (oldest dropped first) and the largest message accepted
KEEP = 500
MAX_MESSAGE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Received:
    """One message as the sink saw it: envelope, headers and the plain-text body."""

    number: int
    mail_from: str
    rcpt_to: tuple[str, ...]
    subject: str
    text: str


class SmtpSink:
    """``with SmtpSink(port=0) as sink: …`` — ``sink.port`` is where to send, ``sink.messages``
    what arrived. ``on_message`` (optional) is called with each :class:`Received`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0,
                 on_message: Callable[[Received], None] | None = None) -> None:
        self.messages: deque[Received] = deque(maxlen=KEEP)
        self._lock = threading.Lock()
        self._count = 0
        self._on_message = on_message
        self._http: ThreadingHTTPServer | None = None
        if port == 0:
            import socket

            with socket.socket() as s:
                s.bind((host, 0))
                port = int(s.getsockname()[1])
        self.host, self.port = host, port
        self._controller = Controller(self, hostname=host, port=port, ready_timeout=10,
                                      data_size_limit=MAX_MESSAGE_BYTES)

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()

    def listing(self, limit: int = 100) -> list[dict[str, Any]]:
        """The last ``limit`` messages, newest first, as JSON-ready dicts."""
        with self._lock:
            kept = list(self.messages)[-limit:]
        return [asdict(m) for m in reversed(kept)]

    def serve_http(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Serve ``GET /messages`` (``{"messages": [...]}``) until the sink stops; returns the port."""
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server naming)
                found = self.path.split("?")[0] == "/messages"
                data = json.dumps({"messages": sink.listing()} if found else {"error": "not found"}).encode()
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # silence
                return

        self._http = ThreadingHTTPServer((host, port), Handler)
        self._http.daemon_threads = True
        threading.Thread(target=self._http.serve_forever, name="smtp-sink-http", daemon=True).start()
        return int(self._http.server_address[1])

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        body = message.get_body(preferencelist=("plain", "html")) if message.is_multipart() else message
        text = body.get_content() if body is not None else ""  # type: ignore[union-attr]
        with self._lock:
            self._count += 1
            received = Received(self._count, str(envelope.mail_from), tuple(map(str, envelope.rcpt_tos)),
                                str(message.get("Subject", "")), str(text)[:20_000])
            self.messages.append(received)
        if self._on_message is not None:
            self._on_message(received)
        return "250 OK"
