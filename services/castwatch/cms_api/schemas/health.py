"""Health and monitoring views (the encoder seed's ``/health/*`` and ``/api/monitoring/*``)."""

from __future__ import annotations

from datetime import datetime

from castwatch.cms_api.schemas.alerts import AlertOut
from castwatch.cms_api.schemas.base import OutModel


class HealthOut(OutModel):
    status: str
    database: str
    version: str


class EncoderHealthOut(OutModel):
    encoder_id: int
    name: str
    healthy: bool
    state: str
    reachable: bool | None
    enabled: bool
    last_seen_at: datetime | None
    group_id: int | None
    is_active: bool
    open_alerts: list[AlertOut]


class ProbeHealth(OutModel):
    id: int
    name: str
    status: str
    last_heartbeat_at: datetime | None


class DetailedHealthOut(OutModel):
    status: str
    database: str
    version: str
    channels: dict[str, int]
    encoders: dict[str, int]
    open_alerts: dict[str, int]
    probes: list[ProbeHealth]


class GroupMember(OutModel):
    id: int
    name: str
    role: str
    state: str
    reachable: bool | None
    enabled: bool
    active: bool


class GroupStatus(OutModel):
    id: int
    name: str
    failover_enabled: bool
    active_encoder_id: int | None
    encoders: list[GroupMember]


class MonitoringStatusOut(OutModel):
    status: str
    groups: list[GroupStatus]
    ungrouped: list[GroupMember]
    open_encoder_alerts: int
