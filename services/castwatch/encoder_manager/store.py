"""Database I/O of the encoder manager (synchronous; the loop calls it through a thread).

Reads the fleet (encoders, groups) into plain dataclasses; writes encoder status rows,
alerts, failover events, active encoders and command outcomes. Each function works in the
caller's session; callers use ``common.db.transaction``. Row triggers announce every change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from castwatch.common import alerts
from castwatch.common.models import (
    Alert,
    Channel,
    Encoder,
    EncoderCommand,
    EncoderGroup,
    EncoderOutput,
    FailoverEvent,
    ScheduleItem,
    utcnow,
)

SOURCE = "encoders"


@dataclass(frozen=True)
class EncoderRow:
    id: int
    name: str
    driver_kind: str
    address: str
    credentials_ref: str | None
    group_id: int | None
    role: str
    priority: int
    enabled: bool
    thresholds: dict[str, Any] = field(default_factory=dict)
    driver_options: dict[str, Any] = field(default_factory=dict)
    output: dict[str, Any] = field(default_factory=dict)
    max_outputs: int = 1
    bitrate_budget_kbps: int | None = None

    @property
    def driver_key(self) -> tuple[Any, ...]:
        """What, when changed, needs a new driver instance."""
        return (self.driver_kind, self.address, self.credentials_ref,
                tuple(sorted((k, repr(v)) for k, v in self.driver_options.items())))


@dataclass(frozen=True)
class GroupRow:
    id: int
    name: str
    failover_enabled: bool
    failure_threshold: int
    poll_interval_s: float
    verify_timeout_s: float
    preference: str
    failback_hold_s: float
    min_switch_interval_s: float
    thresholds: dict[str, Any]
    active_encoder_id: int | None
    record_on_backup: bool = False
    record_during_meetings: bool = False
    in_meeting: bool = False  # a live event of one of the group's channels is on now


def load_fleet(session: Session) -> tuple[list[EncoderRow], list[GroupRow]]:
    meeting = groups_in_meeting(session)
    encoders = [
        EncoderRow(id=e.id, name=e.name, driver_kind=e.driver_kind, address=e.address,
                   credentials_ref=e.credentials_ref, group_id=e.group_id, role=e.role,
                   priority=e.priority, enabled=e.enabled, thresholds=dict(e.thresholds or {}),
                   driver_options=dict(e.driver_options or {}), output=dict(e.output or {}),
                   max_outputs=e.max_outputs, bitrate_budget_kbps=e.bitrate_budget_kbps)
        for e in session.scalars(select(Encoder).order_by(Encoder.id))
    ]
    groups = [
        GroupRow(id=g.id, name=g.name, failover_enabled=g.failover_enabled,
                 failure_threshold=g.failure_threshold, poll_interval_s=g.poll_interval_s,
                 verify_timeout_s=g.verify_timeout_s, preference=g.preference,
                 failback_hold_s=g.failback_hold_s, min_switch_interval_s=g.min_switch_interval_s,
                 thresholds=dict(g.thresholds or {}), active_encoder_id=g.active_encoder_id,
                 record_on_backup=g.record_on_backup, record_during_meetings=g.record_during_meetings,
                 in_meeting=g.id in meeting)
        for g in session.scalars(select(EncoderGroup).order_by(EncoderGroup.id))
    ]
    return encoders, groups


@dataclass(frozen=True)
class OutputRow:
    """One output of a group's pool (``encoder_outputs``)."""

    id: int
    name: str
    group_id: int
    bitrate_kbps: int
    priority: int
    enabled: bool
    capabilities: frozenset[str]
    assigned_encoder_id: int | None
    destination: str = ""


def load_outputs(session: Session) -> list[OutputRow]:
    """Every pool output, by id."""
    return [OutputRow(id=o.id, name=o.name, group_id=o.group_id, bitrate_kbps=o.bitrate_kbps,
                      priority=o.priority, enabled=o.enabled,
                      capabilities=frozenset(str(c) for c in (o.required_capabilities or [])),
                      assigned_encoder_id=o.assigned_encoder_id, destination=o.destination or "")
            for o in session.scalars(select(EncoderOutput).order_by(EncoderOutput.id))]


def save_assignment(session: Session, group_id: int, changes: dict[int, int | None]) -> None:
    """Set ``assigned_encoder_id`` of the group's outputs (output id → encoder id or None)."""
    for output_id, encoder_id in changes.items():
        session.execute(update(EncoderOutput).where(EncoderOutput.id == output_id,
                                                    EncoderOutput.group_id == group_id)
                        .values(assigned_encoder_id=encoder_id))


def rename_output(session: Session, output_id: int, group_id: int, old: str, new: str) -> bool:
    """Rename one output of the group from ``old`` to ``new``; False (nothing written) when the
    output is no longer called ``old`` or another output already has ``new`` (names are unique)."""
    if session.scalar(select(EncoderOutput.id).where(EncoderOutput.name == new)) is not None:
        return False
    done = session.execute(update(EncoderOutput).where(
        EncoderOutput.id == output_id, EncoderOutput.group_id == group_id, EncoderOutput.name == old,
    ).values(name=new))
    return bool(getattr(done, "rowcount", 0))


def record_pool_move(session: Session, group_id: int, from_id: int | None, to_id: int | None,
                     kind: str, reason: str, status: str) -> int:
    """Audit one move of a pool output as a finished failover event (``reason`` names the
    output: failover events have no output column)."""
    event = FailoverEvent(group_id=group_id, from_encoder_id=from_id, to_encoder_id=to_id, kind=kind,
                          reason=reason[:2000], actor="pool", status=status, completed_at=utcnow())
    session.add(event)
    session.flush()
    return event.id


def open_alert_subjects(session: Session, alert_type: str) -> list[tuple[int | None, str]]:
    """``(group_id, subject)`` of the open encoder alerts of ``alert_type``."""
    rows = session.execute(select(Alert.group_id, Alert.subject).where(
        Alert.source == SOURCE, Alert.alert_type == alert_type, Alert.state != "resolved")).all()
    return [(gid, subject) for gid, subject in rows]


def groups_in_meeting(session: Session) -> set[int]:
    """Groups one of whose channels has a live event (a meeting) scheduled for now."""
    now = utcnow()
    rows = session.execute(
        select(Channel.encoder_group_id).join(ScheduleItem, ScheduleItem.channel_id == Channel.id)
        .where(ScheduleItem.kind == "live_event", ScheduleItem.starts_at <= now,
               ScheduleItem.ends_at > now, Channel.encoder_group_id.is_not(None)).distinct())
    return {gid for (gid,) in rows if gid is not None}


def last_switches(session: Session) -> dict[int, datetime]:
    """Per group, when its last failover event was recorded (to honour the switch interval)."""
    rows = session.execute(select(FailoverEvent.group_id, func.max(FailoverEvent.created_at))
                           .group_by(FailoverEvent.group_id))
    return {gid: at for gid, at in rows}


def write_status(session: Session, updates: list[dict[str, Any]]) -> None:
    """Update encoders' live columns; each dict has ``id`` and the columns to set.

    Rows with the same columns go in one executemany (ORM bulk UPDATE by primary key).
    """
    batches: dict[frozenset[str], list[dict[str, Any]]] = {}
    for row in updates:
        batches.setdefault(frozenset(row), []).append(row)
    for rows in batches.values():
        session.execute(update(Encoder), rows)


@dataclass(frozen=True)
class AlertOp:
    """Raise (fire/refresh) or clear one encoder alert."""

    op: str  # raise | clear
    subject: str
    alert_type: str
    severity: str = "major"
    summary: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    encoder_id: int | None = None
    group_id: int | None = None
    actor: str = "system"


def apply_alerts(session: Session, ops: list[AlertOp]) -> list[tuple[AlertOp, bool]]:
    """Apply ops in order; returns ``(op, changed)`` (opened, or resolved) for logging."""
    results = []
    for op in ops:
        key = alerts.AlertKey(SOURCE, op.subject, op.alert_type)
        if op.op == "raise":
            _alert, opened = alerts.fire(session, key, severity=op.severity, summary=op.summary,
                                         details=op.details, encoder_id=op.encoder_id,
                                         group_id=op.group_id, actor=op.actor)
            results.append((op, opened))
        else:
            cleared = alerts.clear(session, key, actor=op.actor, note=op.summary or None)
            results.append((op, cleared is not None))
    return results


def set_active(session: Session, group_id: int, encoder_id: int) -> None:
    """The group's on-air encoder; a one-output group's output is assigned to it too (so the
    pool view of a classic primary/backup group shows who carries it)."""
    session.execute(update(EncoderGroup).where(EncoderGroup.id == group_id,
                                               EncoderGroup.active_encoder_id.is_distinct_from(encoder_id))
                    .values(active_encoder_id=encoder_id))
    outputs = session.scalars(select(EncoderOutput.id).where(EncoderOutput.group_id == group_id)).all()
    if len(outputs) == 1:
        session.execute(update(EncoderOutput).where(
            EncoderOutput.id == outputs[0], EncoderOutput.assigned_encoder_id.is_distinct_from(encoder_id))
            .values(assigned_encoder_id=encoder_id))


def start_failover_event(session: Session, group_id: int, from_id: int | None, to_id: int,
                         kind: str, reason: str, actor: str) -> int:
    event = FailoverEvent(group_id=group_id, from_encoder_id=from_id, to_encoder_id=to_id,
                          kind=kind, reason=reason, actor=actor, status="started")
    session.add(event)
    session.flush()
    return event.id


def finish_failover_event(session: Session, event_id: int, status: str) -> None:
    session.execute(update(FailoverEvent).where(FailoverEvent.id == event_id)
                    .values(status=status, completed_at=utcnow()))


@dataclass(frozen=True)
class CommandRow:
    id: int
    encoder_id: int
    group_id: int | None
    action: str
    params: dict[str, Any]
    requested_by: str


def claim_commands(session: Session, group_ids: set[int], ungrouped: bool,
                   limit: int = 20) -> list[CommandRow]:
    """Pending commands for encoders this replica controls, marked ``running`` (SKIP LOCKED)."""
    if not group_ids and not ungrouped:
        return []
    clauses = []
    if group_ids:
        clauses.append(Encoder.group_id.in_(group_ids))
    if ungrouped:
        clauses.append(Encoder.group_id.is_(None))
    owned = or_(*clauses)
    rows = session.execute(
        select(EncoderCommand, Encoder.group_id).join(Encoder, Encoder.id == EncoderCommand.encoder_id)
        .where(EncoderCommand.status == "pending", owned)
        .order_by(EncoderCommand.id).limit(limit).with_for_update(of=EncoderCommand, skip_locked=True)
    ).all()
    claimed = []
    for cmd, group_id in rows:
        cmd.status = "running"
        claimed.append(CommandRow(cmd.id, cmd.encoder_id, group_id, cmd.action, dict(cmd.params or {}),
                                  cmd.requested_by))
    session.flush()
    return claimed


def finish_command(session: Session, command_id: int, status: str, result: str) -> None:
    session.execute(update(EncoderCommand).where(EncoderCommand.id == command_id)
                    .values(status=status, result=result[:2000], completed_at=utcnow()))


def audit_on_open_alerts(session: Session, encoder_id: int, actor: str, note: str) -> int:
    """Add a ``note`` event to the encoder's open alerts (the audit trail of manual control)."""
    open_alerts = session.scalars(select(Alert).where(Alert.encoder_id == encoder_id,
                                                      Alert.state != "resolved")).all()
    for alert in open_alerts:
        alerts.add_event(session, alert, "note", actor=actor, note=note)
    return len(open_alerts)


def audit_remediation(session: Session, group_id: int, encoder_id: int, note: str) -> int:
    """Add a ``note`` (actor ``remediation``) to the encoder's open alerts and its group's
    ``FAILOVER_ACTIVATED``: the audit trail of auto-remediation."""
    rows = session.scalars(select(Alert).where(
        Alert.source == SOURCE, Alert.state != "resolved",
        or_(Alert.encoder_id == encoder_id,
            (Alert.group_id == group_id) & (Alert.alert_type == "FAILOVER_ACTIVATED")))).all()
    for alert in rows:
        alerts.add_event(session, alert, "note", actor="remediation", note=note)
    return len(rows)
