"""Template contexts and outgoing messages for a claimed batch of deliveries.

Reads what a message needs (alerts, their root causes, folded child alerts, names of channels,
encoders and groups) inside the claiming transaction and turns it into plain dicts for the
templates. Every value is rendered through Jinja2 autoescaping; nothing here builds HTML.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from castwatch.common.models import Alert, AlertEvent, Channel, Delivery, Encoder, EncoderGroup, Recipient
from castwatch.notifier.render import Renderer
from castwatch.notifier.rules import zone
from castwatch.notifier.transports.base import Button, OutgoingMessage, RenderRequest

ACTIONS = (("ack", "Acknowledge"), ("resolve", "Resolve"), ("snooze", "Snooze 1h"))


def human_age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 5400:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} days"


def _where(alert: Alert, names: dict[tuple[str, int], str]) -> str:
    parts = []
    if alert.channel_id is not None:
        parts.append(f"channel {names.get(('ch', alert.channel_id), alert.channel_id)}")
    if alert.encoder_id is not None:
        parts.append(f"encoder {names.get(('enc', alert.encoder_id), alert.encoder_id)}")
    if alert.group_id is not None and alert.encoder_id is None:
        parts.append(f"group {names.get(('grp', alert.group_id), alert.group_id)}")
    label = ", ".join(parts)
    return f"{label} ({alert.subject})" if label and alert.subject not in label else label or alert.subject


def alert_dict(alert: Alert, names: dict[tuple[str, int], str], now: datetime, tz: str,
               root: Alert | None = None) -> dict[str, Any]:
    details = dict(alert.details or {})
    opened = alert.opened_at.astimezone(zone(tz))
    return {
        "id": alert.id, "source": alert.source, "subject": alert.subject,
        "alert_type": alert.alert_type, "severity": alert.severity, "state": alert.state,
        "summary": alert.summary, "where": _where(alert, names),
        "opened_at": opened.strftime("%Y-%m-%d %H:%M %Z"),
        "age": human_age((now - alert.opened_at).total_seconds()),
        "details": details, "remediation": details.get("remediation"),
        "cause": details.get("cause") or details.get("suspected_cause"),
        "acknowledged_by": alert.acknowledged_by, "resolved_by": alert.resolved_by,
        "root_cause": None if root is None else {
            "id": root.id, "alert_type": root.alert_type, "subject": root.subject,
            "summary": root.summary, "state": root.state, "where": _where(root, names)},
    }


def _names(session: Session, alerts: Sequence[Alert]) -> dict[tuple[str, int], str]:
    names: dict[tuple[str, int], str] = {}
    ch = {a.channel_id for a in alerts if a.channel_id is not None}
    enc = {a.encoder_id for a in alerts if a.encoder_id is not None}
    grp = {a.group_id for a in alerts if a.group_id is not None}
    if ch:
        names.update({("ch", i): n for i, n in session.execute(
            select(Channel.id, Channel.name).where(Channel.id.in_(ch)))})
    if enc:
        names.update({("enc", i): n for i, n in session.execute(
            select(Encoder.id, Encoder.name).where(Encoder.id.in_(enc)))})
    if grp:
        names.update({("grp", i): n for i, n in session.execute(
            select(EncoderGroup.id, EncoderGroup.name).where(EncoderGroup.id.in_(grp)))})
    return names


def batch_context(session: Session, rows: Sequence[Delivery], person: Recipient, now: datetime,
                  public_url: str | None) -> dict[str, Any]:
    """The template context of one message covering ``rows`` (leader first)."""
    alert_ids = list(dict.fromkeys(r.alert_id for r in rows if r.alert_id is not None))
    alerts = {a.id: a for a in session.scalars(select(Alert).where(Alert.id.in_(alert_ids)))}
    roots = {a.id: a for a in session.scalars(select(Alert).where(Alert.id.in_(
        {a.root_cause_alert_id for a in alerts.values() if a.root_cause_alert_id})))}
    folded = list(session.scalars(select(Alert).where(  # symptoms, open and cleared
        Alert.root_cause_alert_id.in_(alert_ids)).order_by(Alert.id)))
    events = {e.id: e for e in session.scalars(select(AlertEvent).where(
        AlertEvent.id.in_([r.event_id for r in rows if r.event_id is not None])))}
    names = _names(session, [*alerts.values(), *roots.values(), *folded])
    items: list[dict[str, Any]] = []
    for row in rows:
        alert = alerts.get(row.alert_id) if row.alert_id is not None else None
        if alert is None or any(i["alert"]["id"] == alert.id for i in items):
            continue
        event = events.get(row.event_id) if row.event_id is not None else None
        items.append({
            "alert": alert_dict(alert, names, now, person.timezone,
                                roots.get(alert.root_cause_alert_id or -1)),
            "event": None if event is None else {
                "kind": event.kind, "actor": event.actor, "note": event.note,
                "at": event.created_at.astimezone(zone(person.timezone)).strftime("%H:%M %Z")},
            "folded": [alert_dict(f, names, now, person.timezone) for f in folded
                       if f.root_cause_alert_id == alert.id],
        })
    first: dict[str, Any] = items[0] if items else {"alert": {}, "event": None}
    link = f"{public_url}/alerts/{first['alert']['id']}" if public_url and items else None
    return {
        "items": items, "alert": first["alert"], "event": first["event"], "link": link,
        "recipient": {"name": person.name, "role": person.role},
        "note": (rows[0].payload or {}).get("note"), "updated": None, "changes": [],
        "now": now.astimezone(zone(person.timezone)).strftime("%Y-%m-%d %H:%M %Z"),
    }


def buttons_for(leader_id: int, states: Sequence[str]) -> tuple[Button, ...]:
    """Acknowledge (while firing), Resolve and Snooze while any alert is open."""
    if not states or all(s == "resolved" for s in states):
        return ()
    wanted = [(a, label) for a, label in ACTIONS if a != "ack" or "firing" in states]
    return tuple(Button(label, f"cw:{a}:d{leader_id}") for a, label in wanted)


def build_message(renderer: Renderer, transport: str, kind: str, ctx: dict[str, Any],
                  address: str, leader_id: int, thread_id: str | None, domain: str) -> OutgoingMessage:
    """Render one :class:`OutgoingMessage` for ``transport`` (the transport class renders)."""
    from castwatch.notifier.transports import transport_class  # transports import this module

    cls = transport_class(transport)
    if cls is None:
        raise ValueError(f"unknown transport {transport!r}")
    return cls.build_message(renderer, RenderRequest(kind, ctx, address, leader_id, thread_id, domain))
