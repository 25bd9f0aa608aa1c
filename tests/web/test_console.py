"""The ops console end to end: real Chromium, real API process, real PostgreSQL."""

from __future__ import annotations

import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from castwatch.common.db import transaction
from castwatch.common.models import Channel
from castwatch.packager_monitor.content.analyze import analyze_segment
from castwatch.packager_monitor.content.channel import ThumbnailUpdate
from castwatch.packager_monitor.store import write_thumbnail
from tests.packager_monitor.lavfi import make_segment

from . import seed
from .browser import shoot

pytestmark = pytest.mark.slow


def test_the_shell_is_served_at_the_root_with_a_strict_content_security_policy(api_server: Any) -> None:
    resp = requests.get(api_server.url + "/", timeout=5)
    assert resp.status_code == 200
    assert "text/html" in resp.headers["Content-Type"]
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "default-src 'self'" in csp
    assert 'id="signin-form"' in resp.text
    # Every asset the shell references is served locally (nothing from a CDN).
    assets = re.findall(r'(?:src|href)="(/ui/[^"]+)"', resp.text)
    assert len(assets) >= 4
    for path in assets:
        assert requests.get(api_server.url + path, timeout=5).status_code == 200, path
    assert "http://" not in resp.text.replace("http://www.w3.org", "")


def test_it_refuses_a_wrong_key_then_signs_in_and_out(page: Any, sign_in: Any, admin_key: str) -> None:
    page.goto("/")
    page.fill("#signin-key", "cw_not-a-real-key")
    page.click("#signin-form button[type=submit]")
    expect(page.locator('[data-error-for="key"]')).to_contain_text("not valid")
    expect(page.locator("#topbar")).to_be_hidden()
    shoot(page, "signin-refused", full_page=False)

    sign_in()
    expect(page.locator("#who")).to_contain_text("ops-admin")
    expect(page.locator("#live-dot")).to_have_attribute("data-state", "live")
    page.reload()  # the key survives a reload of the tab (sessionStorage)
    expect(page.locator("#topbar")).to_be_visible()

    page.click("#sign-out")
    expect(page.locator("#signin")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0


def test_a_channel_created_through_the_api_appears_without_reload(page: Any, sign_in: Any, rest: Any) -> None:
    sign_in("#/channels")
    expect(page.locator("#channel-grid")).to_contain_text("No channels yet")
    page.evaluate("window.__marker = 'same page'")

    rest.post("/channels", {"channel_code": "CH_LIVE_TEST", "channel_name": "Live Test",
                            "input_url": "https://origin.example/live/master.m3u8", "tier": 1}, expect=201)

    card = page.locator('[data-channel-code="CH_LIVE_TEST"]')
    expect(card).to_be_visible(timeout=10_000)
    expect(card).to_contain_text("Live Test")
    assert page.evaluate("window.__marker") == "same page"  # no reload happened


def test_acknowledging_and_resolving_an_alert_updates_its_state_and_history(
    page: Any, sign_in: Any, rest: Any, session_factory: Any,
) -> None:
    data = seed.catalog(rest)
    ids = seed.alerts(session_factory, data["channels"])
    sign_in("#/alerts")
    row = page.locator(f'#alerts-table tr[data-alert-id="{ids[0]}"]')
    expect(row).to_have_attribute("data-state", "firing")

    row.locator('[data-action="acknowledge"]').click()
    page.fill("#dialog textarea[name=note]", "on it — checking the packager")
    page.click("#dialog button[type=submit]")
    expect(row).to_have_attribute("data-state", "acknowledged")
    assert rest.call("GET", f"/alerts/{ids[0]}")["state"] == "acknowledged"

    row.click()
    expect(page.locator("#alert-events")).to_contain_text("on it — checking the packager")
    expect(page.locator("#alert-events")).to_contain_text("ops-admin")

    row.locator('[data-action="resolve"]').click()
    page.fill("#dialog textarea[name=note]", "packager restarted")
    page.click("#dialog button[type=submit]")
    expect(row).to_have_attribute("data-state", "resolved")
    expect(page.locator("#alert-events")).to_contain_text("packager restarted")


def test_an_alert_state_changed_elsewhere_reaches_the_table_live(
    page: Any, sign_in: Any, rest: Any, session_factory: Any,
) -> None:
    data = seed.catalog(rest)
    ids = seed.alerts(session_factory, data["channels"])
    sign_in("#/alerts")
    row = page.locator(f'#alerts-table tr[data-alert-id="{ids[1]}"]')
    expect(row).to_have_attribute("data-state", "firing")
    rest.post(f"/alerts/{ids[1]}/acknowledge", {"note": "from the phone"}, expect=200)
    expect(row).to_have_attribute("data-state", "acknowledged")


def test_the_channel_form_shows_the_api_field_errors_next_to_the_field(
    page: Any, sign_in: Any, rest: Any,
) -> None:
    rest.post("/channels", {"channel_code": "CH_TAKEN", "channel_name": "Taken",
                            "input_url": "https://origin.example/taken/master.m3u8"}, expect=201)
    sign_in("#/channels/new")
    form = page.locator("#channel-form")

    form.locator("button[type=submit]").click()  # empty: required fields flagged before any request
    expect(page.locator('[data-error-for="channel_code"]')).to_contain_text("required")

    page.fill("[name=channel_code]", "CH_NEW")
    page.fill("[name=channel_name]", "New channel")
    page.fill("[name=input_url]", "ftp://origin.example/new.m3u8")
    form.locator("button[type=submit]").click()
    url_error = page.locator('[data-error-for="input_url"]')
    expect(url_error).to_contain_text("expected an http:// or https:// URL")  # next to the URL field
    expect(page.locator('label.field.invalid [name="input_url"]')).to_be_visible()
    shoot(page, "channel-form-errors")

    page.fill("[name=input_url]", "https://origin.example/new/master.m3u8")
    page.fill("[name=channel_code]", "CH_TAKEN")
    form.locator("button[type=submit]").click()
    expect(page.locator('[data-error-for="channel_code"]')).to_contain_text("already in use")
    expect(url_error).to_be_empty()

    page.fill("[name=channel_code]", "CH_NEW")
    form.locator("button[type=submit]").click()
    expect(page.locator("#view h1")).to_have_text("New channel")
    assert rest.call("GET", "/channels", params={"q": "CH_NEW"})["total"] == 1


def test_the_live_banner_shows_when_the_api_restarts(page: Any, sign_in: Any, api_server: Any) -> None:
    sign_in("#/overview")
    banner = page.locator("#live-banner")
    expect(page.locator("#live-dot")).to_have_attribute("data-state", "live")
    expect(banner).to_be_hidden()

    api_server.stop()
    expect(banner).to_be_visible(timeout=15_000)
    expect(banner).to_contain_text("lost")
    expect(page.locator("#live-dot")).to_have_attribute("data-state", "down")
    shoot(page, "live-banner-down", full_page=False)

    api_server.start()
    expect(banner).to_contain_text("restored", timeout=20_000)
    expect(page.locator("#live-dot")).to_have_attribute("data-state", "live")
    expect(banner).to_be_hidden(timeout=10_000)


def test_manual_failover_asks_for_confirmation_and_queues_a_command(
    page: Any, sign_in: Any, rest: Any, session_factory: Any,
) -> None:
    enc = seed.encoders(rest, session_factory)
    sign_in("#/encoders")
    group = page.locator(f'[data-group-id="{enc["groups"][0]["id"]}"]')
    expect(group.locator('[data-onair="true"]')).to_contain_text("helo-a")

    group.locator('[data-action="failover"]').click()
    expect(page.locator("#dialog")).to_contain_text("Fail over Main studio?")
    page.click("#dialog button:has-text('Cancel')")
    standby = enc["encoders"]["helo-b"]["id"]
    assert rest.call("GET", f"/encoders/{standby}/commands") == []  # cancelled: nothing sent

    group.locator('[data-action="failover"]').click()
    expect(page.locator("#dialog select[name=target]")).to_have_value(str(standby))
    page.click("#dialog button[type=submit]")
    expect(group.locator(f'[data-encoder-id="{standby}"]')).to_contain_text("last command: failover")
    commands = rest.call("GET", f"/encoders/{standby}/commands")  # "failover" to a standby = put it on air
    assert [(c["action"], c["requested_by"]) for c in commands] == [("failover", "ops-admin")]

    council = page.locator(f'[data-group-id="{enc["groups"][1]["id"]}"]')  # running on its backup
    expect(group.locator('[data-action="failback"]')).to_have_count(0)
    council.locator('[data-action="failback"]').click()
    expect(page.locator("#dialog")).to_contain_text("returns to monarch-1")
    page.click("#dialog button[type=submit]")
    on_air = enc["encoders"]["monarch-2"]["id"]
    expect(council.locator(f'[data-encoder-id="{on_air}"]')).to_contain_text("last command: failback")
    assert [c["action"] for c in rest.call("GET", f"/encoders/{on_air}/commands")] == ["failback"]


def test_every_page_renders_with_data_and_is_saved_as_a_screenshot(
    page: Any, sign_in: Any, rest: Any, session_factory: Any,
) -> None:
    data = seed.catalog(rest)
    seed.probe_results(session_factory, data["channels"])
    seed.alerts(session_factory, data["channels"])
    seed.encoders(rest, session_factory)
    seed.people(rest)

    sign_in("#/overview")
    expect(page.locator('[data-kpi="active-channels"] .value')).to_have_text("5")
    expect(page.locator('[data-kpi="channels-4k"] .value')).to_have_text("1")
    expect(page.locator('[data-kpi="open-alerts"] .value')).to_have_text("4")
    expect(page.locator('[data-kpi="groups-on-backup"] .value')).to_have_text("1")
    expect(page.locator("#recent-alerts tbody tr")).to_have_count(4)
    expect(page.locator('#probes [data-probe="probe-1"]')).to_contain_text("online")
    expect(page.locator('#probes [data-probe="probe-2"] .light')).to_have_attribute("data-status", "critical")
    shoot(page, "overview")

    page.click('.tabs a[data-tab="channels"]')
    sport = page.locator('[data-channel-code="CH_SPORT_4K"]')
    expect(sport).to_contain_text("4K")
    expect(sport).to_contain_text("HDR")
    expect(sport).to_contain_text("ATMOS")
    expect(sport).to_contain_text("hvc1 · 3840x2160")
    expect(page.locator('[data-channel-code="CH_NEWS_HD"]')).to_contain_text("2 open alerts")
    page.select_option("select[name=format]", "4k")
    expect(page.locator(".ch-card")).to_have_count(1)
    page.select_option("select[name=format]", "")
    page.fill("input[name=q]", "council")
    expect(page.locator(".ch-card")).to_have_count(1)
    page.fill("input[name=q]", "")
    expect(page.locator(".ch-card")).to_have_count(5)
    shoot(page, "channels")

    page.click('[data-channel-code="CH_NEWS_HD"]')
    expect(page.locator("#ladder tbody tr")).to_have_count(3)
    expect(page.locator("#check-renditions")).to_contain_text("1080p")
    expect(page.locator("#channel-alerts tbody tr")).to_have_count(2)
    shoot(page, "channel-detail")

    page.click('.tabs a[data-tab="alerts"]')
    expect(page.locator("#alerts-table tbody tr")).to_have_count(4)
    page.select_option("select[name=severity]", "critical")
    expect(page.locator("#alerts-table tbody tr")).to_have_count(1)
    page.locator("#alerts-table tbody tr").first.click()
    expect(page.locator("#alert-events")).to_contain_text("opened")
    shoot(page, "alerts")

    page.click('.tabs a[data-tab="encoders"]')
    expect(page.locator(".group-card")).to_have_count(2)
    expect(page.locator('[data-onair="true"]')).to_have_count(2)
    expect(page.locator(".group-card").nth(1)).to_contain_text("ON BACKUP: monarch-2")
    shoot(page, "encoders")

    page.click('.tabs a[data-tab="metrics"]')
    expect(page.locator("#chart-temperature canvas")).to_be_visible()
    expect(page.locator("#chart-age canvas")).to_be_visible()
    expect(page.locator("#chart-download canvas")).to_be_visible()
    shoot(page, "metrics")

    page.click('.tabs a[data-tab="settings"]')
    expect(page.locator("#recipients-table tbody tr")).to_have_count(2)
    expect(page.locator("#recipients-table")).to_contain_text("@dana_ops 123456789")
    shoot(page, "settings")
    page.click('[data-tab="rules"]')
    expect(page.locator("#rules-table")).to_contain_text("600s→management")

    page.set_viewport_size({"width": 390, "height": 844})
    page.click('.tabs a[data-tab="overview"]')
    expect(page.locator('[data-kpi="open-alerts"] .value')).to_have_text("4")
    shoot(page, "overview-phone")
    page.click('.tabs a[data-tab="channels"]')
    expect(page.locator(".ch-card")).to_have_count(5)
    shoot(page, "channels-phone")
    page.click('.tabs a[data-tab="alerts"]')
    expect(page.locator("#alerts-table tbody tr")).to_have_count(4)
    shoot(page, "alerts-phone")
    page.click('.tabs a[data-tab="encoders"]')
    expect(page.locator(".group-card")).to_have_count(2)
    shoot(page, "encoders-phone")


def test_the_channels_grid_shows_each_channels_live_thumbnail(page: Any, sign_in: Any, rest: Any,
                                                             session_factory: Any) -> None:
    made = rest.post("/channels", {"channel_code": "CH_THUMB", "channel_name": "Thumb",
                                   "input_url": "https://origin.example/live/master.m3u8", "tier": 1},
                     expect=201)
    with tempfile.TemporaryDirectory() as tmp:
        jpeg = analyze_segment(make_segment(Path(tmp) / "s.ts"), 2.0, thumbnail=True).thumbnail
    assert jpeg is not None
    taken = datetime.now(UTC)
    with transaction(session_factory) as s:  # what the probe writes: the picture and its time
        write_thumbnail(s, ThumbnailUpdate(made["id"], jpeg, taken, "360p"))
        row = s.get(Channel, made["id"])
        row.last_check = {"content": {"thumbnail_at": taken.isoformat()}}
    sign_in("#/channels")
    img = page.locator('[data-channel-code="CH_THUMB"] img.ch-thumb')
    expect(img).to_be_visible(timeout=10_000)
    page.wait_for_function(
        "() => { const i = document.querySelector('img.ch-thumb'); return i && i.naturalWidth === 320; }")


def test_the_metrics_page_has_the_seeds_mos_loudness_and_bitrate_charts(
        page: Any, sign_in: Any, rest: Any, session_factory: Any) -> None:
    made = rest.post("/channels", {"channel_code": "CH_CONTENT", "channel_name": "Content",
                                   "input_url": "https://origin.example/live/master.m3u8", "tier": 1},
                     expect=201)
    with transaction(session_factory) as s:  # a status row as the probe writes it
        row = s.get(Channel, made["id"])
        row.last_checked_at = datetime.now(UTC)
        row.last_check = {"content": {"chosen": "360p", "renditions": {
            "360p": {"mos": 2.04, "measured_bps": 812_000, "advertised_bps": 800_000}},
            "decoded": {"360p": {"audio": [{"track": 1, "short_term_lufs": -22.6}]}}}}
    sign_in("#/metrics")
    for chart in ("#chart-mos", "#chart-loudness", "#chart-measured"):
        expect(page.locator(chart)).to_be_visible()
        expect(page.locator(f"{chart} canvas")).to_have_count(1)
    page.goto(f"/#/channels/{made['id']}")
    expect(page.locator("#content-renditions")).to_contain_text("2.04")
    expect(page.locator("#content-figures")).to_contain_text("-22.6")
