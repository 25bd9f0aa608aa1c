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
from dataclasses import dataclass, field
from typing import Any, ClassVar

logger = logging.getLogger(__name__)


class TransportError(Exception):
    """A send that failed.

    ``permanent``: do not retry. ``retry_after``: the provider asked us to wait this long.
    ``disable_destination``: the address is dead (bot blocked, chat not found): stop using it.
    """

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: float | None = None,
        disable_destination: bool = False,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent or disable_destination
        self.retry_after = retry_after
        self.disable_destination = disable_destination


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


@dataclass(frozen=True)
class SendResult:
    """``external_id``: the provider's id (Telegram ``chat_id:message_id``, email Message-ID).

    ``thread_id``: what later messages of the same alert thread under. ``new_address``: the
    destination moved (Telegram group migrated to a supergroup) and was used instead.
    """

    external_id: str
    thread_id: str | None = None
    new_address: str | None = None


class Transport(ABC):
    """Base of every transport: quick retries here, the vendor call in :meth:`_send`."""

    name: ClassVar[str]
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
                if exc.permanent or attempt >= self.quick_attempts or wait > self.max_inline_wait_s:
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
