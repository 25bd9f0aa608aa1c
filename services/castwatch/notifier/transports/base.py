"""The ``Transport`` interface, its typed error, and the one place where quick retries live.

A transport turns one rendered :class:`OutgoingMessage` into one message at a provider and
returns a :class:`SendResult` with the provider's id. Vendor errors become
:class:`TransportError`; ``permanent=True`` means "retrying cannot help" (5xx SMTP, blocked
bot). :meth:`Transport.send` retries transient errors a few times in-process (honouring a
provider's ``retry_after``); longer waits are left to the outbox, which reschedules the row.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from castwatch.notifier.render import Renderer
    from castwatch.notifier.settings import NotifySettings

logger = logging.getLogger(__name__)


class TransportError(Exception):
    """A send that failed.

    ``permanent``: do not retry. ``retry_after``: the provider asked us to wait this long.
    ``disable_destination``: the address is dead (bot blocked, chat not found): stop using it.
    ``hold_destination``: the provider put this destination on hold for ``retry_after``
    seconds (Telegram flood control): the wait is not slept in-process but handed to the
    outbox, which keeps it in PostgreSQL (``deliveries.flood_until``) so it survives a restart
    and holds every row to that destination.
    """

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: float | None = None,
        disable_destination: bool = False, hold_destination: bool = False,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent or disable_destination
        self.retry_after = retry_after
        self.disable_destination = disable_destination
        self.hold_destination = hold_destination and retry_after is not None


class TransportNotConfigured(TransportError):
    def __init__(self, transport: str) -> None:
        super().__init__(f"transport not configured: {transport}", permanent=True)


@dataclass(frozen=True)
class Button:
    label: str
    data: str


@dataclass(frozen=True)
class OutgoingMessage:
    """One rendered message for one address (a chat id or an email address).

    ``thread_id``: email — the Message-ID to reply to; Telegram — ``chat:message`` to reply to.
    """

    address: str
    subject: str
    text: str
    html: str
    buttons: tuple[Button, ...] = ()
    thread_id: str | None = None
    message_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    #: structured body for JSON transports (Slack blocks, webhook payload)
    data: dict[str, Any] | None = None


@dataclass(frozen=True)
class SendResult:
    """``external_id``: the provider's id (Telegram ``chat_id:message_id``, email Message-ID).

    ``thread_id``: what later messages of the same alert thread under. ``new_address``: the
    destination moved (Telegram group migrated to a supergroup) and was used instead.
    """

    external_id: str
    thread_id: str | None = None
    new_address: str | None = None


@dataclass(frozen=True)
class RenderRequest:
    """What a transport needs to build one message: the template context and where it goes.

    ``leader_id``: the delivery row the message is for (buttons, Message-IDs);
    ``thread_id``: what to thread under (see :attr:`Transport.threading`).
    """

    kind: str
    ctx: dict[str, Any]
    address: str
    leader_id: int
    thread_id: str | None
    domain: str


class Transport(ABC):
    """Base of every transport: quick retries here, the vendor call in :meth:`_send`.

    A transport owns its behaviour; the outbox, planner and dispatcher only read these
    class attributes and call these methods, so adding a transport is one module plus one
    registry line (and its test):

    - addressing: the recipient's ``recipient_addresses`` row of kind :attr:`name` holds the
      destination (:meth:`check_address` validates it in the API; :attr:`secret_address`
      makes the API treat it as write-only and redact it);
    - failure policy: :class:`TransportError` says permanent / transient / dead destination
      (disable the address) / destination on hold; :attr:`fallback` names the transport that
      takes over when this one's address is unusable or keeps failing;
    - rendering: :meth:`build_message` turns a template context into an OutgoingMessage;
    - threading: :attr:`threading` (``"reply"``: later messages of an alert reply to the
      first one's ``external_id``; ``"thread_id"``: they carry its ``thread_id``; ``"none"``);
      incident updates are edited in place when :attr:`edits_in_place`, else sent as new
      threaded messages;
    - serial destinations (:attr:`serial_per_destination`): one replica sends to a
      destination at a time (Telegram's per-chat limit);
    - background work (Telegram's button presses): :meth:`background`.
    """

    name: ClassVar[str]
    fallback: ClassVar[str | None] = None
    threading: ClassVar[str] = "none"
    edits_in_place: ClassVar[bool] = False
    serial_per_destination: ClassVar[bool] = False
    secret_address: ClassVar[bool] = False
    #: In-process attempts per :meth:`send` before giving the row back to the outbox.
    quick_attempts: int = 3
    #: Longest provider-requested wait served in-process (longer: reschedule the row).
    max_inline_wait_s: float = 30.0
    backoff_s: float = 0.5

    async def send(self, message: OutgoingMessage) -> SendResult:
        """Send, retrying transient errors; raises the last :class:`TransportError`."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._send(message)
            except TransportError as exc:
                wait = exc.retry_after if exc.retry_after is not None else \
                    self.backoff_s * 2 ** (attempt - 1)
                if (exc.permanent or exc.hold_destination or attempt >= self.quick_attempts
                        or wait > self.max_inline_wait_s):
                    raise
                logger.info("transport=%s retry attempt=%d in %.1fs: %s", self.name, attempt,
                            wait, exc)
                await asyncio.sleep(wait)

    @abstractmethod
    async def _send(self, message: OutgoingMessage) -> SendResult:
        """One attempt; raise :class:`TransportError` on failure."""

    async def start(self) -> None:
        """Open connections (called once in the dispatcher's event loop)."""
        return None

    async def close(self) -> None:
        """Release connections."""
        return None

    def describe(self) -> dict[str, Any]:
        return {"name": self.name}

    @classmethod
    @abstractmethod
    def configured(cls, settings: NotifySettings) -> bool:
        """Is this transport configured in ``settings``? (Unconfigured: its rows fail clearly.)"""

    @classmethod
    @abstractmethod
    def from_settings(cls, settings: NotifySettings) -> Transport:
        """The transport built from the notifier settings."""

    @classmethod
    @abstractmethod
    def build_message(cls, renderer: Renderer, request: RenderRequest) -> OutgoingMessage:
        """Render one message (templates ``<name>/<kind>.*.j2``, or built from ``ctx``)."""

    @classmethod
    def check_address(cls, value: str, settings: NotifySettings | None = None) -> str:
        """The normalised address, or ValueError saying what is wrong (used by the API)."""
        value = value.strip()
        if not value:
            raise ValueError("empty address")
        return value

    @classmethod
    def redact(cls, value: str) -> str:
        """How the API shows an address (secrets: only enough to recognise it)."""
        return f"…{value[-4:]}" if cls.secret_address else value

    async def edit(self, external_id: str, message: OutgoingMessage) -> None:
        """Replace a sent message in place (only when :attr:`edits_in_place`)."""
        raise TransportError(f"{self.name} messages cannot be edited", permanent=True)

    def background(self, **context: Any) -> list[Coroutine[Any, Any, None]]:
        """Coroutines to run next to the dispatcher (e.g. polling for button presses)."""
        return []
