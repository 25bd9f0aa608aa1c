"""Notifier fixtures: a Bot API stand-in, a real SMTP server, a notifier running in a thread."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.orm import Session, sessionmaker

from castwatch.common.models import NotificationRule, Recipient
from castwatch.notifier.cli import serve
from castwatch.notifier.settings import NotifySettings, SmtpSettings, TelegramSettings
from castwatch.settings import Settings
from castwatch.simulators.telegram.standin import BotApiStandIn
from tests.support.egress import LOOPBACK


def wait_for(predicate: Callable[[], Any], timeout: float = 15.0, every: float = 0.05) -> Any:
    """Poll ``predicate`` until truthy (returned) or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout}s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SmtpRecorder:
    """aiosmtpd handler: records messages; ``script`` holds canned replies for the next DATAs."""

    messages: list[EmailMessage] = field(default_factory=list)
    script: list[str] = field(default_factory=list)
    attempts: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.attempts += 1
        if self.script:
            return self.script.pop(0)
        self.messages.append(message_from_bytes(  # type: ignore[arg-type]
            envelope.original_content or envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture()
def smtp() -> Iterator[tuple[SmtpRecorder, int]]:
    recorder = SmtpRecorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    try:
        yield recorder, port
    finally:
        controller.stop()


@dataclass
class HttpRequest:
    at: float
    path: str
    headers: dict[str, str]
    body: bytes


class HttpStandIn:
    """A loopback HTTP server for JSON transports (Slack incoming webhooks, webhooks): records
    every POST; ``script`` holds canned answers ``(status, body, headers)`` for the next ones
    (then 200 "ok")."""

    def __init__(self) -> None:
        self.requests: list[HttpRequest] = []
        self.script: list[tuple[int, str, dict[str, str]]] = []
        self._lock = threading.Lock()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with standin._lock:
                    standin.requests.append(
                        HttpRequest(time.monotonic(), self.path, dict(self.headers), body))
                    status, text, headers = standin.script.pop(0) if standin.script else (200, "ok", {})
                payload = text.encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self._server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def received(self, path: str | None = None) -> list[HttpRequest]:
        with self._lock:
            return [r for r in self.requests if path is None or r.path == path]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture()
def http_standin() -> Iterator[HttpStandIn]:
    server = HttpStandIn()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def standin() -> Iterator[BotApiStandIn]:
    server = BotApiStandIn(max_long_poll_s=0.5).start()
    try:
        yield server
    finally:
        server.stop()


def notify_settings(standin: BotApiStandIn | None = None, smtp_port: int | None = None,
                    **overrides: Any) -> NotifySettings:
    """Fast settings for tests: short polls, quick retries, no metrics port."""
    telegram = TelegramSettings(token=standin.token, api_base_url=standin.base_url, timeout_s=5,
                                long_poll_s=1, per_chat_per_s=1.0) if standin else TelegramSettings()
    smtp = SmtpSettings(host="127.0.0.1", port=smtp_port, security="none", timeout_s=5,
                        sender="castwatch@example.test") if smtp_port else SmtpSettings()
    base = NotifySettings(metrics_bind=("127.0.0.1", 0), poll_interval_s=0.2, retry_base_s=0.2,
                          retry_max_s=1.0, claim_timeout_s=4.0, incident_update_s=0.5, telegram=telegram,
                          smtp=smtp, egress=LOOPBACK)
    return replace(base, **overrides)


class NotifierThread:
    """``castwatch notify``'s serve() in a thread with its own event loop."""

    def __init__(self, database_url: str, settings: NotifySettings) -> None:
        self._settings = Settings(database_url=database_url, notify=settings)
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="notifier", daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self._ready.set()
            assert self._settings.database_url is not None
            await serve(self._settings.database_url, self._settings, None, True, self._stop)

        asyncio.run(main())

    def __enter__(self) -> NotifierThread:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *_exc: object) -> None:
        if not self._thread.is_alive():  # already stopped (a test restarting the notifier)
            return
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)
        assert not self._thread.is_alive(), "notifier did not stop"


@pytest.fixture()
def notifier(
        database_url: str, session_factory: sessionmaker[Session]) -> Iterator[Callable[..., NotifierThread]]:
    """Factory: ``notifier(settings)`` starts a notifier that is stopped after the test."""
    started: list[NotifierThread] = []

    def start(settings: NotifySettings) -> NotifierThread:
        thread = NotifierThread(database_url, settings).__enter__()
        started.append(thread)
        return thread

    yield start
    for thread in started:
        thread.__exit__(None, None, None)


def add_person(db: Session, name: str, role: str = "technician", **kw: Any) -> Recipient:
    person = Recipient(name=name, role=role, **kw)
    db.add(person)
    db.flush()
    return person


def add_rule(db: Session, name: str = "all", **kw: Any) -> NotificationRule:
    kw.setdefault("roles", ["technician"])
    kw.setdefault("group_wait_s", 0)
    rule = NotificationRule(name=name, **kw)
    db.add(rule)
    db.flush()
    return rule
