"""Slack transport end to end: PostgreSQL, the notifier, and a loopback stand-in for Slack's
incoming webhooks (Block Kit JSON, 429 + Retry-After, dead webhooks)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from castwatch.common import alerts
from castwatch.common.alerts import AlertKey
from castwatch.common.models import Alert, Delivery, RecipientAddress
from castwatch.notifier.settings import NotifySettings, SlackSettings

from .conftest import (
    HttpStandIn,
    NotifierThread,
    SmtpRecorder,
    add_person,
    add_rule,
    notify_settings,
    wait_for,
)

HOOK = "/services/T0001/B0001/s3cretWebhookToken"


def slack_settings(stand_in: HttpStandIn, **overrides: Any) -> NotifySettings:
    base = notify_settings(**overrides)
    return replace(base, slack=SlackSettings(timeout_s=5, url_prefix=f"{stand_in.url}/services/"))


def slack_person(db: Session, stand_in: HttpStandIn, name: str = "sam", **kw: Any) -> int:
    person = add_person(db, name, role="engineer", **kw)
    db.add(RecipientAddress(recipient_id=person.id, kind="slack", value=f"{stand_in.url}{HOOK}"))
    db.flush()
    return person.id


def fire(db: Session, summary: str = "Playlist stale", **kw: Any) -> Alert:
    alert, _ = alerts.fire(db, AlertKey("probe", "CH1/720p", "PLAYLIST_STALE"), severity="critical",
                           summary=summary, **kw)
    db.commit()
    return alert


def posts(stand_in: HttpStandIn) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in stand_in.received(HOOK)]


def rows(db: Session) -> list[Delivery]:
    db.expire_all()
    return list(db.scalars(select(Delivery).order_by(Delivery.id)))


def test_an_alert_arrives_as_block_kit_with_its_fields_escaped_and_a_link(
        db: Session, http_standin: HttpStandIn, notifier: Callable[..., NotifierThread]) -> None:
    slack_person(db, http_standin)
    add_rule(db, roles=["engineer"], transports=["slack"])
    fire(db, summary="stale <!channel> & <https://evil.example|click>",
         details={"remediation": "Restart <enc1>"})
    notifier(slack_settings(http_standin, public_url="https://castwatch.example"))
    [msg] = wait_for(lambda: posts(http_standin))
    header, section = msg["blocks"][0], msg["blocks"][1]
    assert header["type"] == "header" and "PLAYLIST_STALE" in header["text"]["text"]
    assert "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;" in section["text"]["text"]
    fields = {f["text"].split("\n")[0]: f["text"].split("\n")[1] for f in section["fields"]}
    assert fields["*Severity*"] == "critical" and fields["*Type*"] == "PLAYLIST_STALE"
    assert "CH1/720p" in fields["*Where*"] and fields["*State*"] == "firing"
    assert any("Restart &lt;enc1&gt;" in e["text"] for b in msg["blocks"] if b["type"] == "context"
               for e in b["elements"])
    [button] = [b for b in msg["blocks"] if b["type"] == "actions"][0]["elements"]
    assert button["url"].startswith("https://castwatch.example/alerts/")
    assert "<!channel>" not in json.dumps(msg) and msg["text"]
    [row] = wait_for(lambda: [r for r in rows(db) if r.status == "sent"])
    assert row.transport == "slack" and row.external_id == f"slack:{row.id}"


def test_later_messages_of_an_alert_are_new_messages_because_incoming_webhooks_cannot_thread(
        db: Session, http_standin: HttpStandIn, notifier: Callable[..., NotifierThread]) -> None:
    slack_person(db, http_standin)
    add_rule(db, roles=["engineer"], transports=["slack"])
    alert = fire(db)
    notifier(slack_settings(http_standin))
    wait_for(lambda: [r for r in rows(db) if r.status == "sent"])
    alerts.resolve(db, alert.id, actor="tina")
    db.commit()
    first, resolved = wait_for(lambda: posts(http_standin) if len(posts(http_standin)) == 2 else None)
    assert "resolved" in resolved["blocks"][0]["text"]["text"]
    assert "thread_ts" not in resolved


def test_slack_rate_limiting_is_retried_after_retry_after_and_sent_once(
        db: Session, http_standin: HttpStandIn, notifier: Callable[..., NotifierThread]) -> None:
    http_standin.script = [(429, "rate_limited", {"Retry-After": "1"}), (500, "oops", {})]
    slack_person(db, http_standin)
    add_rule(db, roles=["engineer"], transports=["slack"])
    fire(db)
    notifier(slack_settings(http_standin))
    [row] = wait_for(lambda: [r for r in rows(db) if r.status == "sent"])
    calls = http_standin.received(HOOK)
    assert len(calls) == 3 and calls[1].at - calls[0].at >= 0.95
    assert row.attempts == 1  # retried inside one attempt by the transport base


def test_a_dead_webhook_disables_the_address_and_tells_the_admins_without_its_url(
        db: Session, http_standin: HttpStandIn, smtp: tuple[SmtpRecorder, int],
        notifier: Callable[..., NotifierThread]) -> None:
    recorder, port = smtp
    http_standin.script = [(404, "no_service", {})]
    sam = slack_person(db, http_standin)
    add_person(db, "ada", role="management", email="ada@example.test", is_admin=True)
    add_rule(db, roles=["engineer"], transports=["slack"])
    fire(db)
    notifier(slack_settings(http_standin, smtp_port=port))
    [mail] = wait_for(lambda: recorder.messages)
    body = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "sam" in body and "disabled" in body and "no_service" in body
    assert "s3cret" not in body and "s3cret" not in str(mail)
    db.expire_all()
    address = db.scalars(select(RecipientAddress).where(RecipientAddress.recipient_id == sam)).one()
    assert not address.enabled and "404" in (address.disabled_reason or "")
    [failed] = [r for r in rows(db) if r.transport == "slack"]
    assert failed.status == "failed" and "s3cret" not in (failed.last_error or "")
    assert len(http_standin.received(HOOK)) == 1


def test_a_slack_address_outside_the_allowed_prefix_is_never_posted_to(
        db: Session, http_standin: HttpStandIn, notifier: Callable[..., NotifierThread]) -> None:
    person = add_person(db, "mallory", role="engineer")
    db.add(RecipientAddress(recipient_id=person.id, kind="slack", value=f"{http_standin.url}/elsewhere"))
    add_rule(db, roles=["engineer"], transports=["slack"])
    fire(db)
    notifier(slack_settings(http_standin))
    [row] = wait_for(lambda: [r for r in rows(db) if r.status == "failed"])
    assert "not an allowed incoming-webhook URL" in (row.last_error or "")
    assert http_standin.received() == []
