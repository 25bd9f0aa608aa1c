"""Incidents (correlated alerts with a root cause) and imported channel schedules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from castwatch.common.models.base import Base, created_at, enum_check, updated_at

INCIDENT_STATES = ("open", "resolved")
ROOT_KINDS = ("origin", "encoder", "group", "channel", "schedule", "alert")
MEMBER_ROLES = ("root", "symptom")
SCHEDULE_KINDS = ("cablecast", "ical", "html", "pdf")
ITEM_KINDS = ("show", "live_event", "off_air")
ITEM_STATUSES = ("scheduled", "cancelled")


class Incident(Base):
    """Alerts that share one cause: a root-cause alert, its symptoms, their impact.

    ``key`` names the correlation scope (``origin:host:port``, ``group:7``, ``channel:3``,
    ``alert:42``); at most one open incident per key. ``impact`` is
    ``{"channels", "channel_codes", "tiers", "redundancy", "off_air"}``.
    """

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), default="open", server_default="open")
    severity: Mapped[str] = mapped_column(String(10))
    root_kind: Mapped[str] = mapped_column(String(10))
    root_subject: Mapped[str] = mapped_column(String(255))
    root_cause_alert_id: Mapped[int | None] = mapped_column(
        ForeignKey("alerts.id", ondelete="SET NULL")
    )
    rule: Mapped[str] = mapped_column(String(50))
    impact: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    known_issue: Mapped[str | None] = mapped_column(String(100))
    remediation: Mapped[str | None] = mapped_column(Text)
    planned_off_air: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    opened_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        enum_check("state", INCIDENT_STATES),
        enum_check("root_kind", ROOT_KINDS),
        Index("uq_incidents_open_key", "key", unique=True, postgresql_where=text("state = 'open'")),
        Index("ix_incidents_state_opened", "state", "opened_at"),
    )


class IncidentAlert(Base):
    """One alert's membership of an incident (an alert belongs to one incident at a time).

    ``expected`` marks a symptom the rules judged expected (a discontinuity right after a
    successful failover) and downgraded.
    """

    __tablename__ = "incident_alerts"

    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(10))
    expected: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    note: Mapped[str | None] = mapped_column(Text)
    joined_at: Mapped[datetime] = created_at()

    __table_args__ = (enum_check("role", MEMBER_ROLES),)


class ScheduleSource(Base):
    """Where a channel's schedule comes from: a Cablecast server, an iCal URL, a meetings page
    (``html``) or a PDF agenda. ``options`` holds the per-source parsing settings.

    ``timezone`` (IANA name) is how local times the source gives without a UTC offset are read
    (Cablecast ``runDateTime``, iCal floating times, meeting pages); None: ``options.timezone``,
    else UTC. ``last_import_stats`` are the document counts of the last good import
    (:func:`castwatch.schedules.judge.judge` compares the next import with them)."""

    __tablename__ = "schedule_sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    url: Mapped[str] = mapped_column(Text)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"), index=True)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    timezone: Mapped[str | None] = mapped_column(String(64))
    last_import_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    last_import_stats: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    __table_args__ = (enum_check("kind", SCHEDULE_KINDS),)


class ScheduleItem(Base):
    """One imported entry: a show, a live event (a meeting) or a planned off-air time.
    ``status`` ``cancelled`` (a cancelled/postponed meeting, a cancelled iCal occurrence) is
    listed but never alerts and is no off-air window."""

    __tablename__ = "schedule_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(
        ForeignKey("schedule_sources.id", ondelete="CASCADE"), index=True
    )
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    status: Mapped[str] = mapped_column(String(10), default="scheduled", server_default="scheduled")
    imported_at: Mapped[datetime] = created_at()

    __table_args__ = (
        enum_check("kind", ITEM_KINDS),
        enum_check("status", ITEM_STATUSES),
        UniqueConstraint("source_id", "external_id", name="uq_schedule_items_source_external"),
        Index("ix_schedule_items_channel_starts", "channel_id", "starts_at"),
    )
