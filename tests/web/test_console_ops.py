"""Console pages added for operations: API keys, incidents, remediation hints, planned off-air,
failover history and the Metrics page's InfluxDB history (real API, real database, Chromium)."""

from __future__ import annotations

import re
from typing import Any

import requests
from playwright.sync_api import expect
from sqlalchemy import select

from castwatch.common.alerts import AlertKey, fire
from castwatch.common.models import Incident

from . import seed
from .browser import shoot


def test_an_admin_creates_a_key_sees_it_once_and_revokes_it_after_confirming(
        page: Any, sign_in: Any, api_server: Any) -> None:
    sign_in("#/settings?tab=keys")
    expect(page.locator("#keys-table tbody tr", has_text="ops-admin")).to_contain_text("active (this session)")
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
