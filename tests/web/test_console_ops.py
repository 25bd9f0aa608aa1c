"""Console pages added for operations: API keys, incidents, remediation hints, planned off-air,
failover history and the Metrics page's InfluxDB history (real API, real database, Chromium)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from playwright.sync_api import expect
from prometheus_client import CollectorRegistry
from sqlalchemy import select, update

from castwatch.common.alerts import AlertKey, fire
from castwatch.common.env import InfluxSettings
from castwatch.common.influx import InfluxSink
from castwatch.common.models import EncoderCommand, Incident
from tests.support.victoria import victoria_metrics

from . import seed
from .browser import shoot
from .server import ApiServer, free_port


def test_an_admin_creates_a_key_sees_it_once_and_revokes_it_after_confirming(
        page: Any, sign_in: Any, api_server: Any) -> None:
    sign_in("#/settings?tab=keys")
    mine = page.locator("#keys-table tbody tr", has_text="ops-admin")
    expect(mine).to_contain_text("active (this session)")
    page.click("#add-keys")
    page.fill("#dialog input[name=name]", "grafana-reader")
    page.select_option("#dialog select[name=scope]", "read")
    page.click("#dialog button[type=submit]")
    new_key = page.locator("#new-key")
    expect(new_key).to_have_text(re.compile(r"^cw_\S{20,}$"))
    key = new_key.inner_text()
    me = requests.get(f"{api_server.url}/api/v1/me", headers={"Authorization": f"Bearer {key}"}, timeout=5)
    assert me.json() == me.json() | {"name": "grafana-reader", "scope": "read"}
    shoot(page, "settings-key-created", full_page=False)
    page.click("#dialog button[type=submit]")  # "Done": the key is gone from the page for good
    expect(page.locator("#new-key")).to_have_count(0)
    row = page.locator("#keys-table tbody tr", has_text="grafana-reader")
    expect(row).to_contain_text(key[:11])
    expect(page.locator("#keys-table")).not_to_contain_text(key)

    row.get_by_role("button", name="Revoke").click()
    expect(page.locator("#dialog")).to_contain_text("Revoke key grafana-reader")
    page.click("#dialog button.ghost")  # cancel: nothing happens
    expect(row).to_contain_text("active")
    row.get_by_role("button", name="Revoke").click()
    page.click("#dialog button[type=submit]")
    expect(page.locator("#keys-table tbody tr", has_text="grafana-reader")).to_contain_text("revoked")
    gone = requests.get(f"{api_server.url}/api/v1/me", headers={"Authorization": f"Bearer {key}"}, timeout=5)
    assert gone.status_code == 401
    shoot(page, "settings-keys")


def test_the_incidents_page_shows_root_cause_symptoms_impact_and_timeline_and_refreshes_live(
        page: Any, sign_in: Any, rest: Any, session_factory: Any) -> None:
    data = seed.catalog(rest)
    enc = seed.encoders(rest, session_factory)
    seed.overheat_incident(rest, session_factory, data, enc)
    sign_in("#/incidents")
    rows = page.locator("#incidents-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("2 channels")
    expect(page.locator("#nav-incident-count")).to_have_text("1")
    rows.first.click()
    expect(page.locator("#incident-root")).to_contain_text("ENCODER_OVERHEAT")
    expect(page.locator("#incident-symptoms li")).to_have_count(2)
    expect(page.locator("#incident-symptoms")).to_contain_text("PLAYLIST_STALE")
    expect(page.locator("#incident-impact")).to_contain_text("CH_KIDS_HD")
    expect(page.locator("#incident-impact")).to_contain_text("tier 1: 1, tier 2: 1")
    expect(page.locator("#incident-impact")).to_contain_text("OFF THE AIR")
    expect(page.locator("#incident-impact")).to_contain_text("intact — the standby is still available")
    expect(page.locator("#incident-remediation")).to_contain_text("fans")
    expect(page.locator("#incident-timeline li").first).to_be_visible()
    shoot(page, "incidents")
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator("#incident-symptoms li")).to_have_count(2)
    shoot(page, "incidents-phone")
    page.set_viewport_size({"width": 1440, "height": 900})

    # Another cause appears while the page is open: it is listed without a reload.
    council = data["channels"]["CH_COUNCIL"]["id"]
    with session_factory() as session, session.begin():
        fire(session, AlertKey("probe", "CH_COUNCIL", "MPD_STALE"), severity="critical",
             summary="Council manifest has not changed for 40 s", channel_id=council)
    from castwatch.incidents.correlator import Correlator
    from castwatch.incidents.known_issues import load_library

    Correlator(session_factory, load_library()).run_once()
    expect(rows).to_have_count(2, timeout=15_000)
    expect(page.locator("#incidents-table")).to_contain_text("CH_COUNCIL")
    with session_factory() as session:
        assert session.scalar(select(Incident.state).where(Incident.id > 0).limit(1)) == "open"


def test_an_alert_shows_its_remediation_hint(
        page: Any, sign_in: Any, rest: Any, session_factory: Any) -> None:
    data = seed.catalog(rest)
    enc = seed.encoders(rest, session_factory)
    ids = seed.overheat_incident(rest, session_factory, data, enc)
    sign_in(f"#/alerts?focus={ids['root_alert_id']}")
    hint = page.locator("#alert-remediation")
    expect(hint).to_contain_text("What to do:")
    expect(hint).to_contain_text("Check the encoder's fans")
    expect(hint).to_contain_text("known issue: encoder-overheat")
    shoot(page, "alert-remediation")


def test_a_channel_in_planned_off_air_says_so_on_its_card_and_page(
        page: Any, sign_in: Any, rest: Any, session_factory: Any) -> None:
    data = seed.catalog(rest)
    council = data["channels"]["CH_COUNCIL"]["id"]
    seed.off_air_now(session_factory, council)
    sign_in("#/channels")
    card = page.locator('[data-channel-code="CH_COUNCIL"]')
    expect(card.locator(".badge.offair")).to_have_text("PLANNED OFF-AIR")
    expect(card).to_contain_text("Nightly transmitter maintenance")
    expect(page.locator('[data-channel-code="CH_NEWS_HD"] .badge.offair')).to_have_count(0)
    shoot(page, "channels-off-air")
    card.click()
    expect(page.locator("#channel-offair")).to_contain_text("Planned off-air until")
    expect(page.locator("#channel-offair")).to_contain_text("alerts are not sent")


def test_without_influxdb_the_metrics_page_says_it_shows_live_values_only(
        page: Any, sign_in: Any, rest: Any, session_factory: Any) -> None:
    seed.encoders(rest, session_factory)
    sign_in("#/metrics")
    note = page.locator("#metrics-source")
    expect(note).to_have_attribute("data-mode", "live")
    expect(note).to_contain_text("InfluxDB is not configured")
    expect(page.locator("#chart-temperature canvas")).to_be_visible()
    expect(page.locator('[data-metric="temperature"] .chart-source')).to_have_attribute("data-source", "live")


def test_with_influxdb_the_metrics_page_and_the_channel_page_chart_its_history(
        page: Any, admin_key: str, database_url: str, rest: Any, session_factory: Any,
        tmp_path: Path) -> None:
    """A second API configured for VictoriaMetrics, holding points our InfluxSink wrote."""
    data = seed.catalog(rest)
    seed.encoders(rest, session_factory)
    with victoria_metrics(tmp_path / "vm") as vm_url:
        sink = InfluxSink(InfluxSettings(url=vm_url, token="t", flush_interval_ms=50), CollectorRegistry())
        now = datetime.now(UTC)
        for i in range(40):  # 20 minutes, one point every 30 s
            when = now - timedelta(seconds=1200 - 30 * i)
            for name, base in (("helo-a", 50.0), ("monarch-2", 66.0)):
                sink.write("encoder_metric", {"encoder": name, "group": "g", "kind": "obs"},
                           {"temperature_c": base + i % 4, "cpu_percent": 30.0, "bitrate_kbps": 6000}, when)
            for rendition, ms in (("1080p", 240.0), ("720p", 150.0)):
                sink.write("segment_metric", {"channel": "CH_NEWS_HD", "rendition": rendition, "probe": "p1"},
                           {"download_time_ms": ms + i}, when)
        sink.close()
        requests.get(f"{vm_url}/internal/force_flush", timeout=5)
        server = ApiServer(database_url, free_port(), env={
            "INFLUXDB_URL": vm_url, "INFLUXDB_QUERY_LANGUAGE": "victoriametrics"})
        server.start()
        try:
            page.goto(f"{server.url}/#/metrics")
            page.fill("#signin-key", admin_key)
            page.click("#signin-form button[type=submit]")
            page.wait_for_selector("body[data-ready]")
            expect(page.locator("#metrics-source")).to_have_attribute("data-mode", "influx")
            temperature = page.locator('[data-metric="temperature"]')
            expect(temperature.locator(".chart-source")).to_have_attribute("data-source", "influx")
            expect(page.locator("#chart-temperature canvas")).to_be_visible()
            expect(page.locator("#chart-download canvas")).to_be_visible()
            labels = page.evaluate("() => Chart.getChart(document.querySelector('#chart-temperature canvas'))"
                                   ".data.datasets.map((d) => [d.label, d.data.length])")
            assert {name for name, _ in labels} == {"helo-a", "monarch-2"}
            assert all(n >= 10 for _, n in labels)  # the history, not one live value
            shoot(page, "metrics-influx")

            page.goto(f"{server.url}/#/channels/{data['channels']['CH_NEWS_HD']['id']}")
            history = page.locator("#download-history")
            expect(history.locator(".chart-source")).to_have_attribute("data-source", "influx")
            expect(history.locator("canvas")).to_be_visible()
            shoot(page, "channel-detail-influx")
        finally:
            server.stop()


def test_a_failover_command_outcome_arrives_live_without_polling(
        page: Any, sign_in: Any, rest: Any, session_factory: Any) -> None:
    enc = seed.encoders(rest, session_factory)
    polls: list[str] = []
    page.on("request", lambda req: polls.append(req.url) if "/commands" in req.url else None)
    sign_in("#/encoders")
    group = page.locator(f'[data-group-id="{enc["groups"][0]["id"]}"]')
    group.locator('[data-action="failover"]').click()
    page.click("#dialog button[type=submit]")
    standby = enc["encoders"]["helo-b"]["id"]
    card = group.locator(f'[data-encoder-id="{standby}"]')
    expect(card).to_contain_text("last command: failover — pending")
    with session_factory() as session, session.begin():  # what the encoder manager records
        session.execute(update(EncoderCommand).where(EncoderCommand.encoder_id == standby)
                        .values(status="done", result="helo-b on air"))
    expect(card).to_contain_text("last command: failover — done (helo-b on air)")
    expect(page.locator("#toasts")).to_contain_text("failover done: helo-b on air")
    assert polls == []  # the outcome came over Socket.IO (event encoder_command)
