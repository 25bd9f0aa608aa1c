"""Slack transport: an incoming webhook per recipient address, Block Kit messages.

The address (``recipient_addresses`` kind ``slack``) is the incoming-webhook URL — itself a
secret (whoever has it can post to the channel), so the API treats it as write-only and shows
only its last characters (:attr:`secret_address`). Only URLs under ``NOTIFY_SLACK_URL_PREFIX``
(default ``https://hooks.slack.com/services/``) are accepted, redirects are never followed.

Message: a header (severity icon and what happened), one section per alert with its fields
(severity, type, where, since, state, suspected cause), what to do, the symptoms of an
incident, and an "Open in castwatch" button when ``NOTIFY_PUBLIC_URL`` is set. Every dynamic
value is escaped for mrkdwn (``&``, ``<``, ``>``), so an alert summary cannot mention
``@channel`` or inject links.

Threading: an incoming webhook answers only ``ok`` — no message ``ts`` — so there is nothing
to thread under or edit; later messages of an alert (acknowledged, resolved, incident
updates) are new messages that quote the alert. (Threads need ``chat.postMessage`` with a bot
token; that would be a separate transport.)

Errors: 429 and 5xx are transient (``Retry-After`` honoured by the retry machinery); 404/410
(``no_service``, ``channel_is_archived``) disable the address; other 4xx
(``invalid_payload``, ``invalid_blocks``, ``action_prohibited``) are permanent.
"""

from __future__ import annotations

import json
from typing import Any

from castwatch.common.egress import EgressPolicy
from castwatch.notifier.render import Renderer
from castwatch.notifier.settings import NotifySettings, SlackSettings
from castwatch.notifier.transports.base import OutgoingMessage, RenderRequest, SendResult, TransportError
from castwatch.notifier.transports.http import HttpTransport, classify

MAX_ITEMS = 10  # Slack allows 50 blocks; a grouped message lists the first 10 alerts
FIELD_LIMIT = 1900
SECTION_LIMIT = 2900


def esc(value: object, limit: int = FIELD_LIMIT) -> str:
    """Escape for Slack mrkdwn (``&``, ``<``, ``>``) and cut to ``limit`` characters."""
    text = str(value if value is not None else "")
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _field(label: str, value: object) -> dict[str, str]:
    return {"type": "mrkdwn", "text": f"*{label}*\n{esc(value)}"}


def alert_blocks(item: dict[str, Any]) -> list[dict[str, Any]]:
    alert = item["alert"]
    since = f"{alert.get('opened_at')} ({alert.get('age')})"
    fields = [_field("Severity", alert.get("severity")), _field("Type", alert.get("alert_type")),
              _field("Where", alert.get("where")), _field("Since", since),
              _field("State", alert.get("state"))]
    root = alert.get("root_cause")
    if root:
        fields.append(_field("Suspected cause", f"{root['alert_type']} {root['where']}: {root['summary']}"))
    elif alert.get("cause"):
        fields.append(_field("Suspected cause", alert["cause"]))
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {
        "type": "mrkdwn", "text": f"*{esc(alert.get('summary'), SECTION_LIMIT)}*"}, "fields": fields}]
    context = []
    if alert.get("remediation"):
        context.append(f"What to do: {esc(alert['remediation'])}")
    event = item.get("event") or {}
    if event.get("actor") and event.get("kind") in ("acknowledged", "resolved", "snoozed"):
        context.append(f"{esc(str(event['kind']).capitalize())} by {esc(event['actor'])}")
    if context:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": t} for t in context]})
    folded = item.get("folded") or []
    if folded:
        lines = [("✅ ~" if f["state"] == "resolved" else "• ") + esc(f"{f['alert_type']} {f['where']}", 200)
                 + ("~" if f["state"] == "resolved" else "") for f in folded[:20]]
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": esc(
            f"Also affected ({len(folded)})", 100) + "\n" + "\n".join(lines)}})
    return blocks


def slack_payload(ctx: dict[str, Any]) -> dict[str, Any]:
    """The incoming-webhook JSON (``text`` fallback for notifications + ``blocks``)."""
    alert = ctx.get("alert") or {}
    headline = ctx["headline"] + (f": {alert['alert_type']}" if alert.get("alert_type") else "")
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {
        "type": "plain_text", "text": headline[:150], "emoji": True}}]
    for item in ctx["items"][:MAX_ITEMS]:
        blocks.extend(alert_blocks(item))
    if len(ctx["items"]) > MAX_ITEMS:
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": f"… and {len(ctx['items']) - MAX_ITEMS} more"}]})
    changes = ctx.get("changes") or []
    if changes:
        lines = [f"{'joined' if c['change'] == 'joined' else 'cleared'}: "
                 f"{esc(c['alert']['alert_type'], 100)} {esc(c['alert']['where'], 200)}"
                 for c in changes[:20]]
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}})
    catchup = ctx.get("catchup")
    if catchup:
        lines = [f"{catchup['opened_count']} alerts opened, {catchup['resolved_count']} resolved, "
                 f"{catchup['open_count']} still open"]
        lines += [f"• {esc(a['severity'], 20)} *{esc(a['alert_type'], 60)}* {esc(a['subject'], 200)}: "
                  f"{esc(a['summary'], 300)}" for a in catchup["still_open"][:20]]
        blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                   "text": "\n".join(lines)[:SECTION_LIMIT]}})
    if ctx.get("note"):
        note = esc(ctx["note"], SECTION_LIMIT)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": note}})
    if ctx.get("link"):
        blocks.append({"type": "actions", "elements": [{
            "type": "button", "text": {"type": "plain_text", "text": "Open in castwatch"},
            "url": ctx["link"]}]})
    summary = f" — {alert['summary']}" if alert.get("summary") else ""
    return {"text": esc(f"{headline}{summary}", 300), "blocks": blocks[:50]}


class SlackTransport(HttpTransport):
    name = "slack"
    secret_address = True

    def __init__(self, settings: SlackSettings, egress: EgressPolicy | None = None) -> None:
        self._settings = settings
        self.timeout_s = settings.timeout_s
        super().__init__(egress or EgressPolicy())

    @classmethod
    def configured(cls, settings: NotifySettings) -> bool:
        return settings.slack.configured

    @classmethod
    def from_settings(cls, settings: NotifySettings) -> SlackTransport:
        return cls(settings.slack, settings.egress)

    @classmethod
    def check_address(cls, value: str, settings: NotifySettings | None = None) -> str:
        value = value.strip()
        prefix = (settings.slack if settings else SlackSettings()).url_prefix
        if not value.startswith(prefix) or len(value) <= len(prefix) or any(c.isspace() for c in value):
            raise ValueError(f"a Slack incoming-webhook URL starts with {prefix}")
        return value

    @classmethod
    def build_message(cls, renderer: Renderer, request: RenderRequest) -> OutgoingMessage:
        ctx = renderer.context(request.kind, request.ctx)
        payload = slack_payload(ctx)
        return OutgoingMessage(address=request.address, subject="", text=payload["text"], html="",
                               message_id=f"slack:{request.leader_id}", data=payload)

    async def _send(self, message: OutgoingMessage) -> SendResult:
        if not message.address.startswith(self._settings.url_prefix):
            raise TransportError("slack address is not an allowed incoming-webhook URL",
                                 disable_destination=True)
        body = json.dumps(message.data or {"text": message.text}).encode()
        status, answer, wait = await self.post(message.address, body,
                                               {"Content-Type": "application/json; charset=utf-8"})
        if status != 200:
            raise classify(self.name, status, answer, wait)
        return SendResult(external_id=message.message_id or "slack")
