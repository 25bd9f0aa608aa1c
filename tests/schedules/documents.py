"""Schedule documents written the way their producers write them: an Outlook export (Windows
zone names, VTIMEZONE, DST, RRULE + EXDATE + RECURRENCE-ID + a cancelled instance + an
all-day event), a Google Calendar export (X-WR-TIMEZONE, UTC times), a Legistar meetings
calendar (a table, cancelled and postponed rows, a posting line, an effective date) and a
clerk's agenda PDF (effective, minutes and posting dates in its body)."""

from __future__ import annotations

from datetime import datetime

from castwatch.simulators.schedules.content import minimal_pdf

OUTLOOK_ICS = b"""BEGIN:VCALENDAR\r
PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN\r
VERSION:2.0\r
METHOD:PUBLISH\r
X-MS-OLK-FORCEINSPECTOROPEN:TRUE\r
BEGIN:VTIMEZONE\r
TZID:Central Standard Time\r
BEGIN:STANDARD\r
DTSTART:16011104T020000\r
RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11\r
TZOFFSETFROM:-0500\r
TZOFFSETTO:-0600\r
END:STANDARD\r
BEGIN:DAYLIGHT\r
DTSTART:16010311T020000\r
RRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3\r
TZOFFSETFROM:-0600\r
TZOFFSETTO:-0500\r
END:DAYLIGHT\r
END:VTIMEZONE\r
BEGIN:VEVENT\r
CLASS:PUBLIC\r
CREATED:20260901T150000Z\r
DESCRIPTION:Regular meeting of the City Council.\\n\r
DTEND;TZID=Central Standard Time:20261020T210000\r
DTSTAMP:20261001T120000Z\r
DTSTART;TZID=Central Standard Time:20261020T190000\r
EXDATE;TZID=Central Standard Time:20261027T190000\r
LOCATION:Council Chambers\r
PRIORITY:5\r
RRULE:FREQ=WEEKLY;UNTIL=20261201T010000Z;BYDAY=TU\r
SEQUENCE:2\r
SUMMARY;LANGUAGE=en-us:City Council Meeting\r
TRANSP:OPAQUE\r
UID:040000008200E00074C5B7101A82E00800000000C0DF2D3A9F2DDD01000000000000000010000000\r
X-MICROSOFT-CDO-BUSYSTATUS:BUSY\r
END:VEVENT\r
BEGIN:VEVENT\r
DTEND;TZID=Central Standard Time:20261104T200000\r
DTSTAMP:20261001T120000Z\r
DTSTART;TZID=Central Standard Time:20261104T180000\r
LOCATION:Council Chambers\r
RECURRENCE-ID;TZID=Central Standard Time:20261103T190000\r
SEQUENCE:3\r
SUMMARY;LANGUAGE=en-us:City Council Meeting (moved: Election Day)\r
UID:040000008200E00074C5B7101A82E00800000000C0DF2D3A9F2DDD01000000000000000010000000\r
END:VEVENT\r
BEGIN:VEVENT\r
DTEND;TZID=Central Standard Time:20261110T210000\r
DTSTAMP:20261001T120000Z\r
DTSTART;TZID=Central Standard Time:20261110T190000\r
RECURRENCE-ID;TZID=Central Standard Time:20261110T190000\r
SEQUENCE:4\r
STATUS:CANCELLED\r
SUMMARY;LANGUAGE=en-us:Canceled: City Council Meeting\r
UID:040000008200E00074C5B7101A82E00800000000C0DF2D3A9F2DDD01000000000000000010000000\r
END:VEVENT\r
BEGIN:VEVENT\r
DTEND;VALUE=DATE:20261112\r
DTSTAMP:20261001T120000Z\r
DTSTART;VALUE=DATE:20261111\r
SUMMARY;LANGUAGE=en-us:Veterans Day - City Hall closed\r
UID:holiday-veterans-2026\r
X-MICROSOFT-CDO-ALLDAYEVENT:TRUE\r
END:VEVENT\r
END:VCALENDAR\r
"""

GOOGLE_ICS = b"""BEGIN:VCALENDAR\r
PRODID:-//Google Inc//Google Calendar 70.9054//EN\r
VERSION:2.0\r
CALSCALE:GREGORIAN\r
METHOD:PUBLISH\r
X-WR-CALNAME:Springfield Public Meetings\r
X-WR-TIMEZONE:America/Chicago\r
BEGIN:VEVENT\r
DTSTART:20261020T000000Z\r
DTEND:20261020T020000Z\r
RRULE:FREQ=WEEKLY;COUNT=4\r
DTSTAMP:20261001T120000Z\r
UID:5k2f9d0q1r@google.com\r
SUMMARY:Board of Education\r
STATUS:CONFIRMED\r
END:VEVENT\r
END:VCALENDAR\r
"""


def legistar_html(rows: list[tuple[str, datetime, str, str]]) -> bytes:
    """A Legistar calendar page: ``rows`` of (body, local start, time cell, location cell);
    a posting line and an ordinance's effective date around the table, a script date."""
    trs = "".join(
        f'<tr class="{"rgAltRow" if n % 2 else "rgRow"}"><td><a href="DepartmentDetail.aspx?ID={n}">'
        f'{body}</a></td><td>{when:%-m/%-d/%Y}</td><td><a href="View.ashx?M=IC&amp;ID={n}">'
        f'<img alt="Export to iCalendar" src="ical.gif"/></a></td><td><span>{time_cell}</span></td>'
        f"<td><span>{location}</span></td><td><a>Meeting&nbsp;details</a></td><td><a>Agenda</a></td>"
        "<td>Not&nbsp;available</td><td>Not&nbsp;available</td></tr>"
        for n, (body, when, time_cell, location) in enumerate(rows))
    return (
        '<!DOCTYPE html><html><head><title>City of Springfield - Calendar</title>'
        "<script>//<![CDATA[\nvar built = 'January 1, 2000 9:00 AM';\n//]]></script></head><body>"
        '<form id="aspnetForm"><div id="ctl00_divMain">'
        "<div class=\"rpContent\">Posted by the City Clerk's Office, December 1, 2026 at 4:00 PM</div>"
        "<p>Ordinance 2026-31 (parking rates) takes effect January 1, 2027.</p>"
        '<table class="rgMasterTable" id="ctl00_ContentPlaceHolder1_gridCalendar_ctl00"><thead><tr>'
        "<th>Name</th><th>Meeting Date</th><th></th><th>Meeting Time</th><th>Meeting Location</th>"
        "<th>Meeting Details</th><th>Agenda</th><th>Minutes</th><th>Video</th></tr></thead>"
        f"<tbody>{trs}</tbody></table></div></form></body></html>").encode()


def redesigned_html() -> bytes:
    """The same city's page after a redesign: the meetings moved behind a script widget."""
    return (b"<!DOCTYPE html><html><body><header>City of Springfield</header>"
            b"<main><h1>Meetings &amp; Agendas</h1><div id='calendar-widget'></div>"
            b"<p>Updated December 2, 2026. Call 555-0100 with questions.</p></main></body></html>")


def agenda_pdf(meeting: datetime) -> bytes:
    """A clerk's agenda: body, date and time on separate lines; dated items in the body."""
    return minimal_pdf([
        "CITY OF SPRINGFIELD", "REGULAR MEETING OF THE CITY COUNCIL", f"{meeting:%A, %B %-d, %Y}",
        f"{meeting:%-I:%M %p}".replace("AM", "A.M.").replace("PM", "P.M."),
        "COUNCIL CHAMBERS, 100 MAIN STREET", "AGENDA", "1. CALL TO ORDER AND ROLL CALL",
        "2. APPROVAL OF MINUTES OF DECEMBER 14, 2026",
        "3. ORDINANCE 2026-31 AMENDING PARKING RATES, TO TAKE EFFECT JANUARY 1, 2027",
        "4. RESOLUTION 2026-88 ADOPTED NOVEMBER 9, 2026 AT 7:00 P.M. - RECONSIDERATION",
        "5. PUBLIC HEARING: ZONING VARIANCE, 12 ELM STREET", "6. ADJOURNMENT",
        "Posted by the City Clerk's Office, December 1, 2026 at 4:00 PM"])


def dateless_pdf() -> bytes:
    """A PDF with no meeting date in it (a wrong link: the clerk's contact sheet)."""
    return minimal_pdf(["CITY OF SPRINGFIELD", "OFFICE OF THE CITY CLERK", "Phone 555-0100"])
