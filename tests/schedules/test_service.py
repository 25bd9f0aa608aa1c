"""The schedule monitor on the real database: import, off-air suppression, meeting not live."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from castwatch.common import alerts
from castwatch.common.db import transaction
from castwatch.common.models import (
    Alert,
    Delivery,
    Encoder,
    Incident,
    MaintenanceWindow,
    NotificationRule,
    Recipient,
    ScheduleItem,
    ScheduleSource,
    utcnow,
)
from castwatch.incidents.correlator import Correlator
from castwatch.incidents.known_issues import load_library
from castwatch.incidents.settings import IncidentSettings
from castwatch.notifier.planner import Planner
from castwatch.schedules.check import ALERT_TYPE, SOURCE_FAILING_TYPE
from castwatch.schedules.service import ScheduleService
from castwatch.schedules.settings import ScheduleSettings
from castwatch.simulators.schedules.server import ScheduleSimulator
from tests.schedules.documents import dateless_pdf, legistar_html, redesigned_html
from tests.support.egress import LOOPBACK

SETTINGS = ScheduleSettings(not_live_lead_min=15, schedule_import_interval_s=60, egress=LOOPBACK)


def _source(factory: sessionmaker[Session], channel: int, kind: str, url: str, **options: Any) -> int:
    with transaction(factory) as s:
        src = ScheduleSource(name=f"{kind}-src", kind=kind, url=url, channel_id=channel, options=options)
        s.add(src)
        s.flush()
        return src.id


def _service(factory: sessionmaker[Session], at: Callable[[], datetime] = utcnow) -> ScheduleService:
    return ScheduleService(factory, SETTINGS, clock=at)


def test_import_stores_items_and_mirrors_off_air_as_a_maintenance_window(
    sim: ScheduleSimulator, council: dict[str, Any], session_factory: sessionmaker[Session],
) -> None:
    src = _source(session_factory, council["channel"], "cablecast", sim.url, cablecast_channel=1)
    service = _service(session_factory)
    assert service.import_due() == 1
    assert service.import_due() == 0  # not due again before the interval
    with session_factory() as s:
        kinds = sorted(s.scalars(select(ScheduleItem.kind).where(ScheduleItem.source_id == src)))
        assert kinds == ["live_event", "live_event", "off_air", "show"]
        (window,) = s.scalars(select(MaintenanceWindow)).all()
        assert window.channel_ids == [council["channel"]] and window.created_by == "schedule"
        assert "planned off-air" in (window.reason or "")
    assert service.import_source(src)  # re-import replaces, does not duplicate
    with session_factory() as s:
        assert len(s.scalars(select(ScheduleItem)).all()) == 4
        assert len(s.scalars(select(MaintenanceWindow)).all()) == 1


def test_a_failing_source_keeps_its_items_and_records_the_error(
    sim: ScheduleSimulator, council: dict[str, Any], session_factory: sessionmaker[Session],
) -> None:
    src = _source(session_factory, council["channel"], "ical", f"{sim.url}/calendar.ics")
    service = _service(session_factory)
    assert service.import_source(src)
    sim.fail = True
    assert not service.import_source(src)
    with session_factory() as s:
        row = s.get(ScheduleSource, src)
        assert row is not None and "503" in (row.last_error or "")
        assert len(s.scalars(select(ScheduleItem)).all()) > 0


def _meeting(factory: sessionmaker[Session], channel: int, starts_at: datetime, minutes: int = 120) -> None:
    src = _source(factory, channel, "html", "http://127.0.0.1:9/m.html")
    with transaction(factory) as s:
        s.add(ScheduleItem(source_id=src, channel_id=channel, external_id="m1", title="City Council Meeting",
                           kind="live_event", starts_at=starts_at,
                           ends_at=starts_at + timedelta(minutes=minutes)))


def _open_not_live(factory: sessionmaker[Session]) -> list[Alert]:
    with factory() as s:
        return list(s.scalars(select(Alert).where(Alert.alert_type == ALERT_TYPE, Alert.state != "resolved")))


def test_meeting_not_live_fires_before_the_meeting_not_after(
    council: dict[str, Any], session_factory: sessionmaker[Session],
) -> None:
    start = utcnow().replace(microsecond=0) + timedelta(hours=1)
    _meeting(session_factory, council["channel"], start)
    assert _service(session_factory, lambda: start - timedelta(minutes=30)).check() == 0
    assert _open_not_live(session_factory) == []
    assert _service(session_factory, lambda: start - timedelta(minutes=10)).check() == 1
    (alert,) = _open_not_live(session_factory)
    assert alert.severity == "critical" and alert.source == "schedule"
    assert alert.channel_id == council["channel"] and "starts in 10 min" in alert.summary
    assert alert.opened_at < start
    assert _service(session_factory, lambda: start + timedelta(hours=3)).check() == 1  # over: cleared
    assert _open_not_live(session_factory) == []


def test_meeting_alert_clears_when_the_encoder_goes_live_and_is_never_raised_after_the_meeting(
    council: dict[str, Any], session_factory: sessionmaker[Session],
) -> None:
    start = utcnow().replace(microsecond=0) + timedelta(hours=1)
    _meeting(session_factory, council["channel"], start)
    _service(session_factory, lambda: start - timedelta(minutes=5)).check()
    assert len(_open_not_live(session_factory)) == 1
    with transaction(session_factory) as s:
        s.execute(update(Encoder).where(Encoder.id == council["main"]).values(state="live"))
    assert _service(session_factory, lambda: start - timedelta(minutes=4)).check() == 1
    assert _open_not_live(session_factory) == []
    with transaction(session_factory) as s:
        s.execute(update(Encoder).where(Encoder.id == council["main"]).values(state="idle"))
    assert _service(session_factory, lambda: start + timedelta(minutes=121)).check() == 0
    assert _open_not_live(session_factory) == []


def test_the_meeting_alert_goes_to_cablecasters_first(
    council: dict[str, Any], session_factory: sessionmaker[Session],
) -> None:
    start = utcnow().replace(microsecond=0) + timedelta(minutes=10)
    _meeting(session_factory, council["channel"], start)
    service = _service(session_factory)
    assert service.ensure_rule() and not service.ensure_rule()
    service.check()
    Planner(session_factory).plan_pending()
    with session_factory() as s:
        rows = s.execute(select(Delivery.recipient_id, Delivery.status, Delivery.next_attempt_at)).all()
        names = {r.id: r.name for r in s.scalars(select(Recipient))}
    assert {names[r] for r, _, _ in rows} == {"Cara"}  # the cablecaster; the engineer on escalation
    assert {status for _, status, _ in rows} == {"pending"}


def test_planned_off_air_suppresses_the_channels_messages_and_downgrades_its_incident(
    sim: ScheduleSimulator, council: dict[str, Any], session_factory: sessionmaker[Session],
) -> None:
    now = utcnow()
    src = _source(session_factory, council["channel"], "cablecast", sim.url, cablecast_channel=1)
    _service(session_factory).import_source(src)
    with transaction(session_factory) as s:  # move the imported off-air time (and its window) to now
        item = s.scalars(select(ScheduleItem).where(ScheduleItem.kind == "off_air")).one()
        item.starts_at, item.ends_at = now - timedelta(minutes=1), now + timedelta(minutes=44)
        window = s.scalars(select(MaintenanceWindow)).one()
        window.starts_at, window.ends_at = item.starts_at, item.ends_at
        alerts.fire(s, alerts.AlertKey("probe", "COUNCIL", "PLAYLIST_STALE"), severity="critical",
                    summary="stale", channel_id=council["channel"])
        s.add(_rule())
    Planner(session_factory).plan_pending()
    Correlator(session_factory, load_library()).run_once()
    with session_factory() as s:
        assert {d.status for d in s.scalars(select(Delivery))} == {"suppressed"}
        inc = s.scalars(select(Incident)).one()
        assert inc.planned_off_air and inc.severity == "info"


def _rule() -> NotificationRule:
    return NotificationRule(name="everything", roles=["cablecaster", "engineer"], transports=["email"])


def test_settings_have_defaults_and_read_their_variables() -> None:
    env = {"SCHEDULE_NOT_LIVE_LEAD_MIN": "20", "INCIDENTS_WINDOW_S": "30"}
    s = IncidentSettings.from_env(env)
    assert ScheduleSettings.from_env(env).not_live_lead_min == 20 and s.window_s == 30
    assert dataclasses.replace(s, window_s=5).window_s == 5
    assert IncidentSettings.from_env({}).metrics_bind == ("127.0.0.1", 9104)


# --- believing only what reads right (issue #16) -------------------------------------------

CHI = ZoneInfo("America/Chicago")


def _rows(*meetings: tuple[str, datetime, bool]) -> bytes:
    """A Legistar page with (body, start, cancelled) rows; times in Chicago."""
    return legistar_html([
        (body, at.astimezone(CHI), "Canceled" if off else f"{at.astimezone(CHI):%-I:%M %p}",
         "Council Chambers<br/><em>CANCELLED</em>" if off else "Council Chambers")
        for body, at, off in meetings])


def _failing(factory: sessionmaker[Session]) -> list[Alert]:
    with factory() as s:
        return list(s.scalars(select(Alert).where(Alert.alert_type == SOURCE_FAILING_TYPE)))


def test_a_page_that_lost_its_table_keeps_the_old_items_fails_and_alerts_until_a_good_import(
    sim: ScheduleSimulator, council: dict[str, Any], session_factory: sessionmaker[Session],
) -> None:
    now = utcnow().replace(second=0, microsecond=0)
    good = _rows(("City Council", now + timedelta(days=2), False),
                 ("Planning Commission", now + timedelta(days=3), False))
    sim.documents["/calendar.aspx"] = ("text/html", good)
    src = _source(session_factory, council["channel"], "html", f"{sim.url}/calendar.aspx")
    src_row_timezone(session_factory, src, "America/Chicago")
    service = _service(session_factory)
    assert service.import_source(src)
    sim.documents["/calendar.aspx"] = ("text/html", redesigned_html())
    assert not service.import_source(src)
    with session_factory() as s:
        row = s.get(ScheduleSource, src)
        assert row is not None
        assert "found nothing where the last good import found 2" in (row.last_error or "")
        assert sorted(s.scalars(select(ScheduleItem.title))) == ["City Council", "Planning Commission"]
    (alert,) = _failing(session_factory)
    assert alert.state == "firing" and alert.severity == "minor" and alert.source == "schedule"
    assert alert.subject == "html-src" and alert.channel_id == council["channel"]
    assert "<" not in alert.summary  # nothing of the page is echoed
    # a page that keeps a dated line but lost its table is no better
    sim.documents["/calendar.aspx"] = ("text/html", b"<p>City Council meeting January 12, 2027 6:00 PM</p>")
    assert not service.import_source(src)
    with session_factory() as s:
        assert "lost its table" in (s.get(ScheduleSource, src).last_error or "")  # type: ignore[union-attr]
    sim.documents["/calendar.aspx"] = ("text/html", good)
    assert service.import_source(src)
    (alert,) = _failing(session_factory)
    assert alert.state == "resolved"
    with session_factory() as s:
        row = s.get(ScheduleSource, src)
        assert row is not None and row.last_error is None and row.last_import_stats["tables"] == 1


def src_row_timezone(factory: sessionmaker[Session], source_id: int, tz: str) -> None:
    with transaction(factory) as s:
        row = s.get(ScheduleSource, source_id)
        assert row is not None
        row.timezone = tz


def test_a_pdf_agenda_without_a_meeting_date_is_a_failed_import(
    sim: ScheduleSimulator, council: dict[str, Any], session_factory: sessionmaker[Session],
) -> None:
    sim.documents["/agenda-2027-01.pdf"] = ("application/pdf", dateless_pdf())
    src = _source(session_factory, council["channel"], "pdf", f"{sim.url}/agenda-2027-01.pdf")
    service = _service(session_factory)
    assert service.ensure_rule()
    assert not service.import_source(src)
    with session_factory() as s:
        assert (s.get(ScheduleSource, src).last_error or "").startswith("no meeting date")  # type: ignore[union-attr]
    assert [a.state for a in _failing(session_factory)] == ["firing"]
    Planner(session_factory).plan_pending()  # the default rule tells the cablecasters, by email
    with session_factory() as s:
        rows = s.execute(select(Recipient.name, Delivery.transport).join(
            Recipient, Recipient.id == Delivery.recipient_id)).tuples().all()
    assert rows == [("Cara", "email")]


def test_a_cancelled_meeting_never_raises_not_live_and_cancelling_clears_an_open_alert(
    sim: ScheduleSimulator, council: dict[str, Any], session_factory: sessionmaker[Session],
) -> None:
    now = utcnow().replace(second=0, microsecond=0)
    soon, later = now + timedelta(minutes=10), now + timedelta(minutes=12)
    sim.documents["/calendar.aspx"] = ("text/html", _rows(("City Council", soon, False),
                                                          ("Planning Commission", later, True)))
    src = _source(session_factory, council["channel"], "html", f"{sim.url}/calendar.aspx")
    src_row_timezone(session_factory, src, "America/Chicago")
    service = _service(session_factory, lambda: now)
    assert service.import_source(src)
    with session_factory() as s:
        statuses = dict(s.execute(select(ScheduleItem.title, ScheduleItem.status)).tuples().all())
    assert statuses == {"City Council": "scheduled", "Planning Commission": "cancelled"}
    assert service.check() == 1  # the council meeting; the cancelled commission never
    (alert,) = _open_not_live(session_factory)
    assert alert.subject.startswith("COUNCIL@") and "City Council" in alert.summary
    sim.documents["/calendar.aspx"] = ("text/html", _rows(("City Council", soon, True),
                                                          ("Planning Commission", later, True)))
    assert service.import_source(src)
    assert service.check() == 1 and _open_not_live(session_factory) == []
    assert _service(session_factory, lambda: soon + timedelta(minutes=1)).check() == 0


def test_a_sources_time_zone_reads_cablecast_local_run_times(
    sim: ScheduleSimulator, council: dict[str, Any], session_factory: sessionmaker[Session],
) -> None:
    local = (utcnow() + timedelta(days=1)).astimezone(CHI).replace(minute=0, second=0, microsecond=0)
    page = {"scheduleItems": [{"id": 7, "channel": 1, "show": 1,
                               "runDateTime": local.replace(tzinfo=None).isoformat()}],
            "shows": [{"id": 1, "cgTitle": "City Council", "totalRunTime": 3600}], "reels": []}
    sim.documents["/cablecastapi/v1/scheduleitems"] = ("application/json", json.dumps(page).encode())
    src = _source(session_factory, council["channel"], "cablecast", sim.url, cablecast_channel=1)
    src_row_timezone(session_factory, src, "America/Chicago")
    assert _service(session_factory).import_source(src)
    with session_factory() as s:
        (starts,) = s.scalars(select(ScheduleItem.starts_at))
    assert starts == local
