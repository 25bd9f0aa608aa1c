"""The planner: alert events → delivery rows (the outbox), plus escalation and repeat ticks.

Idempotent and restart-safe:
- deliveries are unique per ``(event_id, recipient_id, transport, kind)`` (``ON CONFLICT DO
  NOTHING``), and an event is marked planned in the same transaction as its deliveries;
- "which events are planned" is a watermark (``notify_cursor``: every id at or below it is
  planned) plus one marker row per planned event above it. Ids are allocated before commit and
  may appear out of order, so the watermark only advances over markers older than
  :data:`SETTLE_S`; an event whose transaction stayed open longer than that after a later event
  was planned would be missed — the one documented gap;
- one replica plans at a time (``pg_try_advisory_xact_lock``); others skip the round.

Escalations and reminders are written as ``escalated``/``refired`` alert events (visible in the
alert's history) and then planned like any other event.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, and_, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, sessionmaker

from castwatch.common.alerts import add_event
from castwatch.common.db import transaction
from castwatch.common.models import (
    Alert,
    AlertEvent,
    Channel,
    Delivery,
    MaintenanceWindow,
    NotificationRule,
    NotifyCursor,
    PlannedEvent,
    Recipient,
    utcnow,
)
from castwatch.notifier.addresses import usable_kinds
from castwatch.notifier.catchup import catchup_targets, queue_catchups
from castwatch.notifier.incident_jobs import last_update_sent, root_targets
from castwatch.notifier.incident_thread import UPDATE_KIND, update_due
from castwatch.notifier.rules import (
    AlertFacts,
    EscalationStep,
    EventFacts,
    RecipientSpec,
    RuleSpec,
    WindowSpec,
    escalation_steps_due,
    plan_event,
    repeat_due,
    rule_matches,
)
from castwatch.notifier.transports import fallbacks

logger = logging.getLogger(__name__)

PLANNER_LOCK = 0x6E6F7469  # "noti": one planner at a time across replicas
SETTLE_S = 300
#: ``castwatch.common.alerts.fire`` notes a severity change as "severity <old> → <new>".
FROM_SEVERITY = re.compile(r"severity (\w+) ")


def rule_spec(row: NotificationRule) -> RuleSpec:
    steps = tuple(
        EscalationStep(int(s.get("after_s", 0)), tuple(s.get("roles") or ()))
        for s in (row.escalation or []) if isinstance(s, dict)
    )
    return RuleSpec(
        id=row.id, name=row.name, match=dict(row.match or {}), roles=tuple(row.roles or ()),
        recipient_ids=tuple(int(i) for i in row.recipient_ids or ()),
        transports=tuple(row.transports or ()), group_wait_s=row.group_wait_s,
        repeat_interval_s=row.repeat_interval_s, send_resolved=row.send_resolved,
        escalation=steps, priority=row.priority, enabled=row.enabled,
    )


def recipient_spec(row: Recipient, addresses: frozenset[str] | None = None) -> RecipientSpec:
    """``addresses``: the kinds with an enabled address (``recipient_addresses``)."""
    return RecipientSpec(
        id=row.id, name=row.name, role=row.role, telegram_chat_id=row.telegram_chat_id,
        email=row.email, telegram_enabled=row.telegram_enabled, email_enabled=row.email_enabled,
        enabled=row.enabled, is_admin=row.is_admin, addresses=addresses,
    )


def load_people(session: Session) -> list[RecipientSpec]:
    rows = list(session.scalars(select(Recipient).order_by(Recipient.id)))
    kinds = usable_kinds(session, [r.id for r in rows])
    return [recipient_spec(r, kinds[r.id]) for r in rows]


def window_spec(row: MaintenanceWindow) -> WindowSpec:
    return WindowSpec(
        id=row.id, name=row.name, starts_at=row.starts_at, ends_at=row.ends_at,
        weekdays=tuple(int(d) for d in row.weekdays or ()), start_time=row.start_time,
        duration_minutes=row.duration_minutes, timezone=row.timezone,
        channel_ids=tuple(int(i) for i in row.channel_ids or ()),
        encoder_ids=tuple(int(i) for i in row.encoder_ids or ()),
        group_ids=tuple(int(i) for i in row.group_ids or ()),
    )


def alert_facts(alert: Alert, tier: int | None) -> AlertFacts:
    return AlertFacts(
        id=alert.id, source=alert.source, subject=alert.subject, alert_type=alert.alert_type,
        severity=alert.severity, state=alert.state, opened_at=alert.opened_at, summary=alert.summary,
        channel_id=alert.channel_id, encoder_id=alert.encoder_id, group_id=alert.group_id, tier=tier,
        root_cause_alert_id=alert.root_cause_alert_id, snoozed_until=alert.snoozed_until,
    )


def load_alerts(session: Session, ids: Sequence[int]) -> dict[int, AlertFacts]:
    rows = session.execute(
        select(Alert, Channel.tier).outerjoin(Channel, Channel.id == Alert.channel_id)
        .where(Alert.id.in_(ids))
    ).all()
    return {alert.id: alert_facts(alert, tier) for alert, tier in rows}


class Planner:
    """Turns new alert events into deliveries; takes escalation and repeat steps when due."""

    def __init__(
        self, factory: sessionmaker[Session], *, horizon_s: int = 86400,
        update_coalesce_s: float = 5.0, clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._factory = factory
        self._horizon = timedelta(seconds=horizon_s)
        self._coalesce_s = update_coalesce_s
        self._clock = clock

    def plan_pending(self, limit: int = 500) -> int:
        """Plan up to ``limit`` unplanned events; returns how many deliveries were inserted."""
        with transaction(self._factory) as session:
            if not session.scalar(select(func.pg_try_advisory_xact_lock(PLANNER_LOCK))):
                return 0
            watermark = self._watermark(session)
            events = session.scalars(
                select(AlertEvent)
                .where(AlertEvent.id > watermark,
                       ~select(PlannedEvent.event_id)
                       .where(PlannedEvent.event_id == AlertEvent.id).exists())
                .order_by(AlertEvent.id).limit(limit)
            ).all()
            inserted = self._plan(session, events) if events else 0
            self._advance(session)
            return inserted

    def _watermark(self, session: Session) -> int:
        session.execute(insert(NotifyCursor).values(id=1, last_event_id=0)
                        .on_conflict_do_nothing(index_elements=["id"]))
        return int(session.scalar(select(NotifyCursor.last_event_id).where(NotifyCursor.id == 1)) or 0)

    def _advance(self, session: Session) -> None:
        settled = session.scalar(
            select(func.coalesce(func.max(PlannedEvent.event_id), 0))
            .where(PlannedEvent.planned_at < func.now() - text(f"interval '{SETTLE_S} seconds'"))
        )
        if settled:
            session.execute(
                update(NotifyCursor).where(
                    and_(NotifyCursor.id == 1, NotifyCursor.last_event_id < settled)
                ).values(last_event_id=settled, updated_at=func.now())
            )
            session.execute(delete(PlannedEvent).where(PlannedEvent.event_id <= settled))

    def _plan(self, session: Session, events: Sequence[AlertEvent]) -> int:
        alerts = load_alerts(session, sorted({e.alert_id for e in events}))
        root_ids = {a.root_cause_alert_id for a in alerts.values() if a.root_cause_alert_id}
        open_roots = set(session.scalars(
            select(Alert.id).where(Alert.id.in_(root_ids), Alert.state != "resolved")
        )) if root_ids else set()
        rules = [rule_spec(r) for r in session.scalars(
            select(NotificationRule).where(NotificationRule.enabled))]
        people = load_people(session)
        windows = [window_spec(w) for w in session.scalars(select(MaintenanceWindow))]
        too_old = self._clock() - self._horizon
        inserted = 0
        stale: list[EventFacts] = []
        for event in events:
            alert = alerts.get(event.alert_id)
            if alert is not None and event.created_at < too_old:
                stale.append(EventFacts(id=event.id, alert_id=event.alert_id, kind=event.kind,
                                        created_at=event.created_at))
            if alert is not None and event.created_at >= too_old:
                details = dict(event.details or {})
                previous = FROM_SEVERITY.match(event.note or "") if event.kind == "updated" else None
                if previous:
                    details.setdefault("from_severity", previous.group(1))
                facts = EventFacts(id=event.id, alert_id=event.alert_id, kind=event.kind,
                                   created_at=event.created_at, actor=event.actor, details=details)
                root = alert.root_cause_alert_id if alert.root_cause_alert_id in open_roots else None
                planned = plan_event(facts, alert, rules, people, windows, root_cause_open=root is not None,
                                     root_targets=root_targets(session, root) if root else None,
                                     update_delay_s=self._coalesce_s, fallbacks=fallbacks())
                for p in planned:
                    if p.kind == UPDATE_KIND:  # at most one update per message per window
                        last = last_update_sent(session, int(p.payload["root_alert_id"]), p.recipient_id,
                                                p.transport)
                        p = replace(p, due_at=update_due(event.created_at, last, self._coalesce_s))
                    stmt = insert(Delivery).values(
                        alert_id=p.alert_id or alert.id, event_id=event.id, rule_id=p.rule_id,
                        recipient_id=p.recipient_id, transport=p.transport, kind=p.kind,
                        status=p.status, group_key=p.group_key, next_attempt_at=p.due_at,
                        last_error=p.reason, payload=p.payload,
                    ).on_conflict_do_nothing(constraint="uq_deliveries_event_recipient")
                    result: CursorResult[Any] = session.execute(stmt)  # type: ignore[assignment]
                    inserted += result.rowcount or 0
            session.execute(insert(PlannedEvent).values(event_id=event.id)
                            .on_conflict_do_nothing(index_elements=["event_id"]))
        if stale:  # past the horizon: one catch-up summary per person, never silence
            inserted += queue_catchups(session, catchup_targets(stale, alerts, rules, people),
                                       self._clock())
        if inserted:
            logger.info("planned deliveries=%d events=%d", inserted, len(events))
        return inserted

    def tick(self, limit: int = 1000) -> int:
        """Write ``escalated``/``refired`` events that are due; returns how many."""
        now = self._clock()
        with transaction(self._factory) as session:
            if not session.scalar(select(func.pg_try_advisory_xact_lock(PLANNER_LOCK))):
                return 0
            rules = [rule_spec(r) for r in session.scalars(
                select(NotificationRule).where(NotificationRule.enabled))]
            rules = [r for r in rules if r.escalation or r.repeat_interval_s]
            if not rules:
                return 0
            rows = session.scalars(
                select(Alert).where(Alert.state == "firing").order_by(Alert.id).limit(limit)
            ).all()
            if not rows:
                return 0
            facts = load_alerts(session, [a.id for a in rows])
            history = session.execute(
                select(AlertEvent.alert_id, AlertEvent.kind, AlertEvent.details, AlertEvent.created_at)
                .where(AlertEvent.alert_id.in_([a.id for a in rows]),
                       AlertEvent.kind.in_(("escalated", "refired")))
            ).all()
            written = 0
            for alert in rows:
                written += self._tick_alert(session, alert, facts[alert.id], rules, history, now)
            return written

    def _tick_alert(self, session: Session, alert: Alert, facts: AlertFacts,
                    rules: Sequence[RuleSpec], history: Sequence, now: datetime) -> int:
        written = 0
        mine = [h for h in history if h.alert_id == alert.id]
        for rule in rules:
            if not rule_matches(rule, facts, facts.opened_at):
                continue
            done = {int(h.details.get("step", -1)) for h in mine
                    if h.kind == "escalated" and h.details.get("rule_id") == rule.id}
            for step in escalation_steps_due(rule, facts, now, done):
                roles = list(rule.escalation[step].roles)
                add_event(session, alert, "escalated",
                          note=f"unacknowledged, escalated to {', '.join(roles)}",
                          details={"rule_id": rule.id, "step": step, "roles": roles}, now=now)
                written += 1
            last = max([facts.opened_at] + [h.created_at for h in mine if h.kind == "refired"
                                            and h.details.get("rule_id") == rule.id])
            if repeat_due(rule, facts, last, now):
                add_event(session, alert, "refired", note="still firing",
                          details={"rule_id": rule.id}, now=now)
                written += 1
        return written
