"""Generic webhook transport end to end: PostgreSQL, the notifier, and a loopback receiver
(HMAC-signed JSON bodies, 5xx/429 retried honouring Retry-After, permanent 4xx)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from castwatch.common import alerts
from castwatch.common.alerts import AlertKey
from castwatch.common.env import ConfigError
from castwatch.common.models import Alert, Delivery, RecipientAddress, utcnow
from castwatch.notifier.settings import NotifySettings
from castwatch.notifier.transports.http import classify, retry_after

from .conftest import HttpStandIn, NotifierThread, add_person, add_rule, notify_settings, wait_for

SECRET = "whsec-0123456789abcdef"


def webhook_settings(tmp_path: Path, **overrides: Any) -> NotifySettings:
    """The secret comes from ``NOTIFY_WEBHOOK_SECRET_FILE``, as an operator would bind it."""
    secret_file = tmp_path / "webhook_secret"
    secret_file.write_text(SECRET + "\n")
    from_env = NotifySettings.from_env({"NOTIFY_WEBHOOK_SECRET_FILE": str(secret_file)})
    return replace(notify_settings(**overrides), webhook=from_env.webhook)


def receiver(db: Session, stand_in: HttpStandIn, path: str = "/hook") -> int:
    person = add_person(db, "ops-bot", role="engineer")
    db.add(RecipientAddress(recipient_id=person.id, kind="webhook", value=f"{stand_in.url}{path}"))
    add_rule(db, roles=["engineer"], transports=["webhook"])
    return person.id


def fire(db: Session, summary: str = "Playlist stale") -> Alert:
    alert, _ = alerts.fire(db, AlertKey("probe", "CH1/720p", "PLAYLIST_STALE"), severity="major",
                           summary=summary)
    db.commit()
    return alert


def rows(db: Session) -> list[Delivery]:
    db.expire_all()
    return list(db.scalars(select(Delivery).order_by(Delivery.id)))


def test_the_secret_is_required_and_read_from_a_file(tmp_path: Path) -> None:
    assert not NotifySettings.from_env({}).webhook.configured
    assert webhook_settings(tmp_path).webhook.secret == SECRET
    with pytest.raises(ConfigError, match="NOTIFY_WEBHOOK_SECRET"):
        NotifySettings.from_env({"NOTIFY_WEBHOOK_SECRET": "x", "NOTIFY_WEBHOOK_SECRET_FILE": "/y"})


def test_an_alert_is_posted_as_json_signed_with_hmac_sha256_of_the_body(
        db: Session, http_standin: HttpStandIn, notifier: Callable[..., NotifierThread],
        tmp_path: Path) -> None:
    receiver(db, http_standin)
    alert = fire(db, summary="stale <b>&</b>")
    notifier(webhook_settings(tmp_path))
    [request] = wait_for(lambda: http_standin.received("/hook"))
    expected = "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Castwatch-Signature"] == expected
    assert request.headers["Content-Type"] == "application/json"
    body = json.loads(request.body)
    [row] = wait_for(lambda: [r for r in rows(db) if r.status == "sent"])
    assert request.headers["X-Castwatch-Delivery"] == str(row.id) == str(body["delivery_id"])
    assert body["kind"] == "opened" and body["version"] == 1 and body["sent_at"]
    [sent] = body["alerts"]
    assert (sent["id"], sent["alert_type"], sent["severity"], sent["summary"]) == (
        alert.id, "PLAYLIST_STALE", "major", "stale <b>&</b>")
    assert body["event"]["kind"] == "opened" and body["recipient"]["name"] == "ops-bot"
    tampered = request.body.replace(b"major", b"minor")
    assert hmac.new(SECRET.encode(), tampered, hashlib.sha256).hexdigest() not in expected


def test_5xx_and_429_are_retried_honouring_retry_after_and_delivered_once(
        db: Session, http_standin: HttpStandIn, notifier: Callable[..., NotifierThread],
        tmp_path: Path) -> None:
    http_standin.script = [(503, "down", {"Retry-After": "1"}), (429, "slow down", {"Retry-After": "1"})]
    receiver(db, http_standin)
    fire(db)
    notifier(webhook_settings(tmp_path))
    [row] = wait_for(lambda: [r for r in rows(db) if r.status == "sent"])
    calls = http_standin.received("/hook")
    assert len(calls) == 3
    assert calls[1].at - calls[0].at >= 0.95 and calls[2].at - calls[1].at >= 0.95
    assert len({c.headers["X-Castwatch-Delivery"] for c in calls}) == 1  # receivers can dedupe


def test_a_long_retry_after_goes_back_to_the_outbox_and_is_not_sent_sooner(
        db: Session, http_standin: HttpStandIn, notifier: Callable[..., NotifierThread],
        tmp_path: Path) -> None:
    http_standin.script = [(503, "maintenance", {"Retry-After": "120"})]
    receiver(db, http_standin)
    fire(db)
    notifier(webhook_settings(tmp_path))
    [row] = wait_for(lambda: [r for r in rows(db) if r.status == "pending" and r.attempts == 1])
    assert row.next_attempt_at >= utcnow() + timedelta(seconds=110)
    assert "webhook http 503" in (row.last_error or "") and "maintenance" not in (row.last_error or "")
    assert len(http_standin.received("/hook")) == 1


@pytest.mark.parametrize("status,headers", [(400, {}), (302, {"Location": "http://127.0.0.1:9/x"})])
def test_a_refused_or_redirected_post_fails_at_once_without_echoing_the_answer(
        db: Session, http_standin: HttpStandIn, notifier: Callable[..., NotifierThread],
        tmp_path: Path, status: int, headers: dict[str, str]) -> None:
    http_standin.script = [(status, "Bad thing: SECRET-ECHO <script>", headers)]
    receiver(db, http_standin)
    fire(db)
    notifier(webhook_settings(tmp_path))
    [row] = wait_for(lambda: [r for r in rows(db) if r.status == "failed"])
    assert f"webhook http {status}" in (row.last_error or "")
    assert "SECRET-ECHO" not in (row.last_error or "")
    assert row.attempts == 1 and len(http_standin.received()) == 1


def test_retry_after_is_read_as_seconds_or_an_http_date_and_statuses_map_to_policies() -> None:
    assert retry_after("7") == 7.0 and retry_after("999999") == 3600.0
    assert retry_after("Thu, 01 Jan 2026 00:00:30 GMT", now=1767225600.0) == 30.0
    assert retry_after("soon") is None and retry_after(None) is None
    assert classify("webhook", 503, "", 2.0).retry_after == 2.0
    assert not classify("webhook", 429, "", None).permanent
    assert classify("webhook", 410, "", None).disable_destination
    assert classify("webhook", 400, "", None).permanent
    assert str(classify("slack", 400, "invalid_blocks", None)) == "slack http 400 invalid_blocks"
    assert str(classify("slack", 400, "<html>Bad things here</html>", None)) == "slack http 400"


def test_a_webhook_address_the_egress_policy_refuses_gets_no_request_and_fails_at_once(
        db: Session, http_standin: HttpStandIn, notifier: Callable[..., NotifierThread],
        tmp_path: Path) -> None:
    """A recipient address is a row a write key can edit: with the default policy (public
    addresses only) a webhook pointed at this machine is refused before any connection."""
    from castwatch.common.egress import EgressPolicy

    receiver(db, http_standin)
    fire(db)
    notifier(replace(webhook_settings(tmp_path), egress=EgressPolicy()))
    [row] = wait_for(lambda: [r for r in rows(db) if r.status == "failed"])
    assert "refused by egress policy" in (row.last_error or "")
    assert http_standin.received("/hook") == []
