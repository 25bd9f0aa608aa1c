"""The importers on documents written the way real producers write them (tests/schedules/documents.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from castwatch.schedules import cablecast, ical, meetings
from castwatch.schedules.items import ScheduleError
from tests.schedules.documents import (
    GOOGLE_ICS,
    OUTLOOK_ICS,
    agenda_pdf,
    legistar_html,
    redesigned_html,
)

CHI = ZoneInfo("America/Chicago")
AUTUMN = (datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
WINTER = (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC))


def utc(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def test_outlook_exdate_recurrence_id_cancelled_instance_and_dst_are_honoured() -> None:
    parsed = ical.parse_ical(OUTLOOK_ICS, {"timezone": "America/Chicago"}, *AUTUMN)
    council = [(i.starts_at.astimezone(UTC), i.status, i.title) for i in parsed.items]
    assert council == [
        (utc(2026, 10, 21, 0), "scheduled", "City Council Meeting"),  # 19:00 CDT
        # 27 Oct removed by EXDATE; 3 Nov moved to 4 Nov 18:00 CST by its RECURRENCE-ID override
        (utc(2026, 11, 5, 0), "scheduled", "City Council Meeting (moved: Election Day)"),
        (utc(2026, 11, 11, 1), "cancelled", "Canceled: City Council Meeting"),  # STATUS:CANCELLED
        (utc(2026, 11, 18, 1), "scheduled", "City Council Meeting"),  # 19:00 CST after DST ended
        (utc(2026, 11, 25, 1), "scheduled", "City Council Meeting"),
    ]
    assert all(i.kind == "live_event" for i in parsed.items)
    assert [(i.text, i.reason) for i in parsed.ignored] == [
        ("Veterans Day - City Hall closed (2026-11-11)", "all-day event: no start time to broadcast")]
    assert parsed.stats["found"] == 4


def test_outlook_windows_zone_names_resolve_without_a_vtimezone_too() -> None:
    bare = OUTLOOK_ICS.split(b"BEGIN:VTIMEZONE")[0] + OUTLOOK_ICS.split(b"END:VTIMEZONE\r\n")[1]
    parsed = ical.parse_ical(bare, {}, *AUTUMN)
    assert parsed.items[0].starts_at.astimezone(UTC) == utc(2026, 10, 21, 0)
    assert parsed.items[-1].starts_at.astimezone(UTC) == utc(2026, 11, 25, 1)


def test_rdate_adds_and_a_thisandfuture_override_moves_every_later_occurrence() -> None:
    ics = b"\r\n".join([
        b"BEGIN:VCALENDAR", b"VERSION:2.0", b"BEGIN:VEVENT", b"UID:board",
        b"DTSTART;TZID=America/Chicago:20261006T190000", b"DURATION:PT2H", b"RRULE:FREQ=WEEKLY;COUNT=5",
        b"RDATE;TZID=America/Chicago:20261009T100000", b"SUMMARY:School Board", b"END:VEVENT",
        b"BEGIN:VEVENT", b"UID:board",
        b"RECURRENCE-ID;RANGE=THISANDFUTURE;TZID=America/Chicago:20261020T190000",
        b"DTSTART;TZID=America/Chicago:20261020T180000", b"DURATION:PT2H", b"SUMMARY:School Board (new time)",
        b"END:VEVENT", b"END:VCALENDAR", b""])
    items = ical.parse_ical(ics, {}, *AUTUMN).items
    local = [i.starts_at.astimezone(CHI).strftime("%m-%d %H:%M") for i in items]
    assert local == ["10-06 19:00", "10-09 10:00", "10-13 19:00", "10-20 18:00", "10-27 18:00", "11-03 18:00"]


def test_a_google_export_keeps_its_local_time_across_dst_by_x_wr_timezone() -> None:
    parsed = ical.parse_ical(GOOGLE_ICS, {}, *AUTUMN)
    local = [i.starts_at.astimezone(CHI).strftime("%m-%d %H:%M") for i in parsed.items]
    assert local == ["10-19 19:00", "10-26 19:00", "11-02 19:00", "11-09 19:00"]


def test_an_all_day_off_air_is_kept_and_runaway_rules_are_refused() -> None:
    ics = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART;VALUE=DATE:20261102\r\n"
           b"SUMMARY:Off Air - tower work\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:b\r\n"
           b"DTSTART:20200101T000000Z\r\nDURATION:PT1M\r\nRRULE:FREQ=MINUTELY\r\nSUMMARY:spam\r\n"
           b"END:VEVENT\r\nEND:VCALENDAR\r\n")
    parsed = ical.parse_ical(ics, {"timezone": "America/Chicago"}, *AUTUMN)
    (off,) = parsed.items
    assert off.kind == "off_air" and off.ends_at - off.starts_at == (utc(2026, 11, 3) - utc(2026, 11, 2))
    assert [i.reason for i in parsed.ignored] == ["recurs minutely: not a broadcast schedule"]
    with pytest.raises(ScheduleError, match="time zone"):
        ical.parse_ical(ics, {"timezone": "Mars/Olympus"}, *AUTUMN)


def test_a_broken_or_runaway_calendar_costs_only_its_bad_events() -> None:
    def vevent(uid: str, *lines: str) -> str:
        return "\r\n".join(["BEGIN:VEVENT", f"UID:{uid}", f"SUMMARY:{uid}", *lines, "END:VEVENT"]) + "\r\n"

    body = vevent("good", "DTSTART:20261005T230000Z")  # no DTEND/DURATION: the default length
    body += vevent("broken", "DTSTART:yesterday")
    body += vevent("bad-rule", "DTSTART:20261005T230000Z", "RRULE:FREQ=SOMETIMES")
    body += "".join(vevent(f"daily-{n}", f"DTSTART:20070101T{n % 24:02d}0000Z", "DURATION:PT30M",
                           "RRULE:FREQ=DAILY") for n in range(40))
    data = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nX-WR-TIMEZONE:Nowhere/Zone\r\n" + body
            + "END:VCALENDAR\r\n").encode()
    parsed = ical.parse_ical(data, {"duration_min": 45}, utc(2026, 10, 5), utc(2026, 10, 6))
    good = [i for i in parsed.items if i.title == "good"]
    assert len(good) == 1 and good[0].ends_at - good[0].starts_at == timedelta(minutes=45)
    reasons = {i.text: i.reason for i in parsed.ignored}
    assert reasons["broken"] == "unreadable DTSTART" and reasons["bad-rule"] == "unreadable RRULE"
    too_long = [t for t, r in reasons.items() if r.startswith("recurring series too long to expand")]
    expanded = {i.title for i in parsed.items} - {"good"}
    assert too_long and expanded and len(too_long) + len(expanded) == 40
    days_stepped = (utc(2026, 10, 6) - utc(2007, 1, 1)).days + 1  # each daily series since 2007
    assert len(expanded) == ical.MAX_EXPANSION // days_stepped


def _legistar() -> bytes:
    return legistar_html([
        ("City Council", datetime(2027, 1, 12, 18, tzinfo=CHI), "6:00 PM",
         "Council Chambers<br/>100 Main St"),
        ("Planning Commission", datetime(2027, 1, 14, tzinfo=CHI), "Canceled",
         "Council Chambers<br/><em>CANCELLED</em>"),
        ("Library Board", datetime(2027, 1, 19, tzinfo=CHI), "5:30 PM", "Main Library<br/><b>POSTPONED</b>"),
        ("Parks and Recreation Advisory Board", datetime(2027, 1, 21, tzinfo=CHI), "7:00 PM",
         "Community Center"),
    ])


def test_a_legistar_table_gives_its_meetings_with_cancelled_rows_as_cancelled() -> None:
    parsed = meetings.parse_document(_legistar(), {"timezone": "America/Chicago"}, *WINTER, pdf=False)
    got = [(i.title, i.starts_at.strftime("%m-%d %H:%M"), i.status) for i in parsed.items]
    assert got == [("City Council", "01-12 18:00", "scheduled"),
                   ("Planning Commission", "01-14 18:00", "cancelled"),  # no time given: default_time
                   ("Library Board", "01-19 17:30", "cancelled"),
                   ("Parks and Recreation Advisory Board", "01-21 19:00", "scheduled")]
    assert all(i.kind == "live_event" for i in parsed.items)
    reasons = {i.text: i.reason for i in parsed.ignored}
    assert reasons == {
        "Posted by the City Clerk's Office, December 1, 2026 at 4:00 PM":
            "a posting, effective or minutes date, not a meeting",
        "Ordinance 2026-31 (parking rates) takes effect January 1, 2027.":
            "a posting, effective or minutes date, not a meeting"}
    assert parsed.stats == {"found": 4, "ignored": 2, "tables": 1}


def test_a_clerks_agenda_pdf_is_one_meeting_not_its_effective_minutes_and_posting_dates() -> None:
    data = agenda_pdf(datetime(2027, 1, 11, 18, tzinfo=CHI))
    parsed = meetings.parse_document(data, {"timezone": "America/Chicago"}, *WINTER, pdf=True)
    (item,) = parsed.items
    assert item.title == "City Council" and item.starts_at == datetime(2027, 1, 11, 18, tzinfo=CHI)
    assert item.kind == "live_event" and item.status == "scheduled"
    assert len(parsed.ignored) == 4 and all("not a meeting" in i.reason for i in parsed.ignored)
    assert any("TAKE EFFECT" in i.text for i in parsed.ignored)


@pytest.mark.parametrize(("line", "reason"), [
    ("Ordinance 12 takes effect January 1, 2027 at 12:01 AM", "not a meeting"),
    ("Holiday tree lighting December 5, 2026 6:00 PM", "no meeting word"),
    ("City Council budget workshop January 5, 2027", "without a time"),
    ("Council agenda posted December 1, 2026 4:00 PM", "not a meeting"),
    ("MEETING OF THE CITY COUNCIL\nMonday, January 11, 2027\n4. Item on the 7:00 PM bus schedule",
     "without a time"),  # a body line's time is no heading's time
])
def test_dated_lines_that_are_not_meeting_announcements_are_ignored_with_a_reason(
    line: str, reason: str,
) -> None:
    parsed = meetings.parse_meetings(line, {}, *WINTER)
    assert parsed.items == [] and reason in parsed.ignored[0].reason


def test_a_body_name_makes_a_line_a_meeting_and_a_posting_date_does_not_take_its_time() -> None:
    opts = {"body": ["Springfield Tree Board"], "timezone": "America/Chicago"}
    (tree,) = meetings.parse_meetings("Springfield Tree Board: Tuesday 1/5/2027 at 5 pm", opts, *WINTER).items
    assert tree.starts_at.strftime("%H:%M") == "17:00"
    line = "Agenda posted December 1, 2026 4:00 PM for the City Council meeting of January 12, 2027, 6 p.m."
    (council,) = meetings.parse_meetings(line, opts, *WINTER).items
    assert council.starts_at == datetime(2027, 1, 12, 18, tzinfo=CHI)


def test_a_redesigned_page_parses_into_nothing_and_says_so() -> None:
    parsed = meetings.parse_document(redesigned_html(), {}, *WINTER, pdf=False)
    assert parsed.items == [] and parsed.stats == {"found": 0, "ignored": 1, "tables": 0}


def test_cablecast_local_run_times_are_read_in_the_sources_zone() -> None:
    page = {"scheduleItems": [{"id": 1, "show": 1, "runDateTime": "2026-11-03T19:00:00"},
                              {"id": 2, "show": 1, "runDateTime": "2026-11-04T01:00:00Z"},
                              {"id": 3, "show": 1, "runDateTime": "2026-11-05T19:00:00", "deleted": True}],
            "shows": [{"id": 1, "cgTitle": "City Council", "totalRunTime": 7200}]}
    parsed = cablecast.parse_scheduleitems([page], {"timezone": "America/Chicago"})
    assert [i.starts_at.astimezone(UTC) for i in parsed.items] == [utc(2026, 11, 4, 1)] * 2
    assert [i.reason for i in parsed.ignored] == ["deleted in Cablecast"]
    utc_read = cablecast.parse_scheduleitems([page], {})
    assert utc_read.items[0].starts_at == utc(2026, 11, 3, 19)
    with pytest.raises(ScheduleError, match="ISO 8601"):
        cablecast.parse_scheduleitems([{"scheduleItems": [{"id": 9, "runDateTime": "Tuesday"}]}], {})
