"""Telegram transport on python-telegram-bot: HTML messages with Acknowledge/Resolve/Snooze.

Error mapping: ``RetryAfter`` → wait (limiter penalised, transient); ``ChatMigrated`` → resend
to the new chat id once and report it (the dispatcher stores it); ``Forbidden`` or "chat not
found" → permanent, the destination is disabled; timeouts and network errors → transient.
Every Bot API call goes through one :class:`RateLimiter` (1 msg/s per chat, 30/s overall).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Coroutine
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters, Update
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest

from castwatch.notifier.limiter import RateLimiter
from castwatch.notifier.settings import TelegramSettings
from castwatch.notifier.signing import derive_key, sign, verify
from castwatch.notifier.transports.base import (
    Button,
    OutgoingMessage,
    RenderRequest,
    SendResult,
    Transport,
    TransportError,
)

if TYPE_CHECKING:
    from castwatch.notifier.render import Renderer
    from castwatch.notifier.settings import NotifySettings

logger = logging.getLogger(__name__)

DEAD_CHAT_MARKERS = ("chat not found", "user not found", "bot was blocked", "user is deactivated",
                     "bot was kicked", "have no rights to send")


def retry_after_seconds(exc: RetryAfter) -> float:
    value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def reply_to(chat_id: int, thread_id: str | None) -> ReplyParameters | None:
    """Reply to ``thread_id`` (``chat:message``) when it is a message of this chat; sent even
    when that message was deleted meanwhile."""
    chat, _, message_id = (thread_id or "").partition(":")
    if chat != str(chat_id) or not message_id.isdigit():
        return None
    return ReplyParameters(message_id=int(message_id), allow_sending_without_reply=True)


def keyboard(buttons: tuple[Button, ...], key: bytes) -> InlineKeyboardMarkup | None:
    """Inline keyboard whose callback data is HMAC-signed with ``key`` (see :mod:`signing`)."""
    if not buttons:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(b.label, callback_data=sign(key, b.data))
                                  for b in buttons]])


def map_error(exc: TelegramError) -> TransportError:
    """A python-telegram-bot error as a :class:`TransportError` (ChatMigrated is handled apart)."""
    if isinstance(exc, RetryAfter):
        return TransportError(f"telegram flood control: {exc}", retry_after=retry_after_seconds(exc),
                              hold_destination=True)
    if isinstance(exc, Forbidden):
        return TransportError(f"telegram forbidden: {exc}", disable_destination=True)
    if isinstance(exc, BadRequest):
        text = str(exc).lower()
        if any(marker in text for marker in DEAD_CHAT_MARKERS):
            return TransportError(f"telegram: {exc}", disable_destination=True)
        return TransportError(f"telegram bad request: {exc}", permanent=True)
    if isinstance(exc, TimedOut | NetworkError):
        return TransportError(f"telegram network: {exc}")
    return TransportError(f"telegram: {exc}")


CHAT_ID = re.compile(r"^-?[0-9]{1,19}$")


class TelegramTransport(Transport):
    """Policy: a dead chat (403, "chat not found") disables the address and email takes over;
    a flood wait holds the chat (kept in PostgreSQL); a migrated group chat is resent to and
    its new id stored; later messages of an alert reply to its first message; incident
    updates edit that message in place; presses on its buttons are polled in :meth:`background`.
    """

    name = "telegram"
    fallback = "email"
    threading = "reply"
    edits_in_place = True
    serial_per_destination = True

    @classmethod
    def configured(cls, settings: NotifySettings) -> bool:
        return settings.telegram.configured

    @classmethod
    def from_settings(cls, settings: NotifySettings) -> TelegramTransport:
        return cls(settings.telegram)

    @classmethod
    def check_address(cls, value: str, settings: NotifySettings | None = None) -> str:
        value = value.strip()
        if not CHAT_ID.match(value) or int(value) == 0 or abs(int(value)) >= 2**63:
            raise ValueError("a Telegram chat id is a non-zero 64-bit integer")
        value = str(int(value))
        return value

    @classmethod
    def build_message(cls, renderer: Renderer, request: RenderRequest) -> OutgoingMessage:
        """HTML (escaped, cut safely) with Acknowledge/Resolve/Snooze buttons while open."""
        from castwatch.notifier.context import buttons_for  # context imports transports

        html = renderer.telegram(request.kind, request.ctx)
        states = [i["alert"]["state"] for i in request.ctx["items"]]
        buttons = buttons_for(request.leader_id, states) if request.kind not in ("test", "admin") else ()
        return OutgoingMessage(address=request.address, subject="", text="", html=html, buttons=buttons,
                               thread_id=request.thread_id)

    def __init__(self, settings: TelegramSettings, limiter: RateLimiter | None = None) -> None:
        if settings.token is None:
            raise ValueError("TelegramTransport needs a token")
        timeout = settings.timeout_s
        self._settings = settings
        self.limiter = limiter or RateLimiter(settings.per_chat_per_s, settings.overall_per_s)
        #: HMAC key of button callback data (``NOTIFY_CALLBACK_SECRET`` or derived from the token)
        self.callback_key = derive_key(settings.callback_secret, settings.token)
        self.bot = Bot(
            settings.token,
            base_url=settings.api_base_url,
            request=HTTPXRequest(connection_pool_size=64, read_timeout=timeout,
                                 write_timeout=timeout, connect_timeout=timeout, pool_timeout=timeout),
            get_updates_request=HTTPXRequest(connection_pool_size=2,
                                             read_timeout=settings.long_poll_s + timeout,
                                             connect_timeout=timeout),
        )

    async def start(self) -> None:
        """``getMe``: fails early on a wrong token or unreachable Bot API."""
        try:
            await self.bot.initialize()
        except TelegramError as exc:
            raise map_error(exc) from exc

    async def close(self) -> None:
        try:
            await self.bot.shutdown()
        except TelegramError:  # closing is best effort
            logger.debug("telegram shutdown failed", exc_info=True)

    async def _send(self, message: OutgoingMessage) -> SendResult:
        chat_id = int(message.address)
        try:
            sent_id = await self._send_to(chat_id, message)
        except ChatMigrated as exc:
            new_chat = int(exc.new_chat_id)
            logger.warning("telegram chat migrated chat=%s new_chat=%s", chat_id, new_chat)
            try:
                sent_id = await self._send_to(new_chat, message)
            except ChatMigrated as again:
                raise TransportError(f"telegram chat migrated twice: {again}") from again
            except TelegramError as err:
                raise map_error(err) from err
            return SendResult(external_id=f"{new_chat}:{sent_id}", new_address=str(new_chat))
        except TelegramError as exc:
            raise map_error(exc) from exc
        return SendResult(external_id=f"{chat_id}:{sent_id}")

    async def _send_to(self, chat_id: int, message: OutgoingMessage) -> int:
        async with self.limiter.slot(str(chat_id)):
            try:
                sent = await self.bot.send_message(
                    chat_id=chat_id, text=message.html, parse_mode=ParseMode.HTML,
                    reply_markup=keyboard(message.buttons, self.callback_key), disable_web_page_preview=True,
                    reply_parameters=reply_to(chat_id, message.thread_id),
                )
            except RetryAfter as exc:
                self.limiter.penalize(str(chat_id), retry_after_seconds(exc))
                raise
        return sent.message_id

    async def edit(self, external_id: str, message: OutgoingMessage) -> None:
        """Edit the message ``chat:message_id`` in place (incident updates)."""
        chat, _, message_id = external_id.partition(":")
        if not message_id.isdigit() or not CHAT_ID.match(chat):
            raise TransportError(f"not a Telegram message id: {external_id[:40]!r}", permanent=True)
        await self.edit_text(int(chat), int(message_id), message.html, message.buttons)

    def background(self, **context: Any) -> list[Coroutine[Any, Any, None]]:
        """Poll ``getUpdates`` for button presses (unless ``TELEGRAM_POLL_UPDATES=false``)."""
        from castwatch.notifier.callbacks import poll_callbacks  # callbacks imports this module

        settings: NotifySettings = context["settings"]
        if not context.get("callbacks", True) or not settings.telegram.poll_updates:
            return []
        return [poll_callbacks(self, context["factory"], context["renderer"], context["stop"],
                               settings.roles_for, settings.public_url, on_press=context.get("on_press"))]

    async def edit_text(self, chat_id: int, message_id: int, html: str, buttons: tuple[Button, ...]) -> None:
        """Replace a sent message's text and buttons (one retry after a 429)."""
        for _ in range(2):
            async with self.limiter.slot(str(chat_id)):
                try:
                    await self.bot.edit_message_text(
                        text=html, chat_id=chat_id, message_id=message_id, parse_mode=ParseMode.HTML,
                        reply_markup=keyboard(buttons, self.callback_key), disable_web_page_preview=True,
                    )
                    return
                except RetryAfter as exc:
                    self.limiter.penalize(str(chat_id), retry_after_seconds(exc))
                except BadRequest as exc:
                    if "not modified" in str(exc).lower():
                        return
                    raise map_error(exc) from exc
                except TelegramError as exc:
                    raise map_error(exc) from exc
        raise TransportError("telegram edit kept hitting flood control")

    def verify_callback(self, data: str | None) -> str | None:
        """The payload of a button's signed callback data; None when forged or unsigned."""
        return verify(self.callback_key, data)

    async def answer(self, query_id: str, text: str) -> None:
        try:
            await self.bot.answer_callback_query(query_id, text=text[:200])
        except TelegramError as exc:  # an unanswered query only spins a client icon
            logger.warning("telegram answerCallbackQuery failed: %s", exc)

    async def updates(self, offset: int | None) -> tuple[Update, ...]:
        """One long poll for button presses."""
        try:
            return await self.bot.get_updates(
                offset=offset, timeout=self._settings.long_poll_s, allowed_updates=["callback_query"]
            )
        except TelegramError as exc:
            raise map_error(exc) from exc
