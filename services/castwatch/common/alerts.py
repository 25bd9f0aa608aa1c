"""Raising, clearing, acknowledging and resolving alerts, with an event row per change.

Every function works inside the caller's session and transaction; the caller commits. The
table triggers announce each change on the bus (``castwatch_alerts``, ``castwatch_alert_events``)
in that same transaction, so listeners see it exactly when it is committed.

An alert key is ``(source, subject, alert_type)``; the partial unique index
``uq_alerts_open_key`` keeps at most one open alert per key even across replicas.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from castwatch.common.models import SEVERITIES, Alert, AlertEvent, utcnow


class AlertError(Exception):
    """An alert operation that cannot be done (unknown id, already resolved…)."""


class AlertNotFound(AlertError):
    pass


class AlertStateError(AlertError):
    pass


@dataclass(frozen=True)
class AlertKey:
    source: str
    subject: str
    alert_type: str

    def __str__(self) -> str:
        return f"{self.source}/{self.subject}/{self.alert_type}"


def find_open(session: Session, key: AlertKey) -> Alert | None:
    return session.scalars(
        select(Alert).where(
            Alert.source == key.source,
            Alert.subject == key.subject,
            Alert.alert_type == key.alert_type,
            Alert.state != "resolved",
        )
    ).one_or_none()


def fire(
    session: Session,
    key: AlertKey,
    *,
    severity: str,
    summary: str,
    details: dict[str, Any] | None = None,
    channel_id: int | None = None,
    encoder_id: int | None = None,
    group_id: int | None = None,
    root_cause_alert_id: int | None = None,
    actor: str = "system",
    now: datetime | None = None,
) -> tuple[Alert, bool]:
    """Open the alert for ``key``, or refresh the open one; returns ``(alert, opened)``.

    A refresh updates summary, details and ``last_seen_at``; it writes an ``updated`` event only
    when the severity changes (so a condition seen every poll does not flood the history).
    Concurrent callers on the same key get the same row (``ON CONFLICT DO NOTHING``).
    """
    if severity not in SEVERITIES:
        raise AlertError(f"unknown severity {severity!r}")
    now = now or utcnow()
    values = dict(
        source=key.source, subject=key.subject, alert_type=key.alert_type, severity=severity,
        state="firing", summary=summary, details=details or {}, channel_id=channel_id,
        encoder_id=encoder_id, group_id=group_id, root_cause_alert_id=root_cause_alert_id,
        opened_at=now, last_seen_at=now,
    )
    stmt = (
        insert(Alert)
        .values(**values)
        .on_conflict_do_nothing(
            index_elements=["source", "subject", "alert_type"],
            index_where=Alert.state != "resolved",
        )
        .returning(Alert.id)
    )
    new_id = session.execute(stmt).scalar_one_or_none()
    if new_id is not None:
        alert = session.get(Alert, new_id, populate_existing=True)
        assert alert is not None
        session.add(AlertEvent(alert_id=alert.id, kind="opened", actor=actor, to_state="firing",
                               note=summary, created_at=now))
        session.flush()
        return alert, True
    alert = find_open(session, key)
    if alert is None:  # resolved between our insert and select: try once more
        return fire(session, key, severity=severity, summary=summary, details=details,
                    channel_id=channel_id, encoder_id=encoder_id, group_id=group_id,
                    root_cause_alert_id=root_cause_alert_id, actor=actor, now=now)
    changed_severity = alert.severity != severity
    alert.summary = summary
    alert.details = details or {}
    alert.last_seen_at = now
    if root_cause_alert_id is not None:
        alert.root_cause_alert_id = root_cause_alert_id
    if changed_severity:
        session.add(AlertEvent(alert_id=alert.id, kind="updated", actor=actor,
                               from_state=alert.state, to_state=alert.state,
                               note=f"severity {alert.severity} → {severity}",
                               details={"severity": severity}, created_at=now))
        alert.severity = severity
    session.flush()
    return alert, False


def clear(
    session: Session, key: AlertKey, *, actor: str = "system", note: str | None = None,
    now: datetime | None = None,
) -> Alert | None:
    """Resolve the open alert for ``key`` because its condition cleared; None if none is open."""
    alert = find_open(session, key)
    if alert is None:
        return None
    _transition(session, alert, "resolved", "resolved", actor, note or "condition cleared", now)
    return alert


def _get(session: Session, alert_id: int) -> Alert:
    alert = session.get(Alert, alert_id, with_for_update=True)
    if alert is None:
        raise AlertNotFound(f"alert {alert_id} does not exist")
    return alert


def acknowledge(
    session: Session, alert_id: int, *, actor: str, note: str | None = None,
    now: datetime | None = None,
) -> Alert:
    """A person takes the alert: stops escalation; it still resolves when the condition clears."""
    alert = _get(session, alert_id)
    if alert.state == "resolved":
        raise AlertStateError(f"alert {alert_id} is already resolved")
    if alert.state == "acknowledged":
        return alert
    _transition(session, alert, "acknowledged", "acknowledged", actor, note, now)
    return alert


def resolve(
    session: Session, alert_id: int, *, actor: str, note: str | None = None,
    now: datetime | None = None,
) -> Alert:
    """A person closes the alert; if the condition persists, its source opens a new one."""
    alert = _get(session, alert_id)
    if alert.state == "resolved":
        raise AlertStateError(f"alert {alert_id} is already resolved")
    _transition(session, alert, "resolved", "resolved", actor, note, now)
    return alert


def snooze(
    session: Session, alert_id: int, *, actor: str, duration: timedelta,
    now: datetime | None = None,
) -> Alert:
    """Silence notifications of an open alert until ``now + duration``."""
    alert = _get(session, alert_id)
    if alert.state == "resolved":
        raise AlertStateError(f"alert {alert_id} is already resolved")
    now = now or utcnow()
    alert.snoozed_until = now + duration
    session.add(AlertEvent(alert_id=alert.id, kind="snoozed", actor=actor, from_state=alert.state,
                           to_state=alert.state, note=f"snoozed until {alert.snoozed_until:%H:%M} UTC",
                           details={"until": alert.snoozed_until.isoformat()}, created_at=now))
    session.flush()
    return alert


def add_event(
    session: Session, alert: Alert, kind: str, *, actor: str = "system", note: str | None = None,
    details: dict[str, Any] | None = None, now: datetime | None = None,
) -> AlertEvent:
    """Record an event that does not change the state (``escalated``, ``refired``, ``note``)."""
    event = AlertEvent(alert_id=alert.id, kind=kind, actor=actor, from_state=alert.state,
                       to_state=alert.state, note=note, details=details or {},
                       created_at=now or utcnow())
    session.add(event)
    session.flush()
    return event


def _transition(
    session: Session, alert: Alert, state: str, kind: str, actor: str, note: str | None,
    now: datetime | None,
) -> None:
    now = now or utcnow()
    previous = alert.state
    alert.state = state
    if state == "acknowledged":
        alert.acknowledged_at, alert.acknowledged_by = now, actor
    elif state == "resolved":
        alert.resolved_at, alert.resolved_by = now, actor
    session.add(AlertEvent(alert_id=alert.id, kind=kind, actor=actor, from_state=previous,
                           to_state=state, note=note, created_at=now))
    session.flush()
