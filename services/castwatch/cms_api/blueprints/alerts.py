"""Alerts: lists, one alert with its history, acknowledge and resolve (``/api/v1/alerts``)."""

from __future__ import annotations

from flask import Blueprint, Response
from pydantic import TypeAdapter
from sqlalchemy import case, select

from castwatch.cms_api.context import db, principal
from castwatch.cms_api.crud import cached_json, get_or_404, paged
from castwatch.cms_api.errors import ApiError, not_found
from castwatch.cms_api.registry import api_route
from castwatch.cms_api.schemas.alerts import AlertDetailOut, AlertOut, AlertPage, AlertQuery
from castwatch.cms_api.schemas.base import INT32_MAX, Note
from castwatch.common import alerts as alert_ops
from castwatch.common.models import Alert
from castwatch.common.vocab import SEVERITIES

bp = Blueprint("alerts", __name__)

SEVERITY_ORDER = case({name: i for i, name in enumerate(SEVERITIES)}, value=Alert.severity)


def open_alerts_query():  # type: ignore[no-untyped-def]
    """Open alerts, most severe first, then oldest first."""
    return select(Alert).where(Alert.state != "resolved").order_by(SEVERITY_ORDER, Alert.opened_at)


_ALERT_LIST = TypeAdapter(list[AlertOut])


@api_route(bp, "/api/v1/alerts/active", response=list[AlertOut], tag="alerts")
def active_alerts() -> Response:
    """Open alerts (firing or acknowledged), most severe first.

    Cached per worker until the next change of the alerts table (wall dashboards poll this).
    """
    return cached_json(("alerts", "active"), ("alerts",), lambda: _ALERT_LIST.dump_json(
        [AlertOut.model_validate(a) for a in db().scalars(open_alerts_query())]))


@api_route(bp, "/api/v1/alerts", query=AlertQuery, response=AlertPage, tag="alerts")
def list_alerts(query: AlertQuery) -> AlertPage:
    """Alerts filtered by state, severity, channel, encoder, type, source and opening time."""
    stmt = select(Alert).order_by(Alert.opened_at.desc(), Alert.id.desc())
    if query.state:
        stmt = stmt.where(Alert.state.in_(query.state))
    if query.severity:
        stmt = stmt.where(Alert.severity.in_(query.severity))
    for column, value in ((Alert.channel_id, query.channel), (Alert.encoder_id, query.encoder),
                          (Alert.alert_type, query.type), (Alert.source, query.source)):
        if value is not None:
            stmt = stmt.where(column == value)
    if query.since is not None:
        stmt = stmt.where(Alert.opened_at >= query.since)
    if query.until is not None:
        stmt = stmt.where(Alert.opened_at < query.until)
    rows, total = paged(db(), stmt, query.limit, query.offset)
    return AlertPage(items=[AlertOut.model_validate(a) for a in rows], total=total,
                     limit=query.limit, offset=query.offset)


@api_route(bp, "/api/v1/alerts/<int:alert_id>", response=AlertDetailOut, errors=(404,),
           tag="alerts")
def get_alert(alert_id: int) -> AlertDetailOut:
    """One alert with its event history (who did what, when, why)."""
    return AlertDetailOut.model_validate(get_or_404(Alert, alert_id, "alert"))


def _change(alert_id: int, note: str | None, action: str) -> AlertOut:
    if not 1 <= alert_id <= INT32_MAX:
        raise not_found("alert", alert_id)
    session = db()
    operation = alert_ops.acknowledge if action == "acknowledge" else alert_ops.resolve
    try:
        alert = operation(session, alert_id, actor=principal().name, note=note)
    except alert_ops.AlertNotFound:
        session.rollback()
        raise not_found("alert", alert_id) from None
    except alert_ops.AlertStateError as exc:
        session.rollback()
        raise ApiError(409, "invalid_state", str(exc)) from None
    session.commit()
    return AlertOut.model_validate(alert)


@api_route(bp, "/api/v1/alerts/<int:alert_id>/acknowledge", ["POST"], body=Note,
           body_required=False, response=AlertOut, scope="write", errors=(404, 409), tag="alerts")
def acknowledge_alert(alert_id: int, body: Note) -> AlertOut:
    """Acknowledge an open alert (stops escalation); the key's name and the note are recorded.

    Acknowledging an acknowledged alert is a no-op; a resolved one answers 409.
    """
    return _change(alert_id, body.note, "acknowledge")


@api_route(bp, "/api/v1/alerts/<int:alert_id>/resolve", ["POST"], body=Note, body_required=False,
           response=AlertOut, scope="write", errors=(404, 409), tag="alerts")
def resolve_alert(alert_id: int, body: Note) -> AlertOut:
    """Resolve an open alert by hand; the key's name and the note are recorded (409 if resolved)."""
    return _change(alert_id, body.note, "resolve")
