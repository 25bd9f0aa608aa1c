"""The demo inbox (issue #15): the API lists what the real stand-ins received and a button
pressed through it goes the notifier's real callback path (stand-in getUpdates → notifier →
the alert is acknowledged, the message edited). Real PostgreSQL, real notifier, real Bot API
stand-in and SMTP sink on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from castwatch.cms_api import create_app
from castwatch.cms_api.auth import create_key
from castwatch.cms_api.settings import ApiSettings
from castwatch.common import alerts
from castwatch.common.alerts import AlertKey
from castwatch.common.db import transaction
from castwatch.common.env import ConfigError
from castwatch.common.models import Alert
from castwatch.simulators.smtp.sink import SmtpSink
from castwatch.simulators.telegram.standin import BotApiStandIn
from tests.cms_api.support import api_settings, bearer

from .conftest import NotifierThread, add_person, add_rule, notify_settings, wait_for


@pytest.fixture()
def sink() -> Iterator[tuple[SmtpSink, str]]:
    with SmtpSink(port=0) as sink:
        port = sink.serve_http("127.0.0.1", 0)
        yield sink, f"http://127.0.0.1:{port}"


@pytest.fixture()
def keys(session_factory: sessionmaker[Session]) -> dict[str, dict[str, str]]:
    out = {}
    with transaction(session_factory) as session:
        for scope in ("read", "write"):
            _, key = create_key(session, name=f"k-{scope}", scope=scope, expires_in=timedelta(days=1))
            out[scope] = bearer(key)
    return out


def client_for(session_factory: sessionmaker[Session], **api: Any) -> FlaskClient:
    app = create_app(api_settings(**api), session_factory=session_factory, start_listener=False)
    return app.test_client()


def state(db: Session, alert_id: int) -> str:
    db.expire_all()
    return db.scalars(select(Alert.state).where(Alert.id == alert_id)).one()


def test_the_inbox_settings_accept_only_loopback_urls() -> None:
    s = ApiSettings.from_env({"DEMO_TELEGRAM_STANDIN_URL": "http://127.0.0.1:8184/",
                              "DEMO_SMTP_SINK_URL": "http://localhost:8186"})
    assert s.demo_telegram_url == "http://127.0.0.1:8184" and s.demo_inbox
    assert not ApiSettings.from_env({}).demo_inbox
    for bad in ("http://10.0.0.5:8184", "https://127.0.0.1:8184", "http://example.org"):
        with pytest.raises(ConfigError, match="DEMO_TELEGRAM_STANDIN_URL"):
            ApiSettings.from_env({"DEMO_TELEGRAM_STANDIN_URL": bad})


def test_without_the_demo_the_inbox_does_not_exist(
        session_factory: sessionmaker[Session], keys: dict[str, dict[str, str]]) -> None:
    client = client_for(session_factory)
    assert client.get("/api/v1/demo/inbox", headers=keys["read"]).status_code == 404
    r = client.post("/api/v1/demo/inbox/press", headers=keys["write"],
                    json={"chat_id": 1, "message_id": 1, "data": "x"})
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"


def test_a_stand_in_that_is_down_is_a_clear_502(
        session_factory: sessionmaker[Session], keys: dict[str, dict[str, str]]) -> None:
    from .conftest import free_port

    client = client_for(session_factory, demo_telegram_url=f"http://127.0.0.1:{free_port()}")
    r = client.get("/api/v1/demo/inbox", headers=keys["read"])
    assert r.status_code == 502 and r.get_json()["error"]["code"] == "standin_unavailable"


def test_the_inbox_lists_messages_and_emails_and_acknowledge_goes_through_the_notifier(
        db: Session, session_factory: sessionmaker[Session], standin: BotApiStandIn,
        sink: tuple[SmtpSink, str], keys: dict[str, dict[str, str]],
        notifier: Callable[..., NotifierThread]) -> None:
    smtp, smtp_url = sink
    add_person(db, "Demo Engineer", role="engineer", telegram_chat_id=1002, telegram_user_id=1002,
               email="engineer@demo.invalid")
    add_rule(db, roles=["engineer"], transports=["telegram", "email"])
    alert, _ = alerts.fire(db, AlertKey("probe", "DEMO_002", "PLAYLIST_UNREACHABLE"),
                           severity="critical", summary="Playlist <unreachable>")
    db.commit()
    notifier(notify_settings(standin, smtp_port=smtp.port))
    client = client_for(session_factory, demo_telegram_url=standin.base_url.removesuffix("/bot"),
                        demo_smtp_url=smtp_url)

    def inbox() -> dict[str, Any]:
        r = client.get("/api/v1/demo/inbox", headers=keys["read"])
        assert r.status_code == 200, r.get_json()
        return r.get_json()

    box = wait_for(lambda: (b := inbox())["telegram"] and b["email"] and b)
    [msg] = box["telegram"]
    assert msg["chat_id"] == 1002 and not msg["edited"]
    assert "DEMO_002" in msg["text"] and "<b>" not in msg["text"]  # plain text, never markup
    labels = {b["text"]: b["data"] for b in msg["buttons"]}
    assert {"Acknowledge", "Resolve"} <= labels.keys()
    assert labels["Acknowledge"] == standin.sent[0]["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    [mail] = box["email"]
    assert mail["rcpt_to"] == ["engineer@demo.invalid"] and "DEMO_002" in mail["subject"]

    press = {"chat_id": msg["chat_id"], "message_id": msg["message_id"]}
    # a reader may look but not press; data that is not one of the message's buttons is refused
    assert client.post("/api/v1/demo/inbox/press", headers=keys["read"],
                       json={**press, "data": labels["Acknowledge"]}).status_code == 403
    forged = labels["Acknowledge"][:-1] + ("A" if labels["Acknowledge"][-1] != "A" else "B")
    r = client.post("/api/v1/demo/inbox/press", headers=keys["write"], json={**press, "data": forged})
    assert r.status_code == 404 and r.get_json()["error"]["field"] == "data"
    r = client.post("/api/v1/demo/inbox/press", headers=keys["write"],
                    json={**press, "message_id": 999, "data": labels["Acknowledge"]})
    assert r.status_code == 404
    assert state(db, alert.id) == "firing" and standin.answers == []

    r = client.post("/api/v1/demo/inbox/press", headers=keys["write"],
                    json={**press, "data": labels["Acknowledge"]})
    assert r.status_code == 202, r.get_json()
    wait_for(lambda: state(db, alert.id) == "acknowledged")
    # the answer to the press may follow the acknowledgement's commit by a moment
    answer = wait_for(lambda: standin.answers and standin.answers[0])
    assert "Demo Engineer" in str(answer["text"])
    edited = wait_for(lambda: (m := inbox()["telegram"][0])["edited"] and m)
    assert "acknowledged" in edited["text"].lower()
    assert "Acknowledge" not in {b["text"] for b in edited["buttons"]}
