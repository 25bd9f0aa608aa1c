"""Generic webhook transport: a signed JSON POST per message.

The address (``recipient_addresses`` kind ``webhook``) is the receiver's http(s) URL; URLs
often carry tokens, so the API treats it as write-only (:attr:`secret_address`). The body is
JSON (``version``, ``kind``, ``delivery_id``, ``sent_at``, ``recipient``, ``alerts`` with
their fields, ``event``, ``note``, ``changes``, ``catchup``), at most
``WebhookSettings.max_body_bytes`` (alerts beyond that are counted in ``alerts_omitted``).

Signature: ``X-Castwatch-Signature: sha256=<hex HMAC-SHA256 of the exact body bytes>`` keyed
with ``NOTIFY_WEBHOOK_SECRET`` (``_FILE``) — a castwatch secret bound by the operator in the
notifier's environment, never in a row. ``X-Castwatch-Delivery`` carries the delivery id
(the same on a retry), so a receiver can drop duplicates; ``sent_at`` inside the signed body
lets it refuse replays.

Errors: 429 and 5xx are transient — retried by the transport base (honouring
``Retry-After`` up to 30 s in-process) and then by the outbox (backoff, never sooner than
``Retry-After``); 404/410 disable the address; other 4xx and redirects are permanent;
connection errors and timeouts are transient.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from castwatch.common.egress import EgressPolicy
from castwatch.notifier.render import Renderer
from castwatch.notifier.settings import NotifySettings, WebhookSettings
from castwatch.notifier.transports.base import OutgoingMessage, RenderRequest, SendResult, TransportError
from castwatch.notifier.transports.http import HttpTransport, classify

SIGNATURE_HEADER = "X-Castwatch-Signature"
DELIVERY_HEADER = "X-Castwatch-Delivery"
ALERT_FIELDS = ("id", "source", "subject", "alert_type", "severity", "state", "summary", "where",
                "opened_at", "remediation", "cause", "acknowledged_by", "resolved_by", "root_cause")


def signature(secret: str, body: bytes) -> str:
    """The ``X-Castwatch-Signature`` value of ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_payload(ctx: dict[str, Any], kind: str, leader_id: int) -> dict[str, Any]:
    alerts = []
    for item in ctx["items"]:
        alert = {k: item["alert"].get(k) for k in ALERT_FIELDS}
        alert["symptoms"] = [{k: f.get(k) for k in ("id", "alert_type", "subject", "state", "summary")}
                             for f in item.get("folded") or []]
        alerts.append(alert)
    return {
        "version": 1, "kind": kind, "delivery_id": leader_id,
        "headline": ctx.get("headline"), "link": ctx.get("link"),
        "recipient": ctx.get("recipient"), "event": ctx["items"][0].get("event") if ctx["items"] else None,
        "alerts": alerts, "note": ctx.get("note"), "catchup": ctx.get("catchup"),
        "changes": [{"change": c["change"], "alert_id": c["alert"]["id"]} for c in ctx.get("changes") or []],
    }


def encode(payload: dict[str, Any], limit: int) -> bytes:
    """Compact JSON with ``sent_at``; drops alerts from the end until it fits ``limit`` bytes."""
    payload = {**payload, "sent_at": datetime.now(UTC).isoformat(timespec="seconds")}
    body = json.dumps(payload, separators=(",", ":"), default=str).encode()
    alerts = list(payload.get("alerts") or [])
    while len(body) > limit and alerts:
        alerts.pop()
        omitted = len(payload["alerts"]) - len(alerts)
        body = json.dumps({**payload, "alerts": alerts, "alerts_omitted": omitted},
                          separators=(",", ":"), default=str).encode()
    return body


class WebhookTransport(HttpTransport):
    name = "webhook"
    secret_address = True

    def __init__(self, settings: WebhookSettings, egress: EgressPolicy | None = None) -> None:
        if settings.secret is None:
            raise ValueError("WebhookTransport needs NOTIFY_WEBHOOK_SECRET")
        self._settings = settings
        self.timeout_s = settings.timeout_s
        super().__init__(egress or EgressPolicy())

    @classmethod
    def configured(cls, settings: NotifySettings) -> bool:
        return settings.webhook.configured

    @classmethod
    def from_settings(cls, settings: NotifySettings) -> WebhookTransport:
        return cls(settings.webhook, settings.egress)

    @classmethod
    def check_address(cls, value: str, settings: NotifySettings | None = None) -> str:
        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or \
                any(c.isspace() for c in value):
            raise ValueError("a webhook address is an http(s) URL without credentials")
        return value

    @classmethod
    def build_message(cls, renderer: Renderer, request: RenderRequest) -> OutgoingMessage:
        ctx = renderer.context(request.kind, request.ctx)
        return OutgoingMessage(address=request.address, subject=str(ctx.get("headline") or ""),
                               text="", html="", message_id=f"webhook:{request.leader_id}",
                               data=webhook_payload(ctx, request.kind, request.leader_id))

    async def _send(self, message: OutgoingMessage) -> SendResult:
        assert self._settings.secret is not None
        body = encode(message.data or {}, self._settings.max_body_bytes)
        headers = {"Content-Type": "application/json", "User-Agent": "castwatch-notifier",
                   SIGNATURE_HEADER: signature(self._settings.secret, body),
                   DELIVERY_HEADER: (message.message_id or "").partition(":")[2]}
        status, _answer, wait = await self.post(message.address, body, headers)
        if not 200 <= status < 300:  # a receiver's answer is never echoed, only its status
            raise classify(self.name, status, "", wait)
        return SendResult(external_id=message.message_id or "webhook")


__all__ = ["DELIVERY_HEADER", "SIGNATURE_HEADER", "TransportError", "WebhookTransport", "signature"]
