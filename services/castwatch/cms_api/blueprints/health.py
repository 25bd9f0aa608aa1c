"""Health checks and monitoring summaries, answered from the database.

``/api/v1/health`` is public (load balancers and compose healthchecks call it): 200 when the
database answers, 503 when it does not. The encoder seed's ``/health/detailed``,
``/health/encoder/{id}``, ``/api/monitoring/status`` and ``/api/monitoring/alerts`` need the
``read`` scope.
"""

from __future__ import annotations

from collections import Counter

from flask import Blueprint
from sqlalchemy import func, or_, select, text
from sqlalchemy.exc import SQLAlchemyError

from castwatch import __version__
from castwatch.cms_api.blueprints.alerts import open_alerts_query
from castwatch.cms_api.context import db
from castwatch.cms_api.crud import get_or_404
from castwatch.cms_api.registry import api_route
from castwatch.cms_api.schemas.alerts import AlertOut
from castwatch.cms_api.schemas.health import (
    DetailedHealthOut,
    EncoderHealthOut,
    GroupMember,
    GroupStatus,
    HealthOut,
    MonitoringStatusOut,
    ProbeHealth,
)
from castwatch.common.models import Alert, Channel, Encoder, EncoderGroup, Probe

bp = Blueprint("health", __name__)


def _database_ok() -> bool:
    try:
        db().execute(text("SELECT 1"))
        return True
    except SQLAlchemyError:
        db().rollback()
        return False


@api_route(bp, "/api/v1/health", scope=None, response=HealthOut, errors=(503,), tag="health")
def health() -> tuple[HealthOut, int]:
    """Liveness with a database check: 200 ``ok``, or 503 when the database is down."""
    if _database_ok():
        return HealthOut(status="ok", database="ok", version=__version__), 200
    return HealthOut(status="unavailable", database="down", version=__version__), 503


def _counts(column, where=None) -> dict[str, int]:  # type: ignore[no-untyped-def]
    stmt = select(column, func.count()).group_by(column)
    if where is not None:
        stmt = stmt.where(where)
    return {str(k): int(v) for k, v in db().execute(stmt).all()}


@api_route(bp, ["/health/detailed", "/api/v1/health/detailed"], response=DetailedHealthOut,
           errors=(503,), tag="health")
def detailed_health() -> tuple[DetailedHealthOut, int]:
    """Counts of channels and encoders by state, open alerts by severity, probe heartbeats.

    ``status`` is ``critical`` with a critical alert open, ``degraded`` with any other open
    alert or an offline probe, else ``ok``.
    """
    if not _database_ok():
        return DetailedHealthOut(status="unavailable", database="down", version=__version__,
                                 channels={}, encoders={}, open_alerts={}, probes=[]), 503
    open_alerts = _counts(Alert.severity, Alert.state != "resolved")
    probes = [ProbeHealth.model_validate(p) for p in db().scalars(select(Probe).order_by(Probe.id))]
    status = "ok"
    if open_alerts or any(p.status == "offline" for p in probes):
        status = "degraded"
    if open_alerts.get("critical"):
        status = "critical"
    return DetailedHealthOut(
        status=status, database="ok", version=__version__,
        channels=_counts(Channel.status, Channel.enabled.is_(True)),
        encoders=_counts(Encoder.state, Encoder.enabled.is_(True)),
        open_alerts=open_alerts, probes=probes), 200


@api_route(bp, ["/health/encoder/<int:encoder_id>", "/api/v1/health/encoder/<int:encoder_id>"],
           response=EncoderHealthOut, errors=(404,), tag="health")
def encoder_health(encoder_id: int) -> EncoderHealthOut:
    """One encoder's health: state, reachability, whether it is its group's active one, and its
    open alerts. ``healthy`` = enabled, reachable, live and no critical/major alert open."""
    encoder = get_or_404(Encoder, encoder_id, "encoder")
    alerts = [AlertOut.model_validate(a)
              for a in db().scalars(open_alerts_query().where(Alert.encoder_id == encoder.id))]
    active = False
    if encoder.group_id is not None:
        group = db().get(EncoderGroup, encoder.group_id)
        active = group is not None and group.active_encoder_id == encoder.id
    healthy = (encoder.enabled and encoder.reachable is True and encoder.state == "live"
               and not any(a.severity in ("critical", "major") for a in alerts))
    return EncoderHealthOut(
        encoder_id=encoder.id, name=encoder.name, healthy=healthy, state=encoder.state,
        reachable=encoder.reachable, enabled=encoder.enabled, last_seen_at=encoder.last_seen_at,
        group_id=encoder.group_id, is_active=active, open_alerts=alerts)


def _member(encoder: Encoder, active_id: int | None) -> GroupMember:
    return GroupMember(id=encoder.id, name=encoder.name, role=encoder.role, state=encoder.state,
                       reachable=encoder.reachable, enabled=encoder.enabled,
                       active=encoder.id == active_id)


def _encoder_alerts():  # type: ignore[no-untyped-def]
    return open_alerts_query().where(or_(Alert.encoder_id.is_not(None), Alert.group_id.is_not(None)))


@api_route(bp, "/api/monitoring/status", response=MonitoringStatusOut, tag="monitoring")
def monitoring_status() -> MonitoringStatusOut:
    """Every encoder group with its members and active encoder; ``status`` sums them up."""
    session = db()
    groups = list(session.scalars(select(EncoderGroup).order_by(EncoderGroup.id)))
    encoders = list(session.scalars(select(Encoder).order_by(Encoder.group_id, Encoder.priority.desc(),
                                                             Encoder.id)))
    by_group: dict[int | None, list[Encoder]] = {}
    for encoder in encoders:
        by_group.setdefault(encoder.group_id, []).append(encoder)
    status_of = [
        GroupStatus(id=g.id, name=g.name, failover_enabled=g.failover_enabled,
                    active_encoder_id=g.active_encoder_id,
                    encoders=[_member(e, g.active_encoder_id) for e in by_group.get(g.id, [])])
        for g in groups
    ]
    alert_count = session.scalar(select(func.count()).select_from(_encoder_alerts().subquery())) or 0
    states = Counter(e.state for e in encoders if e.enabled)
    status = "ok"
    if alert_count or states.get("failed") or states.get("degraded"):
        status = "degraded"
    return MonitoringStatusOut(status=status, groups=status_of,
                               ungrouped=[_member(e, None) for e in by_group.get(None, [])],
                               open_encoder_alerts=int(alert_count))


@api_route(bp, "/api/monitoring/alerts", response=list[AlertOut], tag="monitoring")
def monitoring_alerts() -> list[AlertOut]:
    """Open alerts about encoders and encoder groups, most severe first."""
    return [AlertOut.model_validate(a) for a in db().scalars(_encoder_alerts())]
