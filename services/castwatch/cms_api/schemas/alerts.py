"""Alerts, their events, and the filters of the alert lists."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from castwatch.cms_api.schemas.base import AwareDatetime, Id, OutModel, Page, text

Severity = Literal["critical", "major", "minor", "info"]
State = Literal["firing", "acknowledged", "resolved"]


class AlertQuery(Page):
    state: list[State] | None = Field(None, description="repeat for several")
    severity: list[Severity] | None = Field(None, description="repeat for several")
    channel: Id | None = Field(None, description="channel id")
    encoder: Id | None = Field(None, description="encoder id")
    type: Annotated[str, text(64)] | None = Field(None, description="alert type, e.g. PLAYLIST_STALE")
    source: Annotated[str, text(50)] | None = None
    since: AwareDatetime | None = Field(None, description="opened at or after (ISO 8601)")
    until: AwareDatetime | None = Field(None, description="opened before (ISO 8601)")


class AlertEventOut(OutModel):
    id: int
    alert_id: int
    kind: str
    actor: str
    note: str | None
    from_state: str | None
    to_state: str
    details: dict[str, Any]
    created_at: datetime


class AlertOut(OutModel):
    id: int
    source: str
    subject: str
    alert_type: str
    severity: str
    state: str
    summary: str
    details: dict[str, Any]
    root_cause_alert_id: int | None
    channel_id: int | None
    encoder_id: int | None
    group_id: int | None
    opened_at: datetime
    last_seen_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    snoozed_until: datetime | None


class AlertDetailOut(AlertOut):
    events: list[AlertEventOut]


class AlertPage(OutModel):
    items: list[AlertOut]
    total: int
    limit: int
    offset: int
