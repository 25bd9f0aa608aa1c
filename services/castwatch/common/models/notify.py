"""People, notification rules, maintenance windows and the delivery outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from castwatch.common.models.base import Base, created_at, enum_check, updated_at
from castwatch.common.vocab import RECIPIENT_ROLES as ROLES
from castwatch.common.vocab import TRANSPORTS as TRANSPORTS  # re-exported by models

#: Any transport name matching :data:`TRANSPORT_NAME` is stored (the notifier's registry says
#: which exist, ``vocab.TRANSPORTS`` lists them), so a new transport needs no schema change.
TRANSPORT_NAME = "^[a-z][a-z0-9_]{0,19}$"
DELIVERY_STATUSES = ("pending", "sending", "sent", "failed", "suppressed", "grouped")


class Recipient(Base):
    """A person who can be told; a dead Telegram chat disables only their Telegram."""

    __tablename__ = "recipients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    telegram_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    telegram_username: Mapped[str | None] = mapped_column(String(100))
    #: Telegram user allowed to press buttons; None = the private chat's id (== the user id).
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger)
    email: Mapped[str | None] = mapped_column(String(255))
    telegram_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    email_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
    #: one row per transport (telegram/email rows mirror the columns above, see migration 0007)
    addresses: Mapped[list[RecipientAddress]] = relationship(
        order_by="RecipientAddress.kind", cascade="all, delete-orphan", passive_deletes=True)

    __table_args__ = (enum_check("role", ROLES),)


class RecipientAddress(Base):
    """Where one person is reached over one transport (``kind``): a Telegram chat id, an email
    address, a Slack incoming-webhook URL (a secret: write-only in the API), a webhook URL.

    Rows of kind ``telegram`` and ``email`` are kept in step with the recipient's legacy
    columns by a database trigger (migration 0007); the notifier reads only this table.
    """

    __tablename__ = "recipient_addresses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    __table_args__ = (
        CheckConstraint(f"kind ~ '{TRANSPORT_NAME}'", name="kind_name"),
        CheckConstraint("length(value) BETWEEN 1 AND 2000", name="value_length"),
        UniqueConstraint("recipient_id", "kind", name="uq_recipient_addresses_recipient_kind"),
    )


class NotificationRule(Base):
    """Which alert events go to whom, grouped, repeated and escalated how.

    ``match`` holds the filters (all optional, all must hold): ``severities``, ``alert_types``,
    ``sources``, ``channel_ids``, ``encoder_ids``, ``group_ids``, ``tiers``, and ``schedule``
    (``{"days": [0-6], "start": "HH:MM", "end": "HH:MM", "timezone": "..."}``).
    ``roles`` and ``recipient_ids`` say who is told; ``escalation`` is an ordered list of
    ``{"after_s": N, "roles": [...]}`` steps taken while the alert stays unacknowledged.
    """

    __tablename__ = "notification_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    priority: Mapped[int] = mapped_column(Integer, default=100, server_default="100")
    match: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    roles: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    recipient_ids: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    transports: Mapped[list[Any]] = mapped_column(
        default=lambda: ["telegram", "email"], server_default='["telegram", "email"]'
    )
    group_wait_s: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    repeat_interval_s: Mapped[int | None] = mapped_column(Integer)
    send_resolved: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    escalation: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    __table_args__ = (
        CheckConstraint("group_wait_s >= 0", name="group_wait_not_negative"),
        CheckConstraint(
            "repeat_interval_s IS NULL OR repeat_interval_s >= 60", name="repeat_interval_min"
        ),
    )


class MaintenanceWindow(Base):
    """A time when matching alerts are not sent: one-off (starts/ends) or weekly recurring.

    Recurring windows use ``weekdays`` (0 = Monday) with ``start_time``/``duration_minutes`` in
    ``timezone``. Scope: ``channel_ids``/``encoder_ids``/``group_ids``; all empty = everything.
    """

    __tablename__ = "maintenance_windows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)
    starts_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    weekdays: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    start_time: Mapped[str | None] = mapped_column(String(5))
    duration_minutes: Mapped[int | None] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    channel_ids: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    encoder_ids: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    group_ids: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = created_at()

    __table_args__ = (
        CheckConstraint(
            "(starts_at IS NOT NULL AND ends_at IS NOT NULL AND ends_at > starts_at)"
            " OR (start_time IS NOT NULL AND duration_minutes > 0)",
            name="one_off_or_recurring",
        ),
    )


class Delivery(Base):
    """One message to one recipient over one transport: the notifier's outbox row."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("alert_events.id", ondelete="CASCADE"))
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("notification_rules.id", ondelete="SET NULL"))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id", ondelete="CASCADE"))
    transport: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20), default="event")
    status: Mapped[str] = mapped_column(String(20), default="pending", server_default="pending")
    group_key: Mapped[str | None] = mapped_column(String(255))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = created_at()
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(String(255))
    thread_id: Mapped[str | None] = mapped_column(String(255))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    #: the provider's flood wait for this destination (kept here so it survives a restart)
    flood_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()

    __table_args__ = (
        CheckConstraint(f"transport ~ '{TRANSPORT_NAME}'", name="transport_name"),
        enum_check("status", DELIVERY_STATUSES),
        UniqueConstraint(
            "event_id", "recipient_id", "transport", "kind", name="uq_deliveries_event_recipient"
        ),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        Index("ix_deliveries_group_key", "group_key", postgresql_where=text("status = 'pending'")),
        Index("ix_deliveries_recipient_status", "recipient_id", "transport", "status"),
        Index("ix_deliveries_claimed", "claimed_at", postgresql_where=text("status = 'sending'")),
        Index("ix_deliveries_flood", "recipient_id", "transport",
              postgresql_where=text("flood_until IS NOT NULL")),
    )


class NotifyCursor(Base):
    """The planner's watermark: every alert event with ``id <= last_event_id`` is planned.

    Events above the watermark are planned individually (see :class:`PlannedEvent`), because
    ids are handed out before commit and may become visible out of order.
    """

    __tablename__ = "notify_cursor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    updated_at: Mapped[datetime] = updated_at()


class PlannedEvent(Base):
    """Marks one alert event above the watermark as planned (rows below it are pruned)."""

    __tablename__ = "notify_planned_events"

    event_id: Mapped[int] = mapped_column(
        ForeignKey("alert_events.id", ondelete="CASCADE"), primary_key=True
    )
    planned_at: Mapped[datetime] = created_at()
