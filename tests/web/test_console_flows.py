"""More operator flows in the console: live status, edit/disable, scopes, settings forms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from castwatch.cms_api.auth import create_key
from castwatch.common.models import Channel, Encoder, EncoderGroup, FailoverEvent

from . import seed
from .browser import shoot
from .server import ApiServer, free_port

pytestmark = pytest.mark.slow


def test_a_status_change_written_by_the_probe_reaches_the_card_live(
    page: Any, sign_in: Any, rest: Any, session_factory: Any,
) -> None:
    data = seed.catalog(rest)
    kids = data["channels"]["CH_KIDS_HD"]["id"]
    sign_in("#/channels")
    card = page.locator('[data-channel-code="CH_KIDS_HD"]')
    expect(card).to_have_attribute("data-status", "unknown")

    with session_factory() as session, session.begin():  # what the packager monitor does
        session.execute(update(Channel).where(Channel.id == kids).values(status="critical"))
    expect(card).to_have_attribute("data-status", "critical")
    first_card = page.locator(".ch-card").first
    expect(first_card).to_have_attribute("data-channel-code", "CH_KIDS_HD")  # problems first

    rest.call("PUT", f"/channels/{kids}", expect=200, json={"channel_name": "Kids (East)"})
    expect(card.locator(".ch-name")).to_have_text("Kids (East)")  # redrawn in place
    expect(page.locator(".ch-card")).to_have_count(5)
    page.select_option("select[name=status]", "critical")
    expect(page.locator(".ch-card")).to_have_count(1)


def test_the_channel_page_lists_recent_checks_as_the_probe_writes_them(
    page: Any, sign_in: Any, rest: Any, session_factory: Any,
) -> None:
    data = seed.catalog(rest)
    seed.probe_results(session_factory, data["channels"])
    news = data["channels"]["CH_NEWS_HD"]["id"]
    sign_in(f"#/channels/{news}")
    history = page.locator("#check-history tbody tr")
    expect(history).to_have_count(1)
    expect(page.locator("#age-chart canvas")).to_be_visible()

    later = datetime.now(UTC) + timedelta(seconds=5)
    check = {"protocol": "HLS", "probe": "probe-1", "open_alerts": [],
             "renditions": {"1080p": {"media_sequence": 48300, "last_change_age_s": 1.5}}}
    with session_factory() as session, session.begin():
        session.execute(update(Channel).where(Channel.id == news)
                        .values(status="ok", last_checked_at=later, last_check=check))
    expect(history).to_have_count(2)
    expect(history.first).to_contain_text("1.5 s")
    expect(page.locator("#check-renditions")).to_contain_text("48300")
    expect(page.locator("#view .page-head .light")).to_have_attribute("data-status", "ok")


def test_an_encoder_sample_written_by_the_encoder_manager_reaches_the_page_live(
    page: Any, sign_in: Any, rest: Any, session_factory: Any,
) -> None:
    enc = seed.encoders(rest, session_factory)
    sign_in("#/encoders")
    helo = page.locator(f'[data-encoder-id="{enc["encoders"]["helo-a"]["id"]}"]')
    expect(helo.locator('[data-metric="temperature"]')).to_contain_text("52.5 °C")
    with session_factory() as session, session.begin():
        session.execute(update(Encoder).where(Encoder.id == enc["encoders"]["helo-a"]["id"])
                        .values(last_sample={"temperature_c": 71.5, "cpu_percent": 40}))
    expect(helo.locator('[data-metric="temperature"]')).to_contain_text("71.5 °C")
    expect(helo.locator('[data-metric="temperature"] .m-value')).to_have_attribute("data-tone", "warn")


def test_a_failover_by_the_encoder_manager_moves_the_on_air_badge_and_is_listed_live(
    page: Any, sign_in: Any, rest: Any, session_factory: Any,
) -> None:
    enc = seed.encoders(rest, session_factory)
    group_id = enc["groups"][0]["id"]
    a, b = enc["encoders"]["helo-a"]["id"], enc["encoders"]["helo-b"]["id"]
    sign_in("#/encoders")
    group = page.locator(f'[data-group-id="{group_id}"]')
    expect(group.locator('[data-onair="true"]')).to_have_attribute("data-encoder-id", str(a))

    with session_factory() as session, session.begin():  # what the active controller records
        session.add(FailoverEvent(group_id=group_id, from_encoder_id=a, to_encoder_id=b, kind="automatic",
                                  reason="helo-a stream down for 3 polls", status="succeeded"))
        session.execute(update(EncoderGroup).where(EncoderGroup.id == group_id).values(active_encoder_id=b))
    expect(group.locator('[data-onair="true"]')).to_have_attribute("data-encoder-id", str(b))
    expect(group).to_contain_text("ON BACKUP: helo-b")
    expect(page.locator("#failover-events")).to_contain_text("helo-a → helo-b")
    expect(page.locator("#failover-events")).to_contain_text("stream down for 3 polls")


def test_a_channel_is_edited_and_disabled_from_its_page(page: Any, sign_in: Any, rest: Any) -> None:
    data = seed.catalog(rest)
    news = data["channels"]["CH_NEWS_HD"]
    sign_in(f"#/channels/{news['id']}")
    page.click("#edit-channel")
    expect(page.locator("[name=channel_name]")).to_have_value("News 24")
    page.fill("[name=channel_name]", "News 24 (main)")
    page.select_option("[name=tier]", "2")
    page.click("#channel-form button[type=submit]")
    expect(page.locator("#view h1")).to_have_text("News 24 (main)")
    saved = rest.call("GET", f"/channels/{news['id']}")
    assert (saved["channel_name"], saved["tier"]) == ("News 24 (main)", 2)
    assert saved["input_url"] == news["input_url"]  # fields not changed are not sent

    page.click("#toggle-channel")
    expect(page.locator("#dialog")).to_contain_text("Disable News 24 (main)?")
    page.click("#dialog button[type=submit]")
    expect(page.locator("#toggle-channel")).to_have_text("Enable")
    assert rest.call("GET", f"/channels/{news['id']}")["enabled"] is False
    page.click('.tabs a[data-tab="channels"]')
    expect(page.locator('[data-channel-code="CH_NEWS_HD"]')).to_have_attribute("data-enabled", "false")


def test_a_read_only_key_sees_the_data_but_no_write_actions(
    page: Any, sign_in: Any, rest: Any, session_factory: Any,
) -> None:
    data = seed.catalog(rest)
    seed.alerts(session_factory, data["channels"])
    seed.encoders(rest, session_factory)
    with session_factory() as session:
        _row, key = create_key(session, name="wall-screen", scope="read", expires_in=timedelta(days=1))
        session.commit()
    sign_in("#/channels", key=key)
    expect(page.locator("#who")).to_contain_text("wall-screen · read")
    expect(page.locator(".ch-card")).to_have_count(5)
    expect(page.locator("#add-channel")).to_have_count(0)
    page.click('.tabs a[data-tab="alerts"]')
    expect(page.locator("#alerts-table tbody tr")).to_have_count(4)
    expect(page.locator('#alerts-table [data-action="acknowledge"]')).to_have_count(0)
    page.click('.tabs a[data-tab="encoders"]')
    expect(page.locator(".group-card")).to_have_count(2)
    expect(page.locator('[data-action="failover"]')).to_have_count(0)


def test_a_recipient_is_added_from_settings_and_the_api_refusal_is_shown(page: Any, sign_in: Any) -> None:
    sign_in("#/settings?tab=recipients")
    page.click("#add-recipients")
    page.fill("#dialog [name=name]", "Night shift")
    page.select_option("#dialog [name=role]", "technician")
    page.click("#dialog button[type=submit]")  # no email nor Telegram chat: the API refuses it
    expect(page.locator("#dialog")).to_contain_text("telegram_chat_id or email")
    shoot(page, "settings-recipient-error", full_page=False)

    page.fill("#dialog [name=email]", "night@example.org")
    page.click("#dialog button[type=submit]")
    expect(page.locator("#recipients-table")).to_contain_text("night@example.org")
    expect(page.locator("#dialog")).to_be_hidden()


def test_a_wall_screen_reads_without_a_key_when_the_api_allows_anonymous_reads(
    browser: Any, database_url: str, rest: Any, session_factory: Any,
) -> None:
    seed.catalog(rest)
    server = ApiServer(database_url, free_port(), env={"API_ANONYMOUS_READ": "true"})
    server.start()
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, base_url=server.url)
    try:
        page = context.new_page()
        page.goto("/")
        page.wait_for_selector('body[data-ready="overview"]')
        expect(page.locator("#signin")).to_be_hidden()
        expect(page.locator("#who")).to_have_text("anonymous · read")
        expect(page.locator('[data-kpi="active-channels"] .value')).to_have_text("5")
        expect(page.locator("#live-dot")).to_have_attribute("data-state", "live")
        shoot(page, "overview-wall-1080p")
        page.click('.tabs a[data-tab="channels"]')
        expect(page.locator(".ch-card")).to_have_count(5)
        expect(page.locator("#add-channel")).to_have_count(0)
        page.click("#sign-out")  # labelled "Sign in" for the anonymous reader
        expect(page.locator("#signin")).to_be_visible()
    finally:
        context.close()
        server.stop()


def test_a_weekly_maintenance_window_is_scheduled_for_one_channel(page: Any, sign_in: Any, rest: Any) -> None:
    data = seed.catalog(rest)
    sign_in("#/settings?tab=windows")
    page.click("#add-windows")
    page.fill("#dialog [name=name]", "Council meeting")
    page.select_option("#dialog [name=kind]", "weekly")
    page.fill("#dialog [name=weekdays]", "Mon, Funday")
    page.fill("#dialog [name=start_time]", "18:00")
    page.fill("#dialog [name=duration_minutes]", "120")
    page.fill("#dialog [name=timezone]", "America/Chicago")
    page.fill("#dialog [name=channels]", "CH_COUNCIL")
    page.click("#dialog button[type=submit]")
    expect(page.locator('#dialog [data-error-for="weekdays"]')).to_contain_text("day names")

    page.fill("#dialog [name=weekdays]", "Mon, Wed")
    page.click("#dialog button[type=submit]")
    row = page.locator("#windows-table tbody tr")
    expect(row).to_contain_text("weekly Mon,Wed 18:00 for 120 min (America/Chicago)")
    windows = rest.call("GET", "/maintenance-windows")
    assert [(w["weekdays"], w["channel_ids"]) for w in windows] == [
        ([0, 2], [data["channels"]["CH_COUNCIL"]["id"]])]
