"""Catch-up summaries: events older than ``NOTIFY_PLAN_HORIZON_S`` are never dropped silently.

When the notifier was down (or first starts on old history), events past the horizon are not
sent one by one; instead each person the rules would have told gets **one** summary: "while
castwatch was down: 14 alerts opened, 12 resolved, 2 still open: …". Which people is decided
by the same rules as a live ``opened`` event (:func:`catchup_targets`, pure); the summary row
(kind ``catchup``, no event) is coalesced per recipient: later planning rounds merge their
counts into the pending row instead of adding a second one (:func:`queue_catchups`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from castwatch.common.models import Alert, Delivery
from castwatch.notifier.rules import (
    AlertFacts,
    EventFacts,
    RecipientSpec,
    RuleSpec,
    plan_event,
)
from castwatch.notifier.transports import fallbacks

logger = logging.getLogger(__name__)

KIND = "catchup"
#: pending summaries wait this long, so consecutive planning rounds merge into one
COALESCE_S = 5.0
MAX_LISTED = 500


@dataclass
class Target:
    transport: str
    opened: set[int] = field(default_factory=set)
    resolved: set[int] = field(default_factory=set)
    first_at: datetime | None = None
    last_at: datetime | None = None


def catchup_targets(events: Sequence[EventFacts], alerts: dict[int, AlertFacts],
                    rules: Sequence[RuleSpec], people: Sequence[RecipientSpec]) -> dict[int, Target]:
    """recipient id → what their summary covers (one transport each: the first the rules give).

    Only ``opened`` and ``resolved`` events count; a person is reached when the rules would
    have told them the alert opened (maintenance-suppressed alerts are not summarised).
    """
    out: dict[int, Target] = {}
    for event in events:
        alert = alerts.get(event.alert_id)
        if alert is None or event.kind not in ("opened", "resolved"):
            continue
        probe = replace(event, kind="opened", actor="system", details={})
        for row in plan_event(probe, alert, rules, people, fallbacks=fallbacks()):
            if row.status != "pending":
                continue
            target = out.setdefault(row.recipient_id, Target(row.transport))
            if row.transport != target.transport:
                continue
            (target.opened if event.kind == "opened" else target.resolved).add(alert.id)
            target.first_at = min(target.first_at or event.created_at, event.created_at)
            target.last_at = max(target.last_at or event.created_at, event.created_at)
    return out


def _merge(payload: dict[str, Any], target: Target) -> dict[str, Any]:
    opened = sorted(set(payload.get("opened") or ()) | target.opened)[-MAX_LISTED:]
    resolved = sorted(set(payload.get("resolved") or ()) | target.resolved)[-MAX_LISTED:]
    first = min(filter(None, [payload.get("since"), target.first_at and target.first_at.isoformat()]))
    last = max(filter(None, [payload.get("until"), target.last_at and target.last_at.isoformat()]))
    return {"opened": opened, "resolved": resolved, "since": first, "until": last}


def queue_catchups(session: Session, targets: dict[int, Target], now: datetime) -> int:
    """Insert (or merge into the pending) one summary row per recipient; returns rows added."""
    added = 0
    for recipient_id, target in targets.items():
        row = session.scalars(select(Delivery).where(
            Delivery.recipient_id == recipient_id, Delivery.kind == KIND,
            Delivery.status == "pending").with_for_update().limit(1)).first()
        if row is not None:
            row.payload = _merge(row.payload or {}, target)
            continue
        session.add(Delivery(recipient_id=recipient_id, transport=target.transport, kind=KIND,
                             status="pending", payload=_merge({}, target),
                             next_attempt_at=now + timedelta(seconds=COALESCE_S)))
        added += 1
    if targets:
        logger.info("catch-up summaries queued=%d merged=%d", added, len(targets) - added)
    return added


def catchup_context(session: Session, payload: dict[str, Any]) -> dict[str, Any]:
    """Template values of a summary: counts, and the alerts still open now (at send time)."""
    ids = sorted(set(payload.get("opened") or ()) | set(payload.get("resolved") or ()))
    still_open = list(session.scalars(select(Alert).where(
        Alert.id.in_(ids), Alert.state != "resolved").order_by(Alert.id).limit(50))) if ids else []
    open_count = session.scalar(select(func.count()).select_from(Alert).where(
        Alert.id.in_(ids), Alert.state != "resolved")) if ids else 0
    return {
        "opened_count": len(payload.get("opened") or ()),
        "resolved_count": len(payload.get("resolved") or ()),
        "open_count": int(open_count or 0),
        "still_open": [{"id": a.id, "alert_type": a.alert_type, "subject": a.subject,
                        "severity": a.severity, "summary": a.summary, "state": a.state}
                       for a in still_open],
        "since": payload.get("since"), "until": payload.get("until"),
    }
