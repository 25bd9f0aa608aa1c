"""Telegram button presses: Acknowledge / Resolve / Snooze 1h.

``callback_data`` is ``cw:<action>:d<delivery id>:<HMAC tag>`` (:mod:`signing`). A press acts
only for the people the message was for:

- the data must carry a valid tag (unsigned, altered or forged data is refused);
- the press must come from the delivery's own message (its chat and message id, as stored in
  ``deliveries.external_id``) — a copy of the data sent from another chat is refused;
- the presser must be a known, enabled recipient (their ``telegram_user_id``, or for private
  chats their chat id, which equals the user id) who is the delivery's recipient or, in a group
  chat, a recipient registered for that same group chat;
- their role must be allowed for the action (``NOTIFY_<ACTION>_ROLES``; by default everyone
  acknowledges, engineers and management resolve, everyone but cablecasters snoozes).

The action is applied to every alert of that message through ``castwatch.common.alerts`` (so
alert_events records the person), the query is answered, and the original message is edited
in place to show the new state. A refused press changes nothing and edits nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker
from telegram import Update

from castwatch.common import alerts as alert_ops
from castwatch.common.db import transaction
from castwatch.common.models import Alert, Delivery, Recipient, utcnow
from castwatch.notifier.context import batch_context, buttons_for
from castwatch.notifier.incident_thread import UPDATE_KIND
from castwatch.notifier.render import Renderer
from castwatch.notifier.transports.base import Button, TransportError
from castwatch.notifier.transports.telegram import TelegramTransport

logger = logging.getLogger(__name__)

ACTION_KINDS = {"ack": "acknowledged", "resolve": "resolved", "snooze": "snoozed"}
SNOOZE = timedelta(hours=1)


@dataclass(frozen=True)
class Outcome:
    answer: str
    html: str | None = None
    buttons: tuple[Button, ...] = ()
    #: the message is at Telegram but its row is not recorded as sent yet: ask again shortly
    not_recorded: bool = False


NOT_RECORDED = "This message is still being recorded; press again in a moment."


def parse(data: str | None) -> tuple[str, int] | None:
    parts = (data or "").split(":")
    if len(parts) != 3 or parts[0] != "cw" or parts[1] not in ACTION_KINDS or not parts[2].startswith("d"):
        return None
    try:
        return parts[1], int(parts[2][1:])
    except ValueError:
        return None


def find_person(session: Session, user_id: int) -> Recipient | None:
    return session.scalars(select(Recipient).where(Recipient.enabled, or_(
        Recipient.telegram_user_id == user_id,
        (Recipient.telegram_user_id.is_(None)) & (Recipient.telegram_chat_id == user_id),
    )).limit(1)).first()


@dataclass(frozen=True)
class Press:
    """Who pressed which button where (from the callback query)."""

    action: str
    delivery_id: int
    user_id: int
    chat_id: int | None
    message_id: int | None


def refusal(press: Press, leader: Delivery, person: Recipient,
            roles: Callable[[str], tuple[str, ...]]) -> str | None:
    """Why this press may not act (None: it may). Pure checks on rows already loaded."""
    if leader.transport != "telegram" or press.chat_id is None or \
            leader.external_id != f"{press.chat_id}:{press.message_id}":
        return "This button does not belong to this message; nothing changed."
    if person.id != leader.recipient_id:
        in_group = press.chat_id != press.user_id and person.telegram_chat_id == press.chat_id
        if not in_group:
            return "This message was not for you; nothing changed."
    if person.role not in roles(press.action):
        verb = {"ack": "acknowledge", "resolve": "resolve", "snooze": "snooze"}[press.action]
        return f"Your role ({person.role}) may not {verb} alerts; nothing changed."
    return None


def apply_action(factory: sessionmaker[Session], renderer: Renderer, press: Press,
                 roles: Callable[[str], tuple[str, ...]], public_url: str | None = None) -> Outcome:
    """Apply a button press in one transaction; returns the answer and the edited message."""
    action, delivery_id, user_id = press.action, press.delivery_id, press.user_id
    kind = ACTION_KINDS[action]
    with transaction(factory) as session:
        person = find_person(session, user_id)
        if person is None:
            logger.warning("telegram button press refused user=%s delivery=%s", user_id, delivery_id)
            return Outcome("You are not a castwatch recipient; nothing changed.")
        leader = session.get(Delivery, delivery_id)
        if leader is None or leader.alert_id is None:
            return Outcome("This alert no longer exists.")
        if leader.status == "sending" and leader.external_id is None:
            return Outcome(NOT_RECORDED, not_recorded=True)
        why = refusal(press, leader, person, roles)
        if why is not None:
            logger.warning("telegram button press refused user=%s person=%s delivery=%s chat=%s "
                           "message=%s: %s", user_id, person.name, delivery_id, press.chat_id,
                           press.message_id, why)
            return Outcome(why)
        batch = [leader] + list(session.scalars(select(Delivery).where(
            Delivery.external_id == leader.external_id, Delivery.id != leader.id,
            Delivery.transport == "telegram", Delivery.status == "grouped",
            Delivery.kind.not_in((UPDATE_KIND, "folded"))))) \
            if leader.external_id else [leader]
        actor = f"{person.name} (telegram)"
        changed = 0
        for alert_id in dict.fromkeys(r.alert_id for r in batch if r.alert_id is not None):
            try:
                if action == "ack":
                    alert_ops.acknowledge(session, alert_id, actor=actor)
                elif action == "resolve":
                    alert_ops.resolve(session, alert_id, actor=actor)
                else:
                    alert_ops.snooze(session, alert_id, actor=actor, duration=SNOOZE)
                changed += 1
            except alert_ops.AlertError as exc:
                logger.info("button %s on alert=%s: %s", action, alert_id, exc)
        session.flush()
        ctx = batch_context(session, batch, person, utcnow(), public_url)
        for item in ctx["items"]:
            item["event"] = {"kind": kind, "actor": actor, "note": None, "at": ""}
        ctx["event"] = ctx["items"][0]["event"] if ctx["items"] else None
        states = list(session.scalars(select(Alert.state).where(
            Alert.id.in_([r.alert_id for r in batch if r.alert_id is not None]))))
        html = renderer.telegram(kind, ctx)
        logger.info("telegram button %s by=%s delivery=%s alerts_changed=%d", action, person.name,
                    delivery_id, changed)
        answer = f"{kind.capitalize()} by {person.name}" if changed else "Already closed; nothing changed."
        return Outcome(answer, html, buttons_for(leader.id, states))


async def handle_update(update: Update, transport: TelegramTransport, factory: sessionmaker[Session],
                        renderer: Renderer, roles: Callable[[str], tuple[str, ...]],
                        public_url: str | None = None) -> None:
    query = update.callback_query
    if query is None:
        return
    parsed = parse(transport.verify_callback(query.data))
    if parsed is None:
        logger.warning("telegram button refused: unsigned or altered callback data user=%s",
                       query.from_user.id)
        await transport.answer(query.id, "Unknown or altered button; nothing changed.")
        return
    message = query.message
    press = Press(parsed[0], parsed[1], query.from_user.id,
                  message.chat.id if message is not None else None,
                  message.message_id if message is not None else None)
    for _ in range(10):  # a press within milliseconds of the send: wait for its record
        outcome = await asyncio.to_thread(apply_action, factory, renderer, press, roles, public_url)
        if not outcome.not_recorded:
            break
        await asyncio.sleep(0.3)
    await transport.answer(query.id, outcome.answer)
    if outcome.html is not None and message is not None:
        try:
            await transport.edit_text(message.chat.id, message.message_id, outcome.html, outcome.buttons)
        except TransportError as exc:
            logger.warning("telegram edit after button failed: %s", exc)


async def poll_callbacks(transport: TelegramTransport, factory: sessionmaker[Session],
                         renderer: Renderer, stop: asyncio.Event,
                         roles: Callable[[str], tuple[str, ...]], public_url: str | None = None,
                         on_press: Callable[[], None] | None = None) -> None:
    """Long-poll ``getUpdates`` for ``callback_query`` until ``stop`` is set."""
    offset: int | None = None
    failures = 0
    while not stop.is_set():
        try:
            updates = await transport.updates(offset)
            failures = 0
        except TransportError as exc:
            failures += 1
            wait = exc.retry_after or min(30.0, 0.5 * 2 ** failures)
            logger.warning("telegram getUpdates failed (%s); retry in %.1fs", exc, wait)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=wait)
            continue
        for update in updates:
            offset = update.update_id + 1
            try:
                await handle_update(update, transport, factory, renderer, roles, public_url)
                if on_press is not None and update.callback_query is not None:
                    on_press()
            except Exception:  # one bad press must not stop the loop
                logger.exception("telegram callback failed update=%s", update.update_id)
