"""The schedule source's page in the console: its last import and the preview of the next one,
fetched by the real API (a subprocess) from the schedule simulator on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from castwatch.common.models import utcnow
from castwatch.simulators.schedules.server import ScheduleSimulator
from tests.schedules.documents import legistar_html

from . import seed
from .browser import shoot

pytestmark = pytest.mark.slow
CHI = ZoneInfo("America/Chicago")


@pytest.fixture()
def city() -> Iterator[ScheduleSimulator]:
    now = utcnow().replace(second=0, microsecond=0)
    council, commission = (now + timedelta(days=2)).astimezone(CHI), (now + timedelta(days=3)).astimezone(CHI)
    server = ScheduleSimulator([]).start()
    server.documents["/calendar.aspx"] = ("text/html", legistar_html([
        ("City Council", council, f"{council:%-I:%M %p}", "Council Chambers"),
        ("Planning Commission", commission, "Canceled", "<em>CANCELLED</em>")]))
    yield server
    server.stop()


def test_a_sources_page_previews_what_would_be_imported_and_what_was_ignored(
    page: Any, sign_in: Any, rest: Any, city: ScheduleSimulator,
) -> None:
    data = seed.catalog(rest)
    channel = data["channels"]["CH_KIDS_HD"]["id"]
    src = rest.post("/schedules/sources", {"name": "springfield-legistar", "kind": "html",
                                           "url": f"{city.url}/calendar.aspx", "channel_id": channel,
                                           "timezone": "America/Chicago"}, expect=201)
    sign_in("#/schedules")
    expect(page.locator("#sources-table tbody tr")).to_have_count(1)
    page.click("#sources-table a")
    page.wait_for_selector("#source-detail")
    expect(page.locator("#source-error")).to_have_text("none")
    page.click("#preview-btn")
    items = page.locator("#preview-items tbody tr")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_have_attribute("data-status", "scheduled")
    expect(items.nth(1)).to_have_attribute("data-status", "cancelled")
    expect(items.nth(1)).to_contain_text("Planning Commission")
    ignored = page.locator("#preview-ignored tbody tr")
    expect(ignored).to_have_count(2)
    expect(ignored.first).to_contain_text("a posting, effective or minutes date, not a meeting")
    expect(page.locator("#preview-ok")).to_contain_text("would store 2 items")
    shoot(page, "schedule-source-preview")
    assert rest.call("GET", f"/schedules/items?channel={channel}")["total"] == 0  # nothing saved
    assert any(r.startswith("/calendar.aspx") for r in city.requests)
    assert src["id"] > 0
