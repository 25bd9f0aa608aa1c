"""The SMTP sink: a real SMTP server (aiosmtpd) on loopback that accepts every message for any
recipient and keeps the last :data:`KEEP` of them (bounded), for the demo and for tests."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes, policy
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
