"""Recipients, notification rules and maintenance windows: CRUD under ``/api/v1/``.

The three resources share one shape (list, create, get, update, delete), built by
:func:`castwatch.cms_api.crud.crud_resource`; resource-specific checks are passed in as
``validate``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from castwatch.cms_api.context import api_context, principal
from castwatch.cms_api.crud import check_refs, crud_resource
from castwatch.cms_api.errors import ApiError
from castwatch.cms_api.schemas.notify import (
    RecipientCreate,
    RecipientOut,
    RecipientUpdate,
    RuleCreate,
    RuleOut,
    RuleUpdate,
    WindowCreate,
    WindowOut,
    WindowUpdate,
    check_window,
)
from castwatch.common.models import (
    Channel,
    Encoder,
    EncoderGroup,
    MaintenanceWindow,
    NotificationRule,
    Recipient,
    RecipientAddress,
)
from castwatch.notifier.addresses import LEGACY_COLUMNS
from castwatch.notifier.settings import NotifySettings
from castwatch.notifier.transports import REGISTRY as TRANSPORT_REGISTRY

bp = Blueprint("people", __name__)

def _recipient(values: dict[str, Any], row: Any) -> None:
    others = values.get("addresses") if row is None else \
        [a for a in row.addresses if a.kind not in LEGACY_COLUMNS]
    if values.get("telegram_chat_id") is None and values.get("email") is None and not others:
        raise ApiError(400, "invalid_value", "a recipient needs telegram_chat_id or email "
                       "(or another address)", "telegram_chat_id")


def _recipient_addresses(values: dict[str, Any], row: Recipient | None) -> None:
    """``addresses`` → the legacy columns (telegram, email) and ``recipient_addresses`` rows
    (every other kind; kinds not listed are removed). Values are checked by their transport."""
    items = values.pop("addresses", None)
    if items is None:
        return
    current = {a.kind: a for a in row.addresses} if row is not None else {}
    new: list[RecipientAddress] = []
    for i, item in enumerate(items):
        kind, value, enabled = item["kind"], item["value"], item["enabled"]
        field = f"addresses.{i}.value"
        if value is not None:
            try:
                value = TRANSPORT_REGISTRY[kind].check_address(value, _notify_settings())
            except ValueError as exc:
                raise ApiError(400, "invalid_value", f"{kind}: {exc}", field) from None
        if kind in LEGACY_COLUMNS:
            column, flag = LEGACY_COLUMNS[kind]
            if value is not None:
                values[column] = int(value) if kind == "telegram" else value
            values[flag] = enabled
            continue
        existing = current.get(kind)
        if existing is None and value is None:
            raise ApiError(400, "invalid_value", f"{kind}: a new address needs a value", field)
        if existing is None:
            new.append(RecipientAddress(kind=kind, value=value, enabled=enabled))
            continue
        existing.value = value if value is not None else existing.value
        if enabled and not existing.enabled:
            existing.disabled_reason = None
        existing.enabled = enabled
    if row is None:
        values["addresses"] = new
        return
    listed = {item["kind"] for item in items}
    for kind, address in current.items():
        if kind not in LEGACY_COLUMNS and kind not in listed:
            row.addresses.remove(address)
    row.addresses.extend(new)


def _notify_settings() -> NotifySettings:
    """The notifier settings of this deployment (which Slack URLs are allowed, …)."""
    return api_context().settings.notify


def _rule(values: dict[str, Any], _row: Any) -> None:
    check_refs(Recipient, values.get("recipient_ids") or [], "recipient_ids")
    match = values.get("match") or {}
    check_refs(Channel, match.get("channel_ids") or [], "match.channel_ids")
    check_refs(Encoder, match.get("encoder_ids") or [], "match.encoder_ids")
    check_refs(EncoderGroup, match.get("group_ids") or [], "match.group_ids")


def _window(values: dict[str, Any], _row: Any) -> None:
    try:
        check_window(values.get("starts_at"), values.get("ends_at"), values.get("start_time"),
                     values.get("duration_minutes"))
    except ValueError as exc:
        raise ApiError(400, "invalid_value", str(exc), "starts_at") from None
    check_refs(Channel, values.get("channel_ids") or [], "channel_ids")
    check_refs(Encoder, values.get("encoder_ids") or [], "encoder_ids")
    check_refs(EncoderGroup, values.get("group_ids") or [], "group_ids")


def _window_author(values: dict[str, Any]) -> None:
    values["created_by"] = principal().name


crud_resource(bp, "/api/v1/recipients", Recipient, RecipientCreate, RecipientUpdate, RecipientOut,
              what="recipient", tag="recipients", validate=_recipient, before_save=_recipient_addresses)
crud_resource(bp, "/api/v1/notification-rules", NotificationRule, RuleCreate, RuleUpdate, RuleOut,
              what="notification rule", tag="notification-rules", validate=_rule)
crud_resource(bp, "/api/v1/maintenance-windows", MaintenanceWindow, WindowCreate, WindowUpdate, WindowOut,
              what="maintenance window", tag="maintenance-windows", unique=None, validate=_window,
              on_create=_window_author)
