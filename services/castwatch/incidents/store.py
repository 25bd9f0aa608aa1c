"""Database side of the correlator: load a :class:`Snapshot`, apply :class:`IncidentPlan` s.

Applying a plan (all in the caller's transaction):
- the open incident for the group's key is found or created, its fields updated when they
  changed (each UPDATE of an alert notifies the bus, so nothing is rewritten needlessly);
- members are recorded in ``incident_alerts`` (an alert moves only out of a channel/single
  incident into an origin/encoder one);
- symptoms get ``alerts.root_cause_alert_id`` = the root alert, and a symptom that joins
  writes a ``note`` event on the root (``details.symptom_alert_id``): the notifier folds the
  symptom's messages into the root's message and edits/threads that message as symptoms join
  or clear (it re-checks the link when it sends, so a symptom planned a moment before the
  correlator linked it is still folded — one incident, one message thread);
- expected symptoms (right after a successful failover) are downgraded to ``info``;
- the matched known issue's remediation goes into ``details["remediation"]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from castwatch.common import alerts as alert_ops
from castwatch.common.models import (
    Alert,
    AlertEvent,
    Channel,
    Encoder,
    EncoderGroup,
    FailoverEvent,
    Incident,
    IncidentAlert,
    ScheduleItem,
    TemplateRendition,
)
from castwatch.incidents.facts import ORIGIN_DOWN, SOURCE, AlertView, FailoverView
from castwatch.incidents.known_issues import KnownIssue
from castwatch.incidents.plan import IncidentPlan, Snapshot
from castwatch.incidents.topology import Topology, build_topology


def alert_view(a: Alert) -> AlertView:
    return AlertView(id=a.id, source=a.source, subject=a.subject, alert_type=a.alert_type,
                     severity=a.severity, state=a.state, opened_at=a.opened_at,
                     channel_id=a.channel_id, encoder_id=a.encoder_id, group_id=a.group_id,
                     resolved_at=a.resolved_at, root_cause_alert_id=a.root_cause_alert_id,
                     details=dict(a.details or {}), summary=a.summary)


def load_topology(session: Session) -> Topology:
    rend: dict[int, list[str]] = {}
    for tid, name in session.execute(select(TemplateRendition.template_id, TemplateRendition.name)):
        rend.setdefault(tid, []).append(name)
    channels = [dict(id=c.id, code=c.code, tier=c.tier, input_url=c.input_url,
                     renditions=rend.get(c.template_id or -1, []), encoder_group_id=c.encoder_group_id,
                     enabled=c.enabled) for c in session.scalars(select(Channel))]
    encoders = [dict(id=e.id, name=e.name, group_id=e.group_id, role=e.role, state=e.state)
                for e in session.scalars(select(Encoder))]
    groups = [dict(id=g.id, name=g.name, active_encoder_id=g.active_encoder_id,
                   failover_enabled=g.failover_enabled) for g in session.scalars(select(EncoderGroup))]
    return build_topology(channels, encoders, groups)


def off_air_channels(session: Session, now: datetime) -> set[int]:
    return set(session.scalars(select(ScheduleItem.channel_id).where(
        ScheduleItem.kind == "off_air", ScheduleItem.starts_at <= now, ScheduleItem.ends_at > now)))


def load_snapshot(session: Session, now: datetime, history_s: float = 3600.0) -> Snapshot:
    since = now - timedelta(seconds=history_s)
    rows = session.scalars(select(Alert).where(or_(Alert.state != "resolved", Alert.resolved_at >= since))
                           .order_by(Alert.id)).all()
    failovers = [FailoverView(f.group_id, f.from_encoder_id, f.to_encoder_id, f.status, f.created_at,
                              f.completed_at)
                 for f in session.scalars(select(FailoverEvent).where(FailoverEvent.created_at >= since))]
    sticky = {alert_id: key for alert_id, key in session.execute(
        select(IncidentAlert.alert_id, Incident.key).join(Incident, Incident.id == IncidentAlert.incident_id)
        .where(Incident.state == "open", or_(Incident.key.like("origin:%"), Incident.key.like("group:%"))))}
    return Snapshot([alert_view(a) for a in rows], load_topology(session), failovers, sticky,
                    off_air_channels(session, now))


def _set(obj: Any, **values: Any) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def _origin_root(session: Session, plan: IncidentPlan, now: datetime) -> int:
    n = len(plan.impact.channel_ids)
    alert, _ = alert_ops.fire(
        session, alert_ops.AlertKey(SOURCE, plan.group.root_subject, ORIGIN_DOWN), severity="critical",
        summary=f"Origin {plan.group.root_subject}: all {n} channels it serves stopped at once",
        details={"channels": list(plan.impact.channel_codes), "rule": "origin"}, actor="correlator",
        now=now)
    return alert.id


def apply_plan(session: Session, plan: IncidentPlan, now: datetime) -> Incident:
    """Write one plan; returns the (open) incident."""
    g = plan.group
    root_id = g.root_alert_id
    members = list(g.member_ids)
    known = {i: k for i, k in plan.known.items() if i}
    if root_id is None:  # an origin outage: raise its own root-cause alert
        root_id = _origin_root(session, plan, now)
        members.append(root_id)
        if 0 in plan.known:
            known[root_id] = plan.known[0]
    inc = session.scalars(select(Incident).where(Incident.key == g.key, Incident.state == "open")
                          .with_for_update()).one_or_none()
    fields = dict(title=plan.title[:2000], severity=plan.severity, root_kind=g.root_kind,
                  root_subject=g.root_subject[:255], root_cause_alert_id=root_id, rule=g.rule,
                  impact=plan.impact.as_dict(), planned_off_air=plan.planned_off_air,
                  known_issue=plan.known_issue.id if plan.known_issue else None,
                  remediation=plan.known_issue.remediation if plan.known_issue else None)
    if inc is None:  # it started when its first member did
        first = session.scalar(select(func.min(Alert.opened_at)).where(Alert.id.in_(members)))
        inc = Incident(key=g.key, state="open", opened_at=first or now, **fields)
        session.add(inc)
        session.flush()
    elif _set(inc, **fields):
        inc.updated_at = now
    _members(session, inc, plan, known, members, root_id, now)
    return inc


def _members(session: Session, inc: Incident, plan: IncidentPlan, known: Mapping[int, KnownIssue],
             members: Sequence[int], root_id: int, now: datetime) -> None:
    rows = {m.alert_id: m for m in session.scalars(
        select(IncidentAlert).where(IncidentAlert.alert_id.in_(members)))}
    alerts = {a.id: a for a in session.scalars(select(Alert).where(Alert.id.in_(members)))}
    root = alerts.get(root_id)
    for alert_id in members:
        role = "root" if alert_id == root_id else "symptom"
        failover = plan.expected.get(alert_id)
        note = (f"expected after failover of group {failover.group_id} at {failover.ended_at:%H:%M:%S}"
                if failover else None)
        row = rows.get(alert_id)
        joined = row is None or row.incident_id != inc.id
        if row is None:
            session.add(IncidentAlert(alert_id=alert_id, incident_id=inc.id, role=role,
                                      expected=failover is not None, note=note, joined_at=now))
        else:
            _set(row, incident_id=inc.id, role=role, expected=failover is not None, note=note)
        alert = alerts.get(alert_id)
        if alert is None:
            continue
        if role == "symptom" and root is not None:
            _fold(session, alert, root, inc, joined, now)
        if failover is not None and alert.severity != "info" and alert.is_open:
            alert_ops.add_event(session, alert, "updated", actor="correlator", note=f"{note}: severity "
                                f"{alert.severity} → info", details={"severity": "info"}, now=now)
            alert.severity = "info"
        issue = known.get(alert_id)
        current = (alert.details or {}).get("remediation")
        if issue is not None and alert.is_open and current != issue.remediation:
            alert.details = {**(alert.details or {}), "remediation": issue.remediation,
                             "known_issue": issue.id}
    session.flush()


def _fold(session: Session, alert: Alert, root: Alert, inc: Incident, joined: bool, now: datetime) -> None:
    if alert.root_cause_alert_id != root.id:
        alert.root_cause_alert_id = root.id
    if joined and root.is_open:
        alert_ops.add_event(session, root, "note", actor="correlator",
                            note=f"incident {inc.id}: {alert.alert_type} on {alert.subject} "
                                 "joined as a symptom",
                            details={"incident_id": inc.id, "symptom_alert_id": alert.id}, now=now)


def close_finished(session: Session, now: datetime) -> list[int]:
    """Clear synthetic origin alerts whose symptoms all resolved; drop incidents that lost
    every member to another incident; resolve incidents whose members all resolved. Returns
    the ids of the resolved ones."""
    for inc, root in session.execute(
        select(Incident, Alert).join(Alert, Alert.id == Incident.root_cause_alert_id)
        .where(Incident.state == "open", Alert.source == SOURCE, Alert.alert_type == ORIGIN_DOWN,
               Alert.state != "resolved")
    ).all():
        others = session.scalar(select(Alert.id).join(IncidentAlert, IncidentAlert.alert_id == Alert.id)
                                .where(IncidentAlert.incident_id == inc.id, Alert.id != root.id,
                                       Alert.state != "resolved").limit(1))
        if others is None:
            alert_ops.clear(session, alert_ops.AlertKey(SOURCE, root.subject, ORIGIN_DOWN),
                            actor="correlator", note="every channel of the origin recovered", now=now)
    # incidents whose every member moved into an origin/encoder incident were a first guess
    # superseded by a better one: they go (the members' history lives on in the new one)
    session.execute(delete(Incident).where(
        Incident.state == "open", ~select(IncidentAlert.alert_id)
        .where(IncidentAlert.incident_id == Incident.id).exists()))
    done = []
    for inc in session.scalars(select(Incident).where(Incident.state == "open").with_for_update()):
        still_open = session.scalar(select(Alert.id).join(IncidentAlert, IncidentAlert.alert_id == Alert.id)
                                    .where(IncidentAlert.incident_id == inc.id, Alert.state != "resolved")
                                    .limit(1))
        if still_open is None:
            inc.state, inc.resolved_at, inc.updated_at = "resolved", now, now
            done.append(inc.id)
    session.flush()
    return done


def timeline(session: Session, incident: Incident) -> list[dict[str, Any]]:
    """The incident's history: its opening, each member's alert events, its resolution."""
    rows = session.execute(
        select(AlertEvent, Alert.alert_type, Alert.subject, IncidentAlert.role)
        .join(Alert, Alert.id == AlertEvent.alert_id)
        .join(IncidentAlert, IncidentAlert.alert_id == Alert.id)
        .where(IncidentAlert.incident_id == incident.id).order_by(AlertEvent.created_at, AlertEvent.id)
    ).all()
    out: list[dict[str, Any]] = [{"at": incident.opened_at, "kind": "incident_opened", "alert_id": None,
                                  "note": incident.title}]
    out += [{"at": e.created_at, "kind": e.kind, "alert_id": e.alert_id, "alert_type": t, "subject": s,
             "role": role, "actor": e.actor, "note": e.note} for e, t, s, role in rows]
    if incident.resolved_at is not None:
        out.append({"at": incident.resolved_at, "kind": "incident_resolved", "alert_id": None,
                    "note": "every member alert resolved"})
    return sorted(out, key=lambda x: x["at"])

