"""Encoders, encoder groups, control commands and the encoder seed's health views."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from castwatch.cms_api.schemas.base import INT32_MAX, Id, Int32, JsonObject, Model, OutModel, text
from castwatch.common.sealing import redact_output

DriverKind = Literal["aja_helo", "matrox_monarch", "haivision_makito", "obs", "blackmagic",
                     "generic_http"]
Role = Literal["primary", "backup"]
Preference = Literal["equal", "primary_preferred"]
Action = Literal["start", "stop", "failover", "failback", "restart", "record_start", "record_stop"]
CREDENTIALS_PATTERN = r"^(env:[A-Za-z_][A-Za-z0-9_]{0,200}|file:/[^\x00]{1,250})$"

_REQUIRED_ON_UPDATE = ("name", "driver_kind", "address", "role", "priority", "enabled",
                       "thresholds", "output", "driver_options", "max_outputs")


class EncoderFields(Model):
    name: Annotated[str, text(100)] | None = None
    driver_kind: DriverKind | None = None
    address: Annotated[str, text(255)] | None = Field(
        None, description="host:port or base URL of the device API")
    credentials_ref: Annotated[str, text(255, pattern=CREDENTIALS_PATTERN)] | None = Field(
        None, description="where the secret lives: env:NAME or file:/path (never the secret)")
    group_id: Id | None = None
    role: Role | None = None
    priority: Int32 | None = None
    enabled: bool | None = None
    thresholds: JsonObject | None = None
    output: JsonObject | None = Field(None, description="stream output configuration")
    driver_options: JsonObject | None = None
    max_outputs: int | None = Field(
        None, ge=1, le=1000, description="how many outputs of its pool this encoder may carry "
        "(more than 1 makes its group a pool: docs/encoders.md)")
    bitrate_budget_kbps: int | None = Field(
        None, ge=1, le=INT32_MAX, description="the total output bitrate it may carry (none: no limit)")


class EncoderCreate(EncoderFields):
    """A new encoder; ``output`` is checked by the encoder manager's validator."""

    name: Annotated[str, text(100)]
    driver_kind: DriverKind
    address: Annotated[str, text(255)]
    role: Role = "primary"
    priority: Int32 = 0
    enabled: bool = True
    thresholds: JsonObject = Field(default_factory=dict)
    output: JsonObject = Field(default_factory=dict)
    driver_options: JsonObject = Field(default_factory=dict)
    max_outputs: int = Field(1, ge=1, le=1000)


class EncoderUpdate(EncoderFields):
    """Fields to change; omitted fields keep their value."""

    @model_validator(mode="after")
    def _not_null_required(self) -> EncoderUpdate:
        for name in _REQUIRED_ON_UPDATE:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class EncoderOut(OutModel):
    id: int
    name: str
    driver_kind: str
    address: str
    credentials_ref: str | None
    group_id: int | None
    role: str
    priority: int
    enabled: bool
    thresholds: dict[str, Any]
    output: dict[str, Any]
    driver_options: dict[str, Any]
    max_outputs: int
    bitrate_budget_kbps: int | None
    state: str
    reachable: bool | None
    last_seen_at: datetime | None
    last_sample: dict[str, Any]
    instability_score: float | None

    @field_validator("output", mode="before")
    @classmethod
    def _redact_stream_key(cls, value: Any) -> Any:
        """``output.stream_key`` is write-only: every response and live event shows ``sk-…1234``."""
        return redact_output(value) if isinstance(value, dict) else value
    created_at: datetime
    updated_at: datetime


class GroupFields(Model):
    name: Annotated[str, text(100)] | None = None
    description: Annotated[str, text(2000, 0)] | None = None
    failover_enabled: bool | None = None
    failure_threshold: int | None = Field(None, ge=1, le=1000)
    poll_interval_s: float | None = Field(None, gt=0, le=3600)
    verify_timeout_s: float | None = Field(None, gt=0, le=3600)
    preference: Preference | None = None
    failback_hold_s: float | None = Field(None, ge=0, le=86400)
    min_switch_interval_s: float | None = Field(None, ge=0, le=86400)
    thresholds: JsonObject | None = None
    record_on_backup: bool | None = Field(None, description="record locally on a backup while it is on air")
    record_during_meetings: bool | None = Field(
        None, description="record locally on the on-air encoder during its channels' scheduled live events")


class GroupCreate(GroupFields):
    """A failover group: a primary and its backups, and the policy that switches them."""

    name: Annotated[str, text(100)]
    failover_enabled: bool = True
    failure_threshold: int = Field(3, ge=1, le=1000)
    poll_interval_s: float = Field(1.0, gt=0, le=3600)
    verify_timeout_s: float = Field(10.0, gt=0, le=3600)
    preference: Preference = "equal"
    failback_hold_s: float = Field(30.0, ge=0, le=86400)
    min_switch_interval_s: float = Field(30.0, ge=0, le=86400)
    thresholds: JsonObject = Field(default_factory=dict)
    record_on_backup: bool = False
    record_during_meetings: bool = False


class GroupUpdate(GroupFields):
    """Fields to change; omitted fields keep their value."""

    @model_validator(mode="after")
    def _not_null_required(self) -> GroupUpdate:
        for name in ("name", "failover_enabled", "failure_threshold", "poll_interval_s",
                     "verify_timeout_s", "preference", "failback_hold_s", "min_switch_interval_s",
                     "thresholds", "record_on_backup", "record_during_meetings"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class GroupOut(OutModel):
    id: int
    name: str
    description: str | None
    failover_enabled: bool
    failure_threshold: int
    poll_interval_s: float
    verify_timeout_s: float
    preference: str
    failback_hold_s: float
    min_switch_interval_s: float
    thresholds: dict[str, Any]
    record_on_backup: bool
    record_during_meetings: bool
    active_encoder_id: int | None
    created_at: datetime
    updated_at: datetime


class ControlRequest(Model):
    """A control action for the encoder manager to carry out."""

    action: Action
    params: JsonObject = Field(default_factory=dict)


class CommandOut(OutModel):
    id: int
    encoder_id: int
    action: str
    params: dict[str, Any]
    requested_by: str
    status: str
    result: str | None
    created_at: datetime
    completed_at: datetime | None


class EncoderMetricsOut(OutModel):
    encoder_id: int
    name: str
    state: str
    reachable: bool | None
    last_seen_at: datetime | None
    sample: dict[str, Any] = Field(description="the newest health sample (history is in InfluxDB)")


class FailoverEventOut(OutModel):
    id: int
    group_id: int
    from_encoder_id: int | None
    to_encoder_id: int | None
    kind: str
    reason: str
    status: str
    actor: str
    created_at: datetime
    completed_at: datetime | None
