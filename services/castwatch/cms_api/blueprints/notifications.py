"""Notifier routes: test sends, the delivery log, and Alertmanager's webhook.

- ``POST /api/v1/notifications/test`` queues a test message (to one recipient, or to everyone a
  rule reaches) in the outbox, waits up to ``wait_s`` for the notifier to send it, and reports
  each delivery's outcome (202 while some are still pending).
- ``GET /api/v1/deliveries`` is the delivery log, newest first, filtered by recipient, status,
  transport, kind and alert.
- ``POST /api/v1/alertmanager/webhook`` takes Alertmanager's v4 webhook JSON: each firing alert
  fires ``STACK_<ALERTNAME>`` (source ``stack``) through ``castwatch.common.alerts``, each
  resolved one clears it, so stack alerts reach people through the same rules.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Annotated, Any, Literal

from flask import Blueprint
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select

from castwatch.cms_api.context import db, principal
from castwatch.cms_api.crud import get_or_404, paged
from castwatch.cms_api.errors import ApiError
from castwatch.cms_api.registry import api_route
from castwatch.cms_api.schemas.base import Id, Model, OutModel, Page, text
from castwatch.cms_api.schemas.notify import Transport
from castwatch.common import alerts as alert_ops
from castwatch.common.alerts import AlertKey
from castwatch.common.models import Delivery, NotificationRule, Recipient
from castwatch.notifier.addresses import usable_kinds
from castwatch.notifier.planner import load_people, recipient_spec, rule_spec
from castwatch.notifier.rules import route
from castwatch.notifier.transports import fallbacks

bp = Blueprint("notifications", __name__)

Status = Literal["pending", "sending", "sent", "failed", "suppressed", "grouped"]
FINAL = {"sent", "failed", "suppressed", "grouped"}


class TestRequest(Model):
    recipient_id: Id | None = Field(None, description="send to this recipient")
    rule_id: Id | None = Field(None, description="send to everyone this rule reaches")
    transport: Transport | None = Field(None, description="only this transport (default: all usable)")
    note: Annotated[str, text(500)] | None = Field(None, description="added to the message")
    wait_s: float = Field(5.0, ge=0, le=10, description="seconds to wait for the outcome")

    @model_validator(mode="after")
    def _one_target(self) -> TestRequest:
        if (self.recipient_id is None) == (self.rule_id is None):
            raise ValueError("give exactly one of recipient_id and rule_id")
        return self


class DeliveryOut(OutModel):
    id: int
    alert_id: int | None
    event_id: int | None
    rule_id: int | None
    recipient_id: int
    recipient: str | None = None
    transport: str
    kind: str
    status: str
    attempts: int
    last_error: str | None
    external_id: str | None
    thread_id: str | None
    group_key: str | None
    next_attempt_at: datetime
    claimed_by: str | None
    sent_at: datetime | None
    created_at: datetime


class TestResult(BaseModel):
    complete: bool = Field(description="every delivery reached a final status")
    deliveries: list[DeliveryOut]


class DeliveryQuery(Page):
    recipient: Id | None = Field(None, description="recipient id")
    status: list[Status] | None = Field(None, description="repeat for several")
    transport: Transport | None = None
    kind: Annotated[str, text(20)] | None = Field(None, description="opened, resolved, escalated, test…")
    alert: Id | None = Field(None, description="alert id")


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    total: int
    limit: int
    offset: int


def _out(row: Delivery, names: dict[int, str]) -> DeliveryOut:
    out = DeliveryOut.model_validate(row)
    out.recipient = names.get(row.recipient_id)
    return out


def _names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(db().execute(select(Recipient.id, Recipient.name).where(Recipient.id.in_(ids))).all())


def _targets(body: TestRequest) -> list[tuple[int, str, int | None]]:
    """``(recipient_id, transport, rule_id)`` pairs a test goes to."""
    session = db()
    if body.recipient_id is not None:
        person = get_or_404(Recipient, body.recipient_id, "recipient")
        spec = recipient_spec(person, usable_kinds(session, [person.id])[person.id])
        pairs: list[tuple[int, str, int | None]] = [
            (person.id, t, None) for t in sorted(spec.addresses or ()) if spec.can_receive(t)]
    else:
        rule = get_or_404(NotificationRule, body.rule_id or 0, "rule")
        pairs = [(p.id, t, rule.id) for p, t in route(rule_spec(rule), load_people(session),
                                                       fallbacks=fallbacks())]
    if body.transport is not None:
        pairs = [p for p in pairs if p[1] == body.transport]
    if not pairs:
        field = "recipient_id" if body.recipient_id is not None else "rule_id"
        raise ApiError(400, "invalid_value", "nobody can be reached: no enabled recipient with a "
                       "usable destination for this transport", field=field)
    return pairs


@api_route(bp, "/api/v1/notifications/test", ["POST"], body=TestRequest, response=TestResult,
           scope="write", errors=(404,), tag="notifications")
def send_test(body: TestRequest) -> tuple[TestResult, int]:
    """Send a test message to a recipient or to everyone a rule reaches, and report the result.

    The message goes through the outbox like any alert (so it proves the running notifier, its
    transports and the person's destination). Answers 200 when every delivery is final (sent or
    failed, with the error), 202 when some are still pending after ``wait_s``.
    """
    session = db()
    actor = principal().name
    rows = [Delivery(recipient_id=rid, transport=transport, rule_id=rule_id, kind="test",
                     payload={"note": body.note, "requested_by": actor})
            for rid, transport, rule_id in _targets(body)]
    session.add_all(rows)
    session.commit()
    ids = [r.id for r in rows]
    deadline = time.monotonic() + body.wait_s
    while True:
        session.expire_all()
        current = list(session.scalars(select(Delivery).where(Delivery.id.in_(ids)).order_by(Delivery.id)))
        complete = all(r.status in FINAL for r in current)
        if complete or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    names = _names({r.recipient_id for r in current})
    return TestResult(complete=complete, deliveries=[_out(r, names) for r in current]), \
        (200 if complete else 202)


@api_route(bp, "/api/v1/deliveries", query=DeliveryQuery, response=DeliveryPage, tag="notifications")
def list_deliveries(query: DeliveryQuery) -> DeliveryPage:
    """The delivery log, newest first: who was told what, how, with attempts and last error."""
    stmt = select(Delivery).order_by(Delivery.created_at.desc(), Delivery.id.desc())
    if query.status:
        stmt = stmt.where(Delivery.status.in_(query.status))
    for column, value in ((Delivery.recipient_id, query.recipient), (Delivery.transport, query.transport),
                          (Delivery.kind, query.kind), (Delivery.alert_id, query.alert)):
        if value is not None:
            stmt = stmt.where(column == value)
    rows, total = paged(db(), stmt, query.limit, query.offset)
    names = _names({r.recipient_id for r in rows})
    return DeliveryPage(items=[_out(r, names) for r in rows], total=total, limit=query.limit,
                        offset=query.offset)


# -- Alertmanager ---------------------------------------------------------------------------

class AmAlert(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: Literal["firing", "resolved"]
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: str | None = None  # noqa: N815 (Alertmanager's field names)
    generatorURL: str | None = None  # noqa: N815
    fingerprint: str | None = None


class AmWebhook(BaseModel):
    """Alertmanager webhook payload, version 4 (unknown fields are ignored)."""

    model_config = ConfigDict(extra="ignore")

    version: str = "4"
    status: str | None = None
    receiver: str | None = None
    alerts: list[AmAlert] = Field(max_length=1000)


class AmResult(BaseModel):
    opened: int
    refreshed: int
    cleared: int
    alert_ids: list[int]


SEVERITY_MAP = {"critical": "critical", "page": "critical", "major": "major", "error": "major",
                "high": "major", "warning": "minor", "minor": "minor", "low": "minor", "info": "info",
                "none": "info"}


def stack_alert_type(alertname: str) -> str:
    """``CastwatchProbeDown`` → ``STACK_CASTWATCH_PROBE_DOWN`` (upper snake, ≤ 64 chars)."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", alertname)
    snake = re.sub(r"[^A-Za-z0-9]+", "_", snake).strip("_").upper() or "UNNAMED"
    if not snake.startswith("STACK_"):
        snake = f"STACK_{snake}"
    return snake[:64]


def _key(alert: AmAlert) -> AlertKey:
    labels = alert.labels
    subject = labels.get("instance") or labels.get("job") or labels.get("service") \
        or alert.fingerprint or "stack"
    return AlertKey("stack", subject[:255], stack_alert_type(labels.get("alertname", "")))


@api_route(bp, "/api/v1/alertmanager/webhook", ["POST"], body=AmWebhook, response=AmResult,
           scope="webhook", tag="notifications")
def alertmanager_webhook(body: AmWebhook) -> AmResult:
    """Alertmanager's webhook (v4): firing alerts open ``STACK_*`` alerts, resolved ones clear them.

    Alert type: ``STACK_`` + ``labels.alertname`` in upper snake case; subject: ``instance``,
    else ``job``; severity from ``labels.severity`` (warning → minor, unknown → major); summary
    from ``annotations.summary`` (else ``description``); ``runbook_url`` becomes the remediation.
    Needs a key of the narrow ``webhook`` scope (or admin); such a key can do nothing else.
    """
    session = db()
    actor = principal().name
    opened = refreshed = cleared = 0
    ids: list[int] = []
    for am in body.alerts:
        key = _key(am)
        if am.status == "resolved":
            done = alert_ops.clear(session, key, actor=actor, note="resolved in Alertmanager")
            if done is not None:
                cleared += 1
                ids.append(done.id)
            continue
        annotations = am.annotations
        details: dict[str, Any] = {"labels": am.labels, "annotations": annotations,
                                   "starts_at": am.startsAt, "generator_url": am.generatorURL}
        remediation = annotations.get("remediation") or (
            f"See the runbook: {annotations['runbook_url']}" if annotations.get("runbook_url") else None)
        if remediation:
            details["remediation"] = remediation
        summary = annotations.get("summary") or annotations.get("description") or key.alert_type
        alert, was_opened = alert_ops.fire(
            session, key, severity=SEVERITY_MAP.get(am.labels.get("severity", "").lower(), "major"),
            summary=summary[:2000], details=details, actor=actor)
        opened += was_opened
        refreshed += not was_opened
        ids.append(alert.id)
    session.commit()
    return AmResult(opened=opened, refreshed=refreshed, cleared=cleared, alert_ids=ids)
