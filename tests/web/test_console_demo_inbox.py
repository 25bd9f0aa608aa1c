"""The console's Demo inbox page in Chromium (issue #15): the real API (``castwatch api``) told
about a real Bot API stand-in and SMTP sink, a real notifier sending to them; pressing the
message's Acknowledge button on the page acknowledges the alert through the notifier."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from castwatch.common import alerts
from castwatch.common.alerts import AlertKey
from castwatch.common.models import Alert
from castwatch.simulators.smtp.sink import SmtpSink
from castwatch.simulators.telegram.standin import BotApiStandIn
from tests.notifier.conftest import NotifierThread, add_person, add_rule, notify_settings, wait_for

from .server import ApiServer, free_port


@pytest.fixture()
def demo(database_url: str) -> Iterator[tuple[ApiServer, BotApiStandIn, SmtpSink]]:
    standin = BotApiStandIn(max_long_poll_s=0.5).start()
    with SmtpSink(port=0) as sink:
        http_port = sink.serve_http("127.0.0.1", 0)
        server = ApiServer(database_url, free_port(), env={
            "DEMO_TELEGRAM_STANDIN_URL": standin.base_url.removesuffix("/bot"),
            "DEMO_SMTP_SINK_URL": f"http://127.0.0.1:{http_port}"})
        server.start()
        try:
            yield server, standin, sink
        finally:
            server.stop()
            standin.stop()


def test_the_demo_inbox_shows_messages_and_emails_and_acknowledge_acknowledges(
        browser: Any, admin_key: str, db: Session, database_url: str,
        demo: tuple[ApiServer, BotApiStandIn, SmtpSink]) -> None:
    server, standin, sink = demo
    add_person(db, "Demo Engineer", role="engineer", telegram_chat_id=1002, telegram_user_id=1002,
               email="engineer@demo.invalid")
    add_rule(db, roles=["engineer"], transports=["telegram", "email"])
    alert, _ = alerts.fire(db, AlertKey("probe", "DEMO_002", "PLAYLIST_UNREACHABLE"),
                           severity="critical", summary="Playlist unreachable")
    db.commit()
    context = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    with NotifierThread(database_url, notify_settings(standin, smtp_port=sink.port)):
        wait_for(lambda: standin.sent and sink.messages)
        page.goto("/#/inbox")
        page.fill("#signin-key", admin_key)
        page.click("#signin-form button[type=submit]")
        page.wait_for_selector("body[data-ready=inbox]")
        assert page.is_visible("#nav-inbox")
        page.wait_for_selector("#inbox-telegram .inbox-message")
        page.wait_for_selector("#inbox-email .inbox-email")
        assert "DEMO_002" in page.inner_text("#inbox-telegram")
        assert "engineer@demo.invalid" in page.inner_text("#inbox-email")
        page.click("#inbox-telegram .inbox-message button:text-is('Acknowledge')")

        def acknowledged() -> bool:
            db.expire_all()
            return db.scalars(select(Alert.state).where(Alert.id == alert.id)).one() == "acknowledged"
        wait_for(acknowledged)
        # the notifier edited the message; the page shows the edit and the button is gone
        page.wait_for_selector("#inbox-telegram .inbox-message:has-text('edited')")
        assert page.locator("#inbox-telegram button:text-is('Acknowledge')").count() == 0
    # the press went the real way: a callback query the notifier answered
    assert standin.answers and "Demo Engineer" in str(standin.answers[0]["text"])
    context.close()
    assert not errors, errors


def test_without_the_demo_there_is_no_inbox_tab(sign_in: Any) -> None:
    page = sign_in("#/overview")
    assert not page.is_visible("#nav-inbox")
