"""Recipients, notification rules and maintenance windows: CRUD under ``/api/v1/``.

The three resources share one shape (list, create, get, update, delete), built by
:func:`castwatch.cms_api.crud.crud_resource`; resource-specific checks are passed in as
``validate``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from castwatch.cms_api.context import principal
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
)

bp = Blueprint("people", __name__)

def _recipient(values: dict[str, Any], _row: Any) -> None:
    if values.get("telegram_chat_id") is None and values.get("email") is None:
        raise ApiError(400, "invalid_value", "a recipient needs telegram_chat_id or email",
                       "telegram_chat_id")


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
              what="recipient", tag="recipients", validate=_recipient)
crud_resource(bp, "/api/v1/notification-rules", NotificationRule, RuleCreate, RuleUpdate, RuleOut,
              what="notification rule", tag="notification-rules", validate=_rule)
crud_resource(bp, "/api/v1/maintenance-windows", MaintenanceWindow, WindowCreate, WindowUpdate, WindowOut,
              what="maintenance window", tag="maintenance-windows", unique=None, validate=_window,
              on_create=_window_author)
