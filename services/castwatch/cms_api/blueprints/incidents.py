"""Incidents (``/api/v1/incidents``) and channel schedules (``/api/v1/schedules``).

An incident is what the correlator (``castwatch incidents``) made of alerts that share a
cause: its root-cause alert, its symptoms, its impact (channels, tiers, redundancy) and a
timeline. Schedules: the sources the schedule monitor imports, the imported items, which
channels are in a planned off-air time right now (the UI shows it next to their alerts), and
a source's preview: what an import would store and what it would ignore, and why, without
saving anything (so a station checks a source before it drives alerts).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import case, select

from castwatch.cms_api.context import api_context, db
from castwatch.cms_api.crud import get_or_404, paged
from castwatch.cms_api.registry import api_route
from castwatch.cms_api.schemas.base import AwareDatetime, Id, Model, OutModel, Page, QueryModel, text
from castwatch.common import alerts as alert_ops
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
from castwatch.schedules.check import SOURCE, SOURCE_FAILING_TYPE
from castwatch.schedules.http import ScheduleHttp
from castwatch.schedules.service import previous_stats, try_import

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
    name: Annotated[str, text(100)]
    kind: Literal["cablecast", "ical", "html", "pdf"]
    url: Annotated[str, text(2000, pattern=r"^https?://[^\x00\s]+$")]
    channel_id: Id
    options: dict[str, Any] = Field(default_factory=dict, description=(
        "cablecast: cablecast_channel, live_pattern, off_air_pattern; html/pdf: pattern, "
        "date_format, time_format, duration_min, title, body, meeting_pattern, default_time"))
    enabled: bool = True
    timezone: str | None = Field(None, max_length=64, description=(
        "IANA time zone of local times the source gives without a UTC offset (Cablecast "
        "runDateTime, iCal floating times, meeting pages); default options.timezone, else UTC"))

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone (use an IANA name, e.g. America/Chicago)") from None
        return value


class SourceOut(OutModel):
    id: int
    name: str
    kind: str
    url: str
    channel_id: int
    options: dict[str, Any]
    enabled: bool
    timezone: str | None
    last_import_at: datetime | None
    last_error: str | None
    last_import_stats: dict[str, Any]


class ItemQuery(Page):
    channel: Id | None = None
    kind: Literal["show", "live_event", "off_air"] | None = None
    status: Literal["scheduled", "cancelled"] | None = None
    since: AwareDatetime | None = Field(None, description="ending at or after (default: now)")


class ItemOut(OutModel):
    id: int
    source_id: int
    channel_id: int
    title: str
    kind: str
    status: str
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
    """Remove a source and every item imported from it (its open SCHEDULE_SOURCE_FAILING is
    resolved: nothing is left to fail)."""
    session = db()
    source = get_or_404(ScheduleSource, source_id, "schedule source")
    alert_ops.clear(session, alert_ops.AlertKey(SOURCE, source.name, SOURCE_FAILING_TYPE),
                    note="schedule source deleted")
    session.delete(source)
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
    if query.status is not None:
        stmt = stmt.where(ScheduleItem.status == query.status)
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


# --- preview --------------------------------------------------------------------------------

#: At most this many ignored entries are listed in a preview (``ignored_total`` counts all).
PREVIEW_IGNORED = 200


class PreviewQuery(QueryModel):
    days: int = Field(14, ge=1, le=60, description="preview this many days ahead (from a day ago)")


class PreviewItem(BaseModel):
    external_id: str
    title: str
    kind: str
    status: str
    starts_at: datetime
    ends_at: datetime
    details: dict[str, Any]


class PreviewIgnored(BaseModel):
    text: str = Field(description="an excerpt of what was read (at most 160 characters)")
    reason: str


class PreviewOut(BaseModel):
    window_start: datetime
    window_end: datetime
    error: str | None = Field(description=(
        "why this import would fail (old items kept, SCHEDULE_SOURCE_FAILING raised), or null"))
    would_import: list[PreviewItem]
    ignored: list[PreviewIgnored]
    ignored_total: int
    stats: dict[str, int]


def _preview(source: ScheduleSource, before: dict[str, int], days: int) -> PreviewOut:
    now = utcnow()
    start, end = now - timedelta(days=1), now + timedelta(days=days)
    # the API fetches like the importer does: same egress policy, byte cap and deadline
    http = ScheduleHttp.from_settings(api_context().settings.schedules)
    outcome = try_import(source, start, end, before, http)
    parsed = outcome.parsed
    items = [PreviewItem(external_id=i.external_id, title=i.title, kind=i.kind, status=i.status,
                         starts_at=i.starts_at, ends_at=i.ends_at, details=i.details)
             for i in (parsed.items if parsed else [])]
    ignored = parsed.ignored if parsed else []
    return PreviewOut(window_start=start, window_end=end, error=outcome.error, would_import=items,
                      ignored=[PreviewIgnored(text=i.text, reason=i.reason)
                               for i in ignored[:PREVIEW_IGNORED]],
                      ignored_total=len(ignored), stats=dict(parsed.stats) if parsed else {})


@api_route(bp, "/api/v1/schedules/sources/<int:source_id>/preview", ["POST"], query=PreviewQuery,
           response=PreviewOut, scope="write", errors=(404,), tag="schedules")
def preview_source(source_id: int, query: PreviewQuery) -> PreviewOut:
    """Fetch and parse a source now and show what an import would store and what it would
    ignore, and why; saves nothing. ``error`` says why the import would fail, judged against
    the source's last good import (nothing found, a lost table, a PDF without a date)."""
    session = db()
    source = get_or_404(ScheduleSource, source_id, "schedule source")
    before = previous_stats(session, source)
    session.expunge(source)
    session.rollback()  # no transaction held open while the source is fetched
    return _preview(source, before, query.days)


@api_route(bp, "/api/v1/schedules/sources/preview", ["POST"], body=SourceIn, query=PreviewQuery,
           response=PreviewOut, scope="write", errors=(404,), tag="schedules")
def preview_new_source(body: SourceIn, query: PreviewQuery) -> PreviewOut:
    """Preview a source before adding it (same body as adding one); saves nothing."""
    get_or_404(Channel, body.channel_id, "channel")
    db().rollback()
    return _preview(ScheduleSource(**body.model_dump()), {}, query.days)
