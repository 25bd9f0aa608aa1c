"""Email transport: SMTP (STARTTLS, implicit TLS or plain) with multipart text + HTML.

Each message has a Message-ID (deterministic per delivery, so a resend after a crash carries
the same id and mail clients fold it); updates of an alert carry In-Reply-To/References to the
first message so they thread. SMTP 4xx and dropped connections are transient, 5xx permanent.
smtplib blocks, so each send runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from castwatch.notifier.render import Renderer
from castwatch.notifier.settings import NotifySettings, SmtpSettings
from castwatch.notifier.transports.base import (
    OutgoingMessage,
    RenderRequest,
    SendResult,
    Transport,
    TransportError,
)


def sender_domain(sender: str) -> str:
    return sender.rpartition("@")[2].strip(">") or "castwatch.local"


def build_email(message: OutgoingMessage, sender: str) -> EmailMessage:
    """The MIME message: text part, HTML alternative, threading headers."""
    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = sender
    mail["To"] = message.address
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = message.message_id or make_msgid(domain=sender_domain(sender))
    if message.thread_id and message.thread_id != mail["Message-ID"]:
        mail["In-Reply-To"] = message.thread_id
        mail["References"] = message.thread_id
    for name, value in message.headers.items():
        mail[name] = value
    mail.set_content(message.text)
    mail.add_alternative(message.html, subtype="html")
    return mail


def _classify(code: int, text: str) -> TransportError:
    return TransportError(f"smtp {code}: {text}", permanent=500 <= code < 600)


EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


class EmailTransport(Transport):
    """Policy: SMTP 5xx permanent, 4xx/disconnects transient; later messages of an alert
    thread under the first (``In-Reply-To``); incident updates are threaded update emails."""

    name = "email"
    threading = "thread_id"

    @classmethod
    def configured(cls, settings: NotifySettings) -> bool:
        return settings.smtp.configured

    @classmethod
    def from_settings(cls, settings: NotifySettings) -> EmailTransport:
        return cls(settings.smtp)

    @classmethod
    def check_address(cls, value: str, settings: NotifySettings | None = None) -> str:
        value = value.strip()
        if len(value) > 255 or not EMAIL.match(value):
            raise ValueError("not an email address")
        return value

    @classmethod
    def build_message(cls, renderer: Renderer, request: RenderRequest) -> OutgoingMessage:
        subject, text, html = renderer.email(request.kind, request.ctx)
        alert = request.ctx.get("alert") or {}
        first = alert.get("id", 0)
        return OutgoingMessage(address=request.address, subject=subject, text=text, html=html,
                               thread_id=request.thread_id,
                               message_id=f"<castwatch.{request.leader_id}.{first}@{request.domain}>")

    def __init__(self, settings: SmtpSettings) -> None:
        if settings.host is None:
            raise ValueError("EmailTransport needs SMTP_HOST")
        self._settings = settings

    async def _send(self, message: OutgoingMessage) -> SendResult:
        return await asyncio.to_thread(self._send_sync, message)

    def _tls(self) -> ssl.SSLContext:
        """Certificates are always verified (against ``SMTP_CA_FILE`` when set)."""
        ca = self._settings.ca_file
        return ssl.create_default_context(cafile=str(ca) if ca else None)

    def _connect(self) -> smtplib.SMTP:
        s = self._settings
        assert s.host is not None
        if s.security == "tls":
            return smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_s, context=self._tls())
        smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout_s)
        if s.security == "starttls":
            try:
                smtp.starttls(context=self._tls())
            except BaseException:
                smtp.close()
                raise
        return smtp

    def _send_sync(self, message: OutgoingMessage) -> SendResult:
        s = self._settings
        mail = build_email(message, s.sender)
        try:
            with self._connect() as smtp:
                if s.username:
                    smtp.login(s.username, s.password or "")
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            raw = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
            raise _classify(code, raw) from exc
        except smtplib.SMTPResponseException as exc:
            error = exc.smtp_error
            raw = error.decode(errors="replace") if isinstance(error, bytes) else str(error)
            raise _classify(exc.smtp_code, raw) from exc
        except (smtplib.SMTPException, OSError) as exc:  # disconnects, timeouts, refused
            raise TransportError(f"smtp connection: {exc!r}") from exc
        message_id = str(mail["Message-ID"])
        return SendResult(external_id=message_id, thread_id=message.thread_id or message_id)
