"""Alerts and their event history: the one alert model of every castwatch source."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from castwatch.common.models.base import Base, created_at, enum_check
from castwatch.common.vocab import SEVERITIES

ALERT_STATES = ("firing", "acknowledged", "resolved")
EVENT_KINDS = (
    "opened", "updated", "acknowledged", "resolved", "escalated", "refired", "snoozed", "note",
)


class Alert(Base):
    """One problem, identified by ``(source, subject, alert_type)``; at most one open per key."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(50))
    subject: Mapped[str] = mapped_column(String(255))
    alert_type: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(20), default="firing", server_default="firing")
    summary: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    root_cause_alert_id: Mapped[int | None] = mapped_column(
        ForeignKey("alerts.id", ondelete="SET NULL")
    )
    channel_id: Mapped[int | None] = mapped_column(
        ForeignKey("channels.id", ondelete="SET NULL"), index=True
    )
    encoder_id: Mapped[int | None] = mapped_column(
        ForeignKey("encoders.id", ondelete="SET NULL"), index=True
    )
    group_id: Mapped[int | None] = mapped_column(ForeignKey("encoder_groups.id", ondelete="SET NULL"))
    opened_at: Mapped[datetime] = created_at()
    last_seen_at: Mapped[datetime] = created_at()
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_by: Mapped[str | None] = mapped_column(String(100))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    snoozed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    events: Mapped[list[AlertEvent]] = relationship(
        back_populates="alert", order_by="AlertEvent.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        enum_check("severity", SEVERITIES),
        enum_check("state", ALERT_STATES),
        Index(
            "uq_alerts_open_key",
            "source",
            "subject",
            "alert_type",
            unique=True,
            postgresql_where=text("state <> 'resolved'"),
        ),
        Index("ix_alerts_state_opened", "state", "opened_at"),
    )

    @property
    def is_open(self) -> bool:
        return self.state != "resolved"


class AlertEvent(Base):
    """One state change of an alert: who, when, why. The notifier works from these rows."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(100), default="system")
    note: Mapped[str | None] = mapped_column(Text)
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    created_at: Mapped[datetime] = created_at()

    alert: Mapped[Alert] = relationship(back_populates="events")

    __table_args__ = (enum_check("kind", EVENT_KINDS),)
