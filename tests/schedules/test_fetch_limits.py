"""Schedule downloads are capped, deadline-bound and policy-checked; errors echo no body."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from castwatch.common.db import transaction
from castwatch.common.egress import EgressPolicy
from castwatch.common.models import ScheduleSource
from castwatch.schedules import cablecast, ical, meetings
from castwatch.schedules.http import ScheduleHttp
from castwatch.schedules.items import ScheduleError
from castwatch.schedules.service import ScheduleService
from castwatch.schedules.settings import ScheduleSettings
from tests.support.egress import LOOPBACK
from tests.support.hostile import SECRET, HostileOrigin

NOW = datetime(2026, 1, 5, 12, tzinfo=UTC)
END = NOW + timedelta(days=14)
HTTP = ScheduleHttp(LOOPBACK, max_bytes=2 * 1024 * 1024, deadline_s=2.5)


@pytest.fixture(scope="module")
def origin() -> Iterator[HostileOrigin]:
    with HostileOrigin() as o:
        yield o


def test_an_endless_calendar_stops_at_the_cap(origin: HostileOrigin) -> None:
    with pytest.raises(ScheduleError, match=r"^ical: too large: more than 2097152 bytes"):
        ical.fetch(f"{origin.url}/endless.m3u8", {}, NOW, END, http=HTTP)


def test_a_gzip_bombed_pdf_agenda_stops_at_the_cap_after_decompression(origin: HostileOrigin) -> None:
    start = time.monotonic()
    with pytest.raises(ScheduleError, match=r"^pdf: too large: more than 2097152 bytes"):
        meetings.fetch(f"{origin.url}/bomb.m3u8", {}, NOW, END, pdf=True, http=HTTP)
    assert time.monotonic() - start < 5


def test_a_slowloris_schedule_server_is_cut_at_the_deadline(origin: HostileOrigin) -> None:
    start = time.monotonic()
    with pytest.raises(ScheduleError, match=r"^html: timeout: answer not complete within 2.5 s"):
        meetings.fetch(f"{origin.url}/slow.m3u8", {}, NOW, END, pdf=False, http=HTTP)
    assert time.monotonic() - start < 3.5


def test_error_pages_and_non_json_replies_are_described_not_quoted(origin: HostileOrigin) -> None:
    with pytest.raises(ScheduleError) as page:
        meetings.fetch(f"{origin.url}/secret.m3u8", {}, NOW, END, pdf=False, http=HTTP)
    assert str(page.value) == "html: HTTP 500 (text/html)"
    with pytest.raises(ScheduleError) as reply:
        cablecast.fetch(origin.url, {"cablecast_channel": 1}, NOW, END, http=HTTP)
    assert str(reply.value).startswith("cablecast: not JSON (text/html, ")
    assert SECRET not in str(reply.value)


def test_sources_on_refused_addresses_are_never_fetched(origin: HostileOrigin) -> None:
    with pytest.raises(ScheduleError, match=r"^ical: refused by egress policy \(loopback\)$"):
        ical.fetch(f"{origin.url}/ok", {}, NOW, END, http=ScheduleHttp(EgressPolicy()))
    with pytest.raises(ScheduleError, match=r"^ical: refused by egress policy \(link-local\)$"):
        ical.fetch(f"{origin.url}/redirect/1?to=http://169.254.169.254/", {}, NOW, END, http=HTTP)


def test_the_service_records_a_refused_source_and_a_parser_error_without_quoting_the_document(
        origin: HostileOrigin, council: dict[str, Any], session_factory: sessionmaker[Session]) -> None:
    settings = ScheduleSettings(egress=LOOPBACK, schedule_max_bytes=1024 * 1024, schedule_fetch_timeout_s=5)
    with transaction(session_factory) as s:
        metadata = ScheduleSource(name="meta", kind="ical", channel_id=council["channel"],
                                  url="http://169.254.169.254/latest/meta-data/")
        page = ScheduleSource(name="page", kind="ical", channel_id=council["channel"],
                              url=f"{origin.url}/secret")
        s.add_all([metadata, page])
    service = ScheduleService(session_factory, settings)
    assert service.import_due() == 0
    with session_factory() as s:
        errors = {src.name: src.last_error or "" for src in s.scalars(select(ScheduleSource))}
    assert errors["meta"] == "ical: refused by egress policy (link-local)"
    assert errors["page"] == "ical: not a calendar (69 bytes)"  # nothing of the page quoted
