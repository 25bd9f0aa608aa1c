"""Each importer against the simulated source over real HTTP on loopback."""

from __future__ import annotations

from datetime import timedelta

import pytest

from castwatch.schedules import cablecast, ical, meetings
from castwatch.schedules.http import ScheduleHttp
from castwatch.schedules.items import ScheduleError, classify
from castwatch.simulators.schedules.server import ScheduleSimulator
from tests.support.egress import LOOPBACK

CHICAGO = {"timezone": "America/Chicago"}
HTTP = ScheduleHttp(LOOPBACK)


def test_cablecast_items_get_their_show_lengths_from_run_time_or_reels_across_pages(
    sim: ScheduleSimulator, now,  # type: ignore[no-untyped-def]
) -> None:
    items = cablecast.fetch(sim.url, {"cablecast_channel": 1}, now - timedelta(days=1),
                            now + timedelta(days=14), page_size=2, http=HTTP).items
    assert [i.title for i in items] == ["Library Story Hour", "Off Air - transmitter work",
                                        "City Council Meeting", "Planning Commission"]
    assert [(i.ends_at - i.starts_at).total_seconds() / 60 for i in items] == [30, 45, 120, 90]
    assert [i.kind for i in items] == ["show", "off_air", "live_event", "live_event"]
    pages = [r for r in sim.requests if r.startswith("/cablecastapi/v1/scheduleitems")]
    assert len(pages) == 3 and "channel=1" in pages[0] and "start=" in pages[0]


def test_cablecast_needs_its_channel_and_reports_a_down_server(sim: ScheduleSimulator, now) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ScheduleError, match="cablecast_channel"):
        cablecast.fetch(sim.url, {}, now, now + timedelta(days=1), http=HTTP)
    sim.fail = True
    with pytest.raises(ScheduleError, match="503"):
        cablecast.fetch(sim.url, {"cablecast_channel": 1}, now, now + timedelta(days=1), http=HTTP)


def test_ical_events_and_weekly_recurrences_in_the_window(sim: ScheduleSimulator, now) -> None:  # type: ignore[no-untyped-def]
    items = ical.fetch(f"{sim.url}/calendar.ics", {}, now - timedelta(days=1), now + timedelta(days=14),
                       http=HTTP).items
    titles = [i.title for i in items]
    assert titles.count("Weekly Board Session") == 2  # days 1 and 8 of COUNT=4 weekly
    assert "Old Show" not in titles and "City Council Meeting" in titles
    board = [i for i in items if i.title == "Weekly Board Session"]
    assert board[1].starts_at - board[0].starts_at == timedelta(days=7)
    assert board[0].kind == "live_event" and len({i.external_id for i in items}) == len(items)


def test_a_city_meetings_page_is_read_by_the_fallback(sim: ScheduleSimulator, now) -> None:  # type: ignore[no-untyped-def]
    items = meetings.fetch(f"{sim.url}/meetings.html", CHICAGO, now, now + timedelta(days=14),
                           pdf=False, http=HTTP).items
    council = next(i for i in items if i.title == "City Council Meeting")
    assert council.kind == "live_event" and council.starts_at.strftime("%H:%M") == "19:30"
    assert council.details["found_by"] == "fallback"
    assert all(i.starts_at.year > 2000 for i in items)  # the script's date is not a meeting


def test_a_non_standard_page_is_read_by_the_fallback_too(sim: ScheduleSimulator, now) -> None:  # type: ignore[no-untyped-def]
    items = meetings.fetch(f"{sim.url}/meetings-odd.html", CHICAGO, now, now + timedelta(days=14),
                           pdf=False, http=HTTP).items
    council = next(i for i in items if i.title == "City Council Meeting")
    assert council.starts_at.strftime("%H") == "19"  # "7pm" on a "Mon 1/5/26" line


def test_a_source_pattern_reads_a_pdf_agenda_with_date_and_time_on_separate_lines(
    sim: ScheduleSimulator, now,  # type: ignore[no-untyped-def]
) -> None:
    options = CHICAGO | {
        "pattern": r"MEETING OF THE (?P<title>[A-Z ]+)\n\w+, (?P<date>\w+ \d{1,2}, \d{4})\n"
                   r"(?P<time>[\d:]+ [AP]\.M\.)",
        "date_format": "%B %d, %Y", "time_format": "%I:%M %p"}
    (item,) = meetings.fetch(f"{sim.url}/agenda.pdf", options, now, now + timedelta(days=14), pdf=True,
                             http=HTTP).items
    assert item.title == "CITY COUNCIL MEETING" and item.starts_at.strftime("%H:%M") == "19:30"
    assert item.details["found_by"] == "pattern"
    (fallback,) = meetings.fetch(f"{sim.url}/agenda.pdf", CHICAGO, now, now + timedelta(days=14),
                                 pdf=True, http=HTTP).items
    assert fallback.starts_at == item.starts_at and fallback.details["found_by"] == "fallback"


def test_a_bad_pattern_or_a_broken_pdf_is_a_schedule_error() -> None:
    with pytest.raises(ScheduleError, match="named group"):
        meetings.parse_meetings("x", {"pattern": "(\\d+)"}, *_window())
    with pytest.raises(ScheduleError, match="pdf"):
        meetings.pdf_text(b"%PDF-1.4 nonsense")
    with pytest.raises(ScheduleError, match="live_pattern"):
        classify("x", {"live_pattern": "("})


def _window():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime
    return datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
