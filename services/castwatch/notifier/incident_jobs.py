"""Database side of the incident thread: who the root's message reaches, send-time folding, and
building an incident update (a Telegram edit or a threaded email).

Decisions are the pure functions of :mod:`castwatch.notifier.incident_thread`; this module
only loads what they need (inside the claim's rendering transaction) and shapes the result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from castwatch.common.models import Alert, Delivery, Recipient
from castwatch.notifier.context import batch_context
from castwatch.notifier.incident_thread import (
    UPDATE_KIND,
    decide_update,
    fold_at_send,
    listing,
    listing_changed,
    listing_diff,
    raise_folded,
    resolution_folded,
    root_current,
    update_group_key,
)
from castwatch.notifier.rules import zone
from castwatch.notifier.transports.base import OutgoingMessage

#: A root's ``opened`` row that is (or will be) a message the recipient sees.
_TOLD = or_(Delivery.status.in_(("pending", "sending", "sent")),
            and_(Delivery.status == "grouped", Delivery.external_id.is_not(None)))
#: Message rows of an earlier send (updates and old ``folded`` edits are not part of it).
_NOT_MESSAGE = (UPDATE_KIND, "folded")


def root_targets(session: Session, root_id: int) -> set[tuple[int, str]]:
    """``(recipient id, transport)`` pairs the root's opening message goes (or went) to."""
    rows = session.execute(select(Delivery.recipient_id, Delivery.transport).where(
        Delivery.alert_id == root_id, Delivery.kind == "opened", _TOLD)).all()
    return {(int(r), str(t)) for r, t in rows}


def last_update_sent(session: Session, root_id: int, recipient_id: int, transport: str) -> datetime | None:
    """When the last update of this root's message to this recipient/transport was sent."""
    return session.scalar(select(func.max(Delivery.sent_at)).where(
        Delivery.recipient_id == recipient_id, Delivery.transport == transport,
        Delivery.kind == UPDATE_KIND,
        Delivery.group_key == update_group_key(root_id, recipient_id, transport)))


def _opening_pending(session: Session, row: Delivery) -> bool:
    return session.scalar(select(Delivery.id).where(
        Delivery.alert_id == row.alert_id, Delivery.recipient_id == row.recipient_id,
        Delivery.transport == row.transport, Delivery.kind == "opened",
        Delivery.status.in_(("pending", "sending")), Delivery.id != row.id).limit(1)) is not None


def _opening_told(session: Session, row: Delivery) -> bool:
    return session.scalar(select(Delivery.id).where(
        Delivery.alert_id == row.alert_id, Delivery.recipient_id == row.recipient_id,
        Delivery.transport == row.transport, Delivery.kind == "opened",
        or_(Delivery.status == "sent",
            and_(Delivery.status == "grouped", Delivery.external_id.is_not(None)))).limit(1)) is not None


def triage(session: Session, batch: Sequence[Delivery]) -> tuple[list[Delivery], list[tuple[Delivery, str]]]:
    """Split a claimed batch into rows to send and rows to record as ``grouped`` (with the
    reason): openings whose alert meanwhile got a root cause whose message reaches this
    recipient, resolutions of symptoms whose opening was never told, and severity raises
    whose opening message is still to be sent (it shows the new severity)."""
    ids = {r.alert_id for r in batch
           if r.alert_id is not None and r.kind in ("opened", "resolved", "updated")}
    if not ids:
        return list(batch), []
    alerts = {a.id: a for a in session.scalars(select(Alert).where(Alert.id.in_(ids)))}
    root_ids = {a.root_cause_alert_id for a in alerts.values() if a.root_cause_alert_id is not None}
    roots = {a.id: a for a in session.scalars(select(Alert).where(Alert.id.in_(root_ids or {-1})))}
    targets: dict[int, set[tuple[int, str]]] = {}
    keep: list[Delivery] = []
    folded: list[tuple[Delivery, str]] = []
    for row in batch:
        alert = alerts.get(row.alert_id) if row.alert_id is not None else None
        root = alert.root_cause_alert_id if alert is not None else None
        if alert is None:
            keep.append(row)
        elif row.kind == "updated":
            if raise_folded(row.kind, _opening_pending(session, row)):
                folded.append((row, "the alert's first message is not sent yet; it shows the new severity"))
            else:
                keep.append(row)
        elif root is None:
            keep.append(row)
        elif row.kind == "opened":
            if root not in targets:
                targets[root] = root_targets(session, root)
            r = roots.get(root)
            current = r is not None and root_current(r.state, r.resolved_at, alert.opened_at)
            if fold_at_send(row.kind, current, (row.recipient_id, row.transport) in targets[root]):
                folded.append((row, f"folded into root cause alert {root}'s message"))
            else:
                keep.append(row)
        elif row.kind == "resolved" and resolution_folded(row.kind, True, _opening_told(session, row)):
            folded.append((row, f"symptom of root cause alert {root}: its opening was folded, "
                                "the incident's messages cover its resolution"))
        else:
            keep.append(row)
    return keep, folded


def remember_listing(leader: Delivery, ctx: dict[str, Any]) -> None:
    """Store which symptoms (and their states) a message shows, for later update decisions."""
    shown = {int(f["id"]): str(f["state"]) for item in ctx.get("items", []) for f in item.get("folded", [])}
    leader.payload = {**(leader.payload or {}), "listed": listing(shown)}


@dataclass
class Update:
    """A prepared update: ``skip`` (status, reason), or a message (plus ``edit``: the external
    id of the message to edit, for transports that edit in place)."""

    skip: tuple[str, str] | None = None
    message: OutgoingMessage | None = None
    edit: str | None = None  # external id of the message to edit in place


def _root_message(session: Session, root_id: int, person_id: int,
                  transport: str) -> tuple[Delivery | None, bool]:
    """The root's first message row to this recipient/transport, and whether one is pending."""
    rows = list(session.scalars(select(Delivery).where(
        Delivery.alert_id == root_id, Delivery.recipient_id == person_id, Delivery.transport == transport,
        Delivery.kind == "opened", _TOLD).order_by(Delivery.id)))
    sent = next((r for r in rows if r.external_id is not None and r.status in ("sent", "grouped")), None)
    return sent, any(r.status in ("pending", "sending") for r in rows)


def _last_listing(session: Session, sent: Delivery, key: str) -> dict[str, str] | None:
    rows = session.scalars(select(Delivery).where(
        Delivery.recipient_id == sent.recipient_id, Delivery.transport == sent.transport,
        Delivery.status == "sent",
        or_(Delivery.external_id == sent.external_id, Delivery.group_key == key),
    ).order_by(Delivery.sent_at.desc().nulls_last(), Delivery.id.desc()))
    for row in rows:
        if isinstance((row.payload or {}).get("listed"), dict):
            return dict(row.payload["listed"])
    return None


def prepare_update(session: Session, batch: Sequence[Delivery], person: Recipient, address: str, *,
                   render: Callable[[str, str, dict[str, Any], Delivery, str | None], OutgoingMessage],
                   now: datetime, public_url: str | None, edits_in_place: bool) -> Update:
    """Decide and build one incident update for ``batch`` (rows of one root, recipient and
    transport). ``render(transport, kind, ctx, leader, thread_id)`` builds the message;
    ``edits_in_place``: the transport edits the root's message (else: a threaded update)."""
    leader = batch[0]
    root_id = int((leader.payload or {}).get("root_alert_id", 0))
    root = session.get(Alert, root_id)
    if root is None:
        return Update(skip=("grouped", "the root cause alert no longer exists"))
    sent, pending = _root_message(session, root_id, person.id, leader.transport)
    symptoms = dict(session.execute(select(Alert.id, Alert.state).where(
        Alert.root_cause_alert_id == root_id)).tuples().all())
    key = update_group_key(root_id, person.id, leader.transport)
    last = _last_listing(session, sent, key) if sent is not None else None
    changed = sent is not None and listing_changed(symptoms, last)
    state = "sent" if sent is not None else "pending" if pending else None
    skip = decide_update(edits_in_place, root.state, state, changed)
    if skip is not None or sent is None:
        return Update(skip=skip or ("grouped", "nothing to update"))
    stamp = now.astimezone(zone(person.timezone)).strftime("%H:%M %Z")
    if edits_in_place:
        if not sent.external_id:
            return Update(skip=("grouped", "the root cause's message id is unknown"))
        rows = list(session.scalars(select(Delivery).where(
            Delivery.external_id == sent.external_id, Delivery.transport == leader.transport,
            Delivery.status.in_(("sent", "grouped")), Delivery.kind.not_in(_NOT_MESSAGE),
        ).order_by(Delivery.id)))
        head = next((r for r in rows if r.status == "sent"), rows[0] if rows else sent)
        ctx = batch_context(session, rows or [sent], person, now, public_url)
        ctx["updated"] = stamp
        states = [i["alert"]["state"] for i in ctx["items"]]
        kind = "grouped" if len(ctx["items"]) > 1 else "resolved" if states == ["resolved"] else head.kind
        msg = render(leader.transport, kind, ctx, head, None)
        remember_listing(leader, ctx)
        return Update(message=msg, edit=str(sent.external_id))
    ctx = batch_context(session, [sent], person, now, public_url)
    ctx["updated"] = stamp
    shown = {f["id"]: f for item in ctx["items"] for f in item["folded"]}
    ctx["changes"] = [{"change": change, "alert": shown[i]}
                      for i, change in listing_diff(symptoms, last) if i in shown]
    thread = sent.thread_id or sent.external_id
    remember_listing(leader, ctx)
    return Update(message=render(leader.transport, UPDATE_KIND, ctx, leader, thread))


__all__ = ["Update", "last_update_sent", "prepare_update", "remember_listing",
           "root_targets", "triage"]
