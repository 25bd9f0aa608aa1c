"""Incidents (``/api/v1/incidents``) and channel schedules (``/api/v1/schedules``).

An incident is what the correlator (``castwatch incidents``) made of alerts that share a
cause: its root-cause alert, its symptoms, its impact (channels, tiers, redundancy) and a
timeline. Schedules: the sources the schedule monitor imports, the imported items, and which
channels are in a planned off-air time right now (the UI shows it next to their alerts).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from flask import Blueprint
from pydantic import BaseModel, Field
from sqlalchemy import case, select

from castwatch.cms_api.context import db
from castwatch.cms_api.crud import get_or_404, paged
from castwatch.cms_api.registry import api_route
from castwatch.cms_api.schemas.base import AwareDatetime, Id, Model, OutModel, Page, Text
from castwatch.common.models import (
    Alert,
    Channel,
    Incident,
    IncidentAlert,
    ScheduleItem,
    ScheduleSource,
    utcnow,
)
from castwatch.common.vocab import SEVERITIES
from castwatch.incidents.store import timeline

bp = Blueprint("incidents", __name__)

SEVERITY_ORDER = case({name: i for i, name in enumerate(SEVERITIES)}, value=Incident.severity)


class IncidentQuery(Page):
    state: Literal["open", "resolved"] | None = Field(None, description="open or resolved")
    channel: Id | None = Field(None, description="incidents touching this channel id")


class IncidentOut(OutModel):
    id: int
    key: str
    title: str
    state: str
    severity: str
    root_kind: str
    root_subject: str
    root_cause_alert_id: int | None
    rule: str
    impact: dict[str, Any]
    known_issue: str | None
    remediation: str | None
    planned_off_air: bool
    opened_at: datetime
    updated_at: datetime
    resolved_at: datetime | None


class IncidentPage(BaseModel):
    items: list[IncidentOut]
    total: int
    limit: int
    offset: int


class MemberOut(BaseModel):
    alert_id: int
    role: str
    expected: bool
    note: str | None
    source: str
    subject: str
    alert_type: str
    severity: str
    state: str
    summary: str
    opened_at: datetime
    resolved_at: datetime | None
    remediation: str | None


class TimelineEntry(BaseModel):
    at: datetime
    kind: str
    alert_id: int | None
    alert_type: str | None = None
    subject: str | None = None
    role: str | None = None
    actor: str | None = None
    note: str | None = None


class IncidentDetail(IncidentOut):
    root_cause: MemberOut | None
    symptoms: list[MemberOut]
    timeline: list[TimelineEntry]


@api_route(bp, "/api/v1/incidents", query=IncidentQuery, response=IncidentPage, tag="incidents")
def list_incidents(query: IncidentQuery) -> IncidentPage:
    """Incidents, open ones first (most severe first), then newest."""
    stmt = select(Incident).order_by(case((Incident.state == "open", 0), else_=1), SEVERITY_ORDER,
                                     Incident.opened_at.desc(), Incident.id.desc())
    if query.state:
        stmt = stmt.where(Incident.state == query.state)
    if query.channel is not None:
        stmt = stmt.where(Incident.impact["channel_ids"].contains([query.channel]))
    rows, total = paged(db(), stmt, query.limit, query.offset)
    return IncidentPage(items=[IncidentOut.model_validate(r) for r in rows], total=total,
                        limit=query.limit, offset=query.offset)


def _member(alert: Alert, link: IncidentAlert) -> MemberOut:
    return MemberOut(alert_id=alert.id, role=link.role, expected=link.expected, note=link.note,
                     source=alert.source, subject=alert.subject, alert_type=alert.alert_type,
                     severity=alert.severity, state=alert.state, summary=alert.summary,
                     opened_at=alert.opened_at, resolved_at=alert.resolved_at,
                     remediation=(alert.details or {}).get("remediation"))


@api_route(bp, "/api/v1/incidents/<int:incident_id>", response=IncidentDetail, errors=(404,),
           tag="incidents")
def get_incident(incident_id: int) -> IncidentDetail:
    """One incident: its root cause, symptoms (expected ones flagged), impact and timeline."""
    inc = get_or_404(Incident, incident_id, "incident")
    session = db()
    members = [_member(a, link) for a, link in session.execute(
        select(Alert, IncidentAlert).join(IncidentAlert, IncidentAlert.alert_id == Alert.id)
        .where(IncidentAlert.incident_id == inc.id).order_by(Alert.opened_at, Alert.id))]
    root = next((m for m in members if m.alert_id == inc.root_cause_alert_id), None)
    return IncidentDetail(
        **IncidentOut.model_validate(inc).model_dump(), root_cause=root,
        symptoms=[m for m in members if m is not root],
        timeline=[TimelineEntry(**e) for e in timeline(session, inc)],
    )


# --- schedules ----------------------------------------------------------------------------


class SourceIn(Model):
    name: Text(100)  # type: ignore[valid-type]
    kind: Literal["cablecast", "ical", "html", "pdf"]
    url: Text(2000, pattern=r"^https?://[^\x00\s]+$")  # type: ignore[valid-type]
    channel_id: Id
    options: dict[str, Any] = Field(default_factory=dict, description=(
        "cablecast: cablecast_channel, live_pattern, off_air_pattern; html/pdf: pattern, "
        "date_format, time_format, timezone, duration_min, title"))
    enabled: bool = True


class SourceOut(OutModel):
    id: int
    name: str
    kind: str
    url: str
    channel_id: int
    options: dict[str, Any]
    enabled: bool
    last_import_at: datetime | None
    last_error: str | None


class ItemQuery(Page):
    channel: Id | None = None
    kind: Literal["show", "live_event", "off_air"] | None = None
    since: AwareDatetime | None = Field(None, description="ending at or after (default: now)")


class ItemOut(OutModel):
    id: int
    source_id: int
    channel_id: int
    title: str
    kind: str
    starts_at: datetime
    ends_at: datetime
    details: dict[str, Any]


class ItemPage(BaseModel):
    items: list[ItemOut]
    total: int
    limit: int
    offset: int


class OffAirOut(BaseModel):
    channel_id: int
    channel_code: str
    item_id: int
    title: str
    starts_at: datetime
    ends_at: datetime


@api_route(bp, "/api/v1/schedules/sources", response=list[SourceOut], tag="schedules")
def list_sources() -> list[SourceOut]:
    """Schedule sources with the outcome of their last import."""
    rows = db().scalars(select(ScheduleSource).order_by(ScheduleSource.id))
    return [SourceOut.model_validate(s) for s in rows]


@api_route(bp, "/api/v1/schedules/sources", ["POST"], body=SourceIn, response=SourceOut, status=201,
           scope="write", errors=(404, 409), tag="schedules")
def create_source(body: SourceIn) -> SourceOut:
    """Add a schedule source for a channel; the schedule monitor imports it on its next round."""
    session = db()
    get_or_404(Channel, body.channel_id, "channel")
    row = ScheduleSource(**body.model_dump())
    session.add(row)
    session.commit()
    return SourceOut.model_validate(row)


@api_route(bp, "/api/v1/schedules/sources/<int:source_id>", ["DELETE"], response=None, status=204,
           scope="write", errors=(404,), tag="schedules")
def delete_source(source_id: int) -> None:
    """Remove a source and every item imported from it."""
    session = db()
    session.delete(get_or_404(ScheduleSource, source_id, "schedule source"))
    session.commit()


@api_route(bp, "/api/v1/schedules/items", query=ItemQuery, response=ItemPage, tag="schedules")
def list_items(query: ItemQuery) -> ItemPage:
    """Imported schedule items that have not ended (or ended after ``since``), soonest first."""
    stmt = select(ScheduleItem).where(ScheduleItem.ends_at >= (query.since or utcnow())) \
        .order_by(ScheduleItem.starts_at, ScheduleItem.id)
    if query.channel is not None:
        stmt = stmt.where(ScheduleItem.channel_id == query.channel)
    if query.kind is not None:
        stmt = stmt.where(ScheduleItem.kind == query.kind)
    rows, total = paged(db(), stmt, query.limit, query.offset)
    return ItemPage(items=[ItemOut.model_validate(r) for r in rows], total=total, limit=query.limit,
                    offset=query.offset)


@api_route(bp, "/api/v1/schedules/off-air", response=list[OffAirOut], tag="schedules")
def off_air_now() -> list[OffAirOut]:
    """Channels in a planned off-air time right now: their alerts are not sent."""
    now = utcnow()
    rows = db().execute(select(ScheduleItem, Channel.code)
                        .join(Channel, Channel.id == ScheduleItem.channel_id)
                        .where(ScheduleItem.kind == "off_air", ScheduleItem.starts_at <= now,
                               ScheduleItem.ends_at > now).order_by(Channel.code)).all()
    return [OffAirOut(channel_id=i.channel_id, channel_code=code, item_id=i.id, title=i.title,
                      starts_at=i.starts_at, ends_at=i.ends_at) for i, code in rows]
