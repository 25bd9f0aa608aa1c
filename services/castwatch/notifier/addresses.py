"""Recipient addresses: where a person is reached over each transport (``recipient_addresses``).

The notifier reads addresses only from this table. Rows of kind ``telegram`` and ``email``
mirror the recipient's legacy columns (``telegram_chat_id``/``telegram_enabled``,
``email``/``email_enabled``), which the API keeps for backward compatibility: a database
trigger copies column changes into rows, and the writers here update both, so the two never
disagree whoever writes.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from castwatch.common.models import Recipient, RecipientAddress

logger = logging.getLogger(__name__)

#: kind → (address column, enabled column) on ``recipients``
LEGACY_COLUMNS = {"telegram": ("telegram_chat_id", "telegram_enabled"), "email": ("email", "email_enabled")}


def address_of(session: Session, recipient_id: int, kind: str) -> str | None:
    """The enabled address of ``kind``, or None."""
    return session.scalar(select(RecipientAddress.value).where(
        RecipientAddress.recipient_id == recipient_id, RecipientAddress.kind == kind,
        RecipientAddress.enabled))


def usable_kinds(session: Session, recipient_ids: Iterable[int]) -> dict[int, frozenset[str]]:
    """recipient id → the kinds they have an enabled address for."""
    out: dict[int, set[str]] = defaultdict(set)
    ids = list(recipient_ids)
    if ids:
        for rid, kind in session.execute(select(RecipientAddress.recipient_id, RecipientAddress.kind)
                                         .where(RecipientAddress.recipient_id.in_(ids),
                                                RecipientAddress.enabled)):
            out[rid].add(kind)
    return {rid: frozenset(out.get(rid, ())) for rid in ids}


def disable_address(session: Session, recipient_id: int, kind: str, reason: str) -> bool:
    """Disable a dead address (and its legacy column); False if it was not enabled."""
    row = session.scalars(select(RecipientAddress).where(
        RecipientAddress.recipient_id == recipient_id, RecipientAddress.kind == kind)
        .with_for_update()).first()
    if row is None or not row.enabled:
        return False
    row.enabled, row.disabled_reason = False, reason[:1000]
    session.flush()
    if kind in LEGACY_COLUMNS:
        session.execute(update(Recipient).where(Recipient.id == recipient_id).values(
            {LEGACY_COLUMNS[kind][1]: False, "disabled_reason": f"{kind} disabled: {reason}"[:1000]}))
    return True


def move_address(session: Session, recipient_id: int, kind: str, value: str) -> None:
    """The provider moved the destination (a Telegram group became a supergroup)."""
    session.execute(update(RecipientAddress).where(
        RecipientAddress.recipient_id == recipient_id, RecipientAddress.kind == kind).values(value=value))
    if kind in LEGACY_COLUMNS:
        column = LEGACY_COLUMNS[kind][0]
        session.execute(update(Recipient).where(Recipient.id == recipient_id).values(
            {column: int(value) if kind == "telegram" else value}))
