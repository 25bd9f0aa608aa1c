"""Recipients, notification rules and maintenance windows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field, WithJsonSchema, model_serializer, model_validator

from castwatch.cms_api.schemas.alerts import Severity
from castwatch.cms_api.schemas.base import (
    INT64_MAX,
    AwareDatetime,
    Id,
    Model,
    OutModel,
    text,
)
from castwatch.notifier.transports import REGISTRY as TRANSPORT_REGISTRY

RecipientRole = Literal["cablecaster", "technician", "engineer", "management"]
#: the notifier's transports, derived from its registry (a new transport changes nothing here)
ALL_TRANSPORTS: tuple[str, ...] = tuple(TRANSPORT_REGISTRY)
DEFAULT_RULE_TRANSPORTS = ("telegram", "email")


def _known_transport(value: str) -> str:
    if value not in TRANSPORT_REGISTRY:
        raise ValueError(f"unknown transport {value!r}; known: {', '.join(ALL_TRANSPORTS)}")
    return value


Transport = Annotated[str, AfterValidator(_known_transport),
                      WithJsonSchema({"type": "string", "enum": list(ALL_TRANSPORTS)})]
EMAIL_PATTERN = r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$"
HHMM_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None
    return name


TimeZone = Annotated[Annotated[str, text(64)], AfterValidator(_zone)]
Weekday = Annotated[int, Field(ge=0, le=6)]
ChatId = Annotated[int, Field(ge=-INT64_MAX, le=INT64_MAX)]
_NOT_NULL = ("name", "role", "telegram_enabled", "email_enabled", "is_admin", "enabled", "timezone")


class AddressIn(Model):
    """Where the person is reached over one transport. ``value``: a Telegram chat id, an email
    address, a Slack incoming-webhook URL, a webhook URL. Secret values (Slack, webhook URLs)
    are write-only: they are shown redacted, and ``value`` may be omitted to keep the stored
    one (e.g. to only re-enable an address)."""

    kind: Transport
    value: Annotated[str, text(2000)] | None = None
    enabled: bool = True


class AddressOut(OutModel):
    kind: str
    value: str
    enabled: bool
    disabled_reason: str | None
    secret: bool = False

    @model_validator(mode="after")
    def _redact(self) -> AddressOut:
        cls = TRANSPORT_REGISTRY.get(self.kind)
        if cls is not None and cls.secret_address:
            self.value, self.secret = cls.redact(self.value), True
        return self


class RecipientFields(Model):
    name: Annotated[str, text(100)] | None = None
    role: RecipientRole | None = None
    telegram_chat_id: ChatId | None = None
    telegram_username: Annotated[str, text(100)] | None = None
    telegram_user_id: Annotated[int, Field(ge=1, le=2**53)] | None = Field(
        None, description="Telegram user id allowed to press buttons in a group chat")
    email: Annotated[str, text(255, pattern=EMAIL_PATTERN)] | None = None
    telegram_enabled: bool | None = None
    email_enabled: bool | None = None
    is_admin: bool | None = None
    enabled: bool | None = None
    timezone: TimeZone | None = None  # type: ignore[valid-type]
    addresses: list[AddressIn] | None = Field(
        None, max_length=len(TRANSPORT_REGISTRY),
        description="Addresses by transport. Each listed kind is set; other kinds than "
                    "telegram and email that are not listed are removed. telegram/email "
                    "entries are the same as the telegram_chat_id/email fields.")

    @model_validator(mode="after")
    def _one_address_per_kind(self) -> RecipientFields:
        kinds = [a.kind for a in self.addresses or ()]
        if len(kinds) != len(set(kinds)):
            raise ValueError("one address per transport")
        return self


class RecipientCreate(RecipientFields):
    """A person to tell: needs a Telegram chat id, an email address or another address."""

    name: Annotated[str, text(100)]
    role: RecipientRole
    telegram_enabled: bool = True
    email_enabled: bool = True
    is_admin: bool = False
    enabled: bool = True
    timezone: TimeZone = "UTC"  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _has_destination(self) -> RecipientCreate:
        if self.telegram_chat_id is None and self.email is None and not self.addresses:
            raise ValueError("give telegram_chat_id or email (or both), or addresses")
        return self


class RecipientUpdate(RecipientFields):
    """Fields to change; omitted fields keep their value."""

    @model_validator(mode="after")
    def _not_null_required(self) -> RecipientUpdate:
        for name in _NOT_NULL:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class RecipientOut(OutModel):
    id: int
    name: str
    role: str
    telegram_chat_id: int | None
    telegram_username: str | None
    telegram_user_id: int | None
    email: str | None
    telegram_enabled: bool
    email_enabled: bool
    is_admin: bool
    enabled: bool
    disabled_reason: str | None
    timezone: str
    addresses: list[AddressOut] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime


class Schedule(Model):
    days: list[Weekday] = Field(default_factory=lambda: list(range(7)), max_length=7)
    start: Annotated[str, text(5, pattern=HHMM_PATTERN)] = "00:00"
    end: Annotated[str, text(5, pattern=HHMM_PATTERN)] = "23:59"
    timezone: TimeZone = "UTC"  # type: ignore[valid-type]


class RuleMatch(Model):
    """Filters of a rule; all optional, all must hold."""

    severities: list[Severity] | None = None
    alert_types: list[Annotated[str, text(64)]] | None = Field(None, max_length=100)
    sources: list[Annotated[str, text(50)]] | None = Field(None, max_length=20)
    channel_ids: list[Id] | None = Field(None, max_length=1000)
    encoder_ids: list[Id] | None = Field(None, max_length=1000)
    group_ids: list[Id] | None = Field(None, max_length=1000)
    tiers: list[Annotated[int, Field(ge=1, le=3)]] | None = Field(None, max_length=3)
    schedule: Schedule | None = None

    @model_serializer(mode="wrap")
    def _drop_unset_filters(self, handler: Any) -> dict[str, Any]:
        """Stored without null filters: a missing filter means "any"."""
        return {k: v for k, v in handler(self).items() if v is not None}


class EscalationStep(Model):
    after_s: int = Field(ge=0, le=7 * 86400)
    roles: list[RecipientRole] = Field(min_length=1, max_length=4)


class RuleFields(Model):
    name: Annotated[str, text(100)] | None = None
    enabled: bool | None = None
    priority: int | None = Field(None, ge=0, le=100_000)
    match: RuleMatch | None = None
    roles: list[RecipientRole] | None = Field(None, max_length=4)
    recipient_ids: list[Id] | None = Field(None, max_length=1000)
    transports: list[Transport] | None = Field(None, min_length=1, max_length=len(ALL_TRANSPORTS))
    group_wait_s: int | None = Field(None, ge=0, le=86400)
    repeat_interval_s: int | None = Field(None, ge=60, le=7 * 86400)
    send_resolved: bool | None = None
    escalation: list[EscalationStep] | None = Field(None, max_length=20)


class RuleCreate(RuleFields):
    """Which alert events go to whom (roles and/or recipients), grouped and escalated how."""

    name: Annotated[str, text(100)]
    enabled: bool = True
    priority: int = Field(100, ge=0, le=100_000)
    match: RuleMatch = Field(default_factory=lambda: RuleMatch.model_validate({}))
    roles: list[RecipientRole] = Field(default_factory=list, max_length=4)
    recipient_ids: list[Id] = Field(default_factory=list, max_length=1000)
    transports: list[Transport] = Field(default_factory=lambda: list(DEFAULT_RULE_TRANSPORTS),
                                        min_length=1, max_length=len(ALL_TRANSPORTS))
    group_wait_s: int = Field(30, ge=0, le=86400)
    send_resolved: bool = True
    escalation: list[EscalationStep] = Field(default_factory=list, max_length=20)


class RuleUpdate(RuleFields):
    """Fields to change; omitted fields keep their value."""

    @model_validator(mode="after")
    def _not_null_required(self) -> RuleUpdate:
        for name in ("name", "enabled", "priority", "match", "roles", "recipient_ids",
                     "transports", "group_wait_s", "send_resolved", "escalation"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class RuleOut(OutModel):
    id: int
    name: str
    enabled: bool
    priority: int
    match: dict[str, Any]
    roles: list[str]
    recipient_ids: list[int]
    transports: list[str]
    group_wait_s: int
    repeat_interval_s: int | None
    send_resolved: bool
    escalation: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime


class WindowFields(Model):
    name: Annotated[str, text(100)] | None = None
    reason: Annotated[str, text(2000, 0)] | None = None
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    weekdays: list[Weekday] | None = Field(None, max_length=7)
    start_time: Annotated[str, text(5, pattern=HHMM_PATTERN)] | None = None
    duration_minutes: int | None = Field(None, ge=1, le=7 * 1440)
    timezone: TimeZone | None = None  # type: ignore[valid-type]
    channel_ids: list[Id] | None = Field(None, max_length=1000)
    encoder_ids: list[Id] | None = Field(None, max_length=1000)
    group_ids: list[Id] | None = Field(None, max_length=1000)


class WindowCreate(WindowFields):
    """A one-off window (``starts_at``/``ends_at``) or a weekly one (``weekdays``,
    ``start_time``, ``duration_minutes`` in ``timezone``); empty scope lists = everything."""

    name: Annotated[str, text(100)]
    weekdays: list[Weekday] = Field(default_factory=list, max_length=7)
    timezone: TimeZone = "UTC"  # type: ignore[valid-type]
    channel_ids: list[Id] = Field(default_factory=list, max_length=1000)
    encoder_ids: list[Id] = Field(default_factory=list, max_length=1000)
    group_ids: list[Id] = Field(default_factory=list, max_length=1000)

    @model_validator(mode="after")
    def _one_off_or_recurring(self) -> WindowCreate:
        check_window(self.starts_at, self.ends_at, self.start_time, self.duration_minutes)
        return self


class WindowUpdate(WindowFields):
    """Fields to change; omitted fields keep their value (the result must still be valid)."""

    @model_validator(mode="after")
    def _not_null_required(self) -> WindowUpdate:
        for name in ("name", "weekdays", "timezone", "channel_ids", "encoder_ids", "group_ids"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


def check_window(
    starts_at: datetime | None, ends_at: datetime | None, start_time: str | None,
    duration_minutes: int | None,
) -> None:
    """Raise ValueError unless the window is one-off (start < end) or recurring (time+duration)."""
    one_off = starts_at is not None and ends_at is not None
    recurring = start_time is not None and duration_minutes is not None
    if one_off and ends_at <= starts_at:  # type: ignore[operator]
        raise ValueError("ends_at must be after starts_at")
    if not one_off and not recurring:
        raise ValueError("give starts_at and ends_at (one-off) or start_time and "
                         "duration_minutes (weekly)")


class WindowOut(OutModel):
    id: int
    name: str
    reason: str | None
    starts_at: datetime | None
    ends_at: datetime | None
    weekdays: list[int]
    start_time: str | None
    duration_minutes: int | None
    timezone: str
    channel_ids: list[int]
    encoder_ids: list[int]
    group_ids: list[int]
    created_by: str | None
    created_at: datetime


class DeliveryOut(OutModel):
    """A notification delivery as pushed on the live feed (without its message payload)."""

    id: int
    alert_id: int | None
    event_id: int | None
    rule_id: int | None
    recipient_id: int
    transport: str
    kind: str
    status: str
    attempts: int
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None
    created_at: datetime
