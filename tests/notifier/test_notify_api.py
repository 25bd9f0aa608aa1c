"""The notifier's API routes on the real app, database and a running notifier."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from castwatch.cms_api import create_app
from castwatch.cms_api.auth import create_key
from castwatch.cms_api.blueprints.notifications import stack_alert_type
from castwatch.common.db import transaction
from castwatch.common.models import Alert
from castwatch.simulators.telegram.standin import BotApiStandIn
from tests.cms_api.support import api_settings, bearer

from .conftest import NotifierThread, add_person, add_rule, notify_settings, wait_for


@pytest.fixture()
def client(session_factory: sessionmaker[Session]) -> FlaskClient:
    app = create_app(api_settings(), session_factory=session_factory, start_listener=False)
    return app.test_client()


@pytest.fixture()
def auth(session_factory: sessionmaker[Session]) -> dict[str, str]:
    with transaction(session_factory) as session:
        _, key = create_key(session, name="tools", scope="write", expires_in=timedelta(days=1))
    return bearer(key)


@pytest.fixture()
def am_auth(session_factory: sessionmaker[Session]) -> dict[str, str]:
    """Alertmanager's key: the narrow webhook scope."""
    with transaction(session_factory) as session:
        _, key = create_key(session, name="alertmanager", scope="webhook", expires_in=timedelta(days=1))
    return bearer(key)


def am_alert(status: str, name: str = "CastwatchProbeDown", **labels: str) -> dict:
    return {"status": status, "labels": {"alertname": name, "severity": "warning",
                                         "instance": "probe:9101", **labels},
            "annotations": {"summary": "probe <down>", "runbook_url": "https://runbooks/probe"},
            "startsAt": "2026-03-02T10:00:00Z", "fingerprint": "abc"}


def test_alertmanager_names_become_stack_alert_types() -> None:
    assert stack_alert_type("CastwatchProbeDown") == "STACK_CASTWATCH_PROBE_DOWN"
    assert stack_alert_type("HTTPErrors5xx") == "STACK_HTTP_ERRORS5XX"
    assert stack_alert_type("stack-disk full") == "STACK_DISK_FULL"


def test_a_firing_stack_alert_reaches_people_through_the_same_rules_and_resolves(
        db: Session, client: FlaskClient, am_auth: dict[str, str], standin: BotApiStandIn,
        notifier: Callable[..., NotifierThread]) -> None:
    add_person(db, "ada", role="engineer", telegram_chat_id=99)
    add_rule(db, "stack", roles=["engineer"], transports=["telegram"],
             match={"alert_types": ["STACK_*"], "sources": ["stack"]})
    db.commit()
    notifier(notify_settings(standin))
    body = {"version": "4", "status": "firing", "receiver": "castwatch", "groupKey": "{}",
            "alerts": [am_alert("firing")], "externalURL": "http://am"}
    reply = client.post("/api/v1/alertmanager/webhook", json=body, headers=am_auth)
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json()["opened"] == 1
    alert = db.scalars(select(Alert)).one()
    assert (alert.source, alert.alert_type) == ("stack", "STACK_CASTWATCH_PROBE_DOWN")
    assert alert.severity == "minor"
    assert alert.details["remediation"] == "See the runbook: https://runbooks/probe"
    [msg] = wait_for(lambda: standin.messages_to(99))
    assert "STACK_CASTWATCH_PROBE_DOWN" in msg["text"] and "probe &lt;down&gt;" in msg["text"]
    again = client.post("/api/v1/alertmanager/webhook", json=body, headers=am_auth).get_json()
    assert again["refreshed"] == 1 and again["opened"] == 0
    body["alerts"] = [am_alert("resolved")]
    assert client.post("/api/v1/alertmanager/webhook", json=body, headers=am_auth).get_json()["cleared"] == 1
    db.expire_all()
    assert db.get(Alert, alert.id).state == "resolved"  # type: ignore[union-attr]
    wait_for(lambda: len(standin.messages_to(99)) == 2)


def test_the_webhook_refuses_callers_without_a_key_and_bad_payloads(
        client: FlaskClient, am_auth: dict[str, str]) -> None:
    assert client.post("/api/v1/alertmanager/webhook", json={"alerts": []}).status_code == 401
    bad = client.post("/api/v1/alertmanager/webhook", json={"alerts": [{"status": "weird"}]}, headers=am_auth)
    assert bad.status_code == 400 and bad.get_json()["error"]["code"]


def test_a_test_send_reports_the_outcome_and_the_delivery_log_shows_it(
        db: Session, client: FlaskClient, auth: dict[str, str], standin: BotApiStandIn,
        notifier: Callable[..., NotifierThread]) -> None:
    tina = add_person(db, "tina", telegram_chat_id=11)
    bob = add_person(db, "bob", telegram_chat_id=12)
    rule = add_rule(db, transports=["telegram"])
    standin.faults.unknown.add(12)
    db.commit()
    notifier(notify_settings(standin))
    reply = client.post("/api/v1/notifications/test", json={"recipient_id": tina.id, "note": "hi <you>"},
                        headers=auth)
    assert reply.status_code == 200, reply.get_json()
    [delivery] = reply.get_json()["deliveries"]
    assert delivery["status"] == "sent" and delivery["recipient"] == "tina"
    assert "hi &lt;you&gt;" in standin.messages_to(11)[0]["text"]
    by_rule = client.post("/api/v1/notifications/test", json={"rule_id": rule.id}, headers=auth).get_json()
    outcome = {d["recipient"]: (d["status"], d["last_error"]) for d in by_rule["deliveries"]}
    assert outcome["tina"][0] == "sent"
    assert outcome["bob"][0] == "failed" and "chat not found" in outcome["bob"][1].lower()
    log = client.get(f"/api/v1/deliveries?recipient={bob.id}&status=failed", headers=auth).get_json()
    assert log["total"] == 1 and log["items"][0]["attempts"] == 1
    assert client.get("/api/v1/deliveries?status=sent", headers=auth).get_json()["total"] == 2


def test_a_test_send_names_a_missing_target(client: FlaskClient, auth: dict[str, str]) -> None:
    assert client.post("/api/v1/notifications/test", json={"recipient_id": 999},
                       headers=auth).status_code == 404
    both = client.post("/api/v1/notifications/test", json={"recipient_id": 1, "rule_id": 1}, headers=auth)
    assert both.status_code == 400
