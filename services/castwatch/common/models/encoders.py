"""Encoders, their failover groups, control commands and failover history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from castwatch.common.models.base import Base, created_at, enum_check, updated_at
from castwatch.common.vocab import DRIVER_KINDS

ENCODER_ROLES = ("primary", "backup")
ENCODER_STATES = ("idle", "starting", "live", "degraded", "failed", "unknown")
FAILBACK_PREFERENCES = ("equal", "primary_preferred")
COMMAND_ACTIONS = ("start", "stop", "failover", "failback", "restart", "record_start", "record_stop")


class EncoderGroup(Base):
    """A primary and its backups for one output, with the failover policy that governs them."""

    __tablename__ = "encoder_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    failover_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    failure_threshold: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    poll_interval_s: Mapped[float] = mapped_column(Float, default=1.0, server_default="1")
    verify_timeout_s: Mapped[float] = mapped_column(Float, default=10.0, server_default="10")
    preference: Mapped[str] = mapped_column(String(20), default="equal", server_default="equal")
    failback_hold_s: Mapped[float] = mapped_column(Float, default=30.0, server_default="30")
    min_switch_interval_s: Mapped[float] = mapped_column(Float, default=30.0, server_default="30")
    thresholds: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    # local recording policy (encoder_manager.recording)
    record_on_backup: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    record_during_meetings: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    active_encoder_id: Mapped[int | None] = mapped_column(
        ForeignKey("encoders.id", ondelete="SET NULL", use_alter=True)
    )
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    __table_args__ = (
        enum_check("preference", FAILBACK_PREFERENCES),
        CheckConstraint("failure_threshold >= 1", name="failure_threshold_positive"),
        CheckConstraint("poll_interval_s > 0", name="poll_interval_positive"),
    )


class Encoder(Base):
    """A device watched through its own API by a driver of ``driver_kind``.

    ``credentials_ref`` names where the secret lives (``env:NAME`` or ``file:/path``); the
    secret itself is never stored. ``output`` is the stream output configuration (protocol,
    url, stream key, resolution, frame rate, bitrate, codec). ``last_sample`` is the newest
    health sample, for the API; history goes to InfluxDB.
    """

    __tablename__ = "encoders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    driver_kind: Mapped[str] = mapped_column(String(30))
    address: Mapped[str] = mapped_column(String(255))
    credentials_ref: Mapped[str | None] = mapped_column(String(255))
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("encoder_groups.id", ondelete="SET NULL"), index=True
    )
    role: Mapped[str] = mapped_column(String(10), default="primary")
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    thresholds: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    output: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    driver_options: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    state: Mapped[str] = mapped_column(String(20), default="unknown", server_default="unknown")
    reachable: Mapped[bool | None] = mapped_column(Boolean)
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_sample: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    instability_score: Mapped[float | None] = mapped_column(Float)
    # capacity in a pool (encoder_manager.assignment)
    max_outputs: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    bitrate_budget_kbps: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    __table_args__ = (
        enum_check("driver_kind", DRIVER_KINDS),
        enum_check("role", ENCODER_ROLES),
        enum_check("state", ENCODER_STATES),
    )


class EncoderOutput(Base):
    """One output of a group (a pool): destination + format + the capabilities it needs, carried
    by one of the group's encoders (``assigned_encoder_id``, chosen by the assignment)."""

    __tablename__ = "encoder_outputs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("encoder_groups.id", ondelete="CASCADE"), index=True)
    destination: Mapped[str] = mapped_column(Text, default="", server_default="")
    format: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    required_capabilities: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default="[]")
    bitrate_kbps: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    assigned_encoder_id: Mapped[int | None] = mapped_column(ForeignKey("encoders.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    __table_args__ = (CheckConstraint("bitrate_kbps >= 0", name="bitrate_non_negative"),)


class EncoderCommand(Base):
    """A control request (API or operator) that the group's active controller carries out."""

    __tablename__ = "encoder_commands"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    encoder_id: Mapped[int] = mapped_column(ForeignKey("encoders.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(20))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    requested_by: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="pending", server_default="pending")
    result: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        enum_check("action", COMMAND_ACTIONS),
        enum_check("status", ("pending", "running", "done", "failed")),
        # the encoder manager claims pending commands every few seconds: keep that scan tiny
        Index("ix_encoder_commands_pending", "id", postgresql_where=text("status = 'pending'")),
    )


class FailoverEvent(Base):
    """One switch of a group's active encoder, automatic or manual, and how it ended."""

    __tablename__ = "failover_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("encoder_groups.id", ondelete="CASCADE"), index=True)
    from_encoder_id: Mapped[int | None] = mapped_column(ForeignKey("encoders.id", ondelete="SET NULL"))
    to_encoder_id: Mapped[int | None] = mapped_column(ForeignKey("encoders.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20), default="automatic")
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="started")
    actor: Mapped[str] = mapped_column(String(100), default="system")
    created_at: Mapped[datetime] = created_at()
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        enum_check("kind", ("automatic", "manual", "failback", "preemptive")),
        enum_check("status", ("started", "succeeded", "failed")),
    )
