"""The schedule monitor: import sources, mirror off-air times, check upcoming live events.

Runs as ``ticks`` of the incident service (one process). Each tick is short and bounded.

- :meth:`ScheduleService.import_due` fetches every enabled source whose last import is older
  than the interval, replaces its items in the horizon, and mirrors its ``off_air`` items as
  one-off maintenance windows scoped to the channel (``created_by = "schedule"``): the
  notifier then suppresses the channel's messages during planned off-air time, and the API's
  ``/api/v1/schedules/off-air`` tells the UI. A source that cannot be fetched or parsed, or
  whose import :func:`castwatch.schedules.judge.judge` does not believe (nothing found where
  there was something, a page that lost its table, a PDF without a date), keeps its old
  items, records ``last_error`` and raises ``SCHEDULE_SOURCE_FAILING`` (minor, source
  ``schedule``, subject the source's name, on its channel); the next good import clears it.
- :meth:`ScheduleService.check` raises/clears ``SCHEDULED_EVENT_NOT_LIVE`` (critical, source
  ``schedule``) by :func:`castwatch.schedules.check.decide`; cancelled items never count, and
  an open alert whose event was cancelled or removed is cleared.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from castwatch.common import alerts
from castwatch.common.db import transaction
from castwatch.common.download import safe_text
from castwatch.common.models import (
    Alert,
    Channel,
    Encoder,
    EncoderGroup,
    MaintenanceWindow,
    NotificationRule,
    ScheduleItem,
    ScheduleSource,
    utcnow,
)
from castwatch.common.vocab import severity_of
from castwatch.schedules import cablecast, ical, meetings
from castwatch.schedules.check import (
    ALERT_TYPE,
    SOURCE,
    SOURCE_FAILING_TYPE,
    LiveEvent,
    decide,
    subject_of,
)
from castwatch.schedules.http import ScheduleHttp
from castwatch.schedules.items import Parsed, ScheduleError
from castwatch.schedules.judge import judge
from castwatch.schedules.settings import ScheduleSettings

logger = logging.getLogger(__name__)

#: The rule :meth:`ScheduleService.ensure_rule` creates when no rule names the alert type:
#: cablecasters first, at once; engineers after 10 minutes unacknowledged.
CABLECASTER_RULE = {
    "name": "Scheduled events not live → cablecasters",
    "priority": 10,
    "match": {"alert_types": [ALERT_TYPE], "sources": [SOURCE]},
    "roles": ["cablecaster"],
    "transports": ["telegram", "email"],
    "group_wait_s": 0,
    "escalation": [{"after_s": 600, "roles": ["technician", "engineer"]}],
}
#: Who hears that a schedule source is failing (its items are kept, but are going stale): the
#: cablecasters who keep the schedules, by email, without waking anyone.
SOURCE_FAILING_RULE = {
    "name": "Schedule sources failing → cablecasters",
    "priority": 20,
    "match": {"alert_types": [SOURCE_FAILING_TYPE], "sources": [SOURCE]},
    "roles": ["cablecaster"],
    "transports": ["email"],
    "group_wait_s": 60,
}
WINDOW_TAG = "schedule"


def source_options(source: ScheduleSource) -> dict[str, object]:
    """The source's options with ``timezone`` set from its ``timezone`` field when it has one."""
    options = dict(source.options or {})
    if source.timezone:
        options["timezone"] = source.timezone
    return options


def fetch_source(source: ScheduleSource, start: datetime, end: datetime,
                 http: ScheduleHttp) -> Parsed:
    options = source_options(source)
    if source.kind == "cablecast":
        return cablecast.fetch(source.url, options, start, end, http=http)
    if source.kind == "ical":
        return ical.fetch(source.url, options, start, end, http=http)
    return meetings.fetch(source.url, options, start, end, pdf=source.kind == "pdf", http=http)


@dataclass(frozen=True)
class Outcome:
    """What an import would store (``parsed``), or why it must not (``error``)."""

    parsed: Parsed | None
    error: str | None


def previous_stats(session: Session, source: ScheduleSource) -> dict[str, int]:
    """The last good import's counts; for a source imported before they were kept, its items."""
    stats = dict(source.last_import_stats or {})
    if "found" not in stats:
        stats["found"] = int(session.scalar(select(func.count()).select_from(ScheduleItem)
                                            .where(ScheduleItem.source_id == source.id)) or 0)
    return stats


def try_import(source: ScheduleSource, start: datetime, end: datetime,
               before: dict[str, int], http: ScheduleHttp) -> Outcome:
    """Fetch (through ``http``: egress policy, byte cap, deadline) and parse ``source`` for
    ``[start, end)`` and judge the result; stores nothing (the import and the API's preview
    share it)."""
    try:
        parsed = fetch_source(source, start, end, http)
    except ScheduleError as exc:
        # parser messages may quote the document: keep them short and printable
        return Outcome(None, safe_text(str(exc), 200))
    return Outcome(parsed, judge(source.kind, parsed.stats, before))


class ScheduleService:
    def __init__(self, factory: sessionmaker[Session], settings: ScheduleSettings,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self._factory = factory
        self._settings = settings
        self._clock = clock
        self._http = ScheduleHttp.from_settings(settings)

    def import_due(self) -> int:
        """Import every due source; returns how many imported successfully."""
        now = self._clock()
        interval = timedelta(seconds=self._settings.schedule_import_interval_s)
        with self._factory() as session:
            due = [s.id for s in session.scalars(select(ScheduleSource).where(ScheduleSource.enabled))
                   if s.last_import_at is None or s.last_import_at <= now - interval]
        return sum(self.import_source(i) for i in due)

    def import_source(self, source_id: int) -> bool:
        """Fetch, parse, judge and store one source; False (and the source failing) if any
        step fails."""
        now = self._clock()
        start, end = self.window(now)
        with self._factory() as session:
            source = session.get(ScheduleSource, source_id)
            if source is None:
                return False
            before = previous_stats(session, source)
            session.expunge(source)
        outcome = try_import(source, start, end, before, self._http)
        if outcome.error is not None:
            logger.warning("schedule source=%s import failed: %s", source.name, outcome.error)
            with transaction(self._factory) as session:
                self._failed(session, source, outcome.error, now)
            return False
        assert outcome.parsed is not None
        with transaction(self._factory) as session:
            self._store(session, source, outcome.parsed, start, now)
            alerts.clear(session, alerts.AlertKey(SOURCE, source.name, SOURCE_FAILING_TYPE),
                         note="imported again", now=now)
        logger.info("schedule source=%s imported items=%d ignored=%d", source.name,
                    len(outcome.parsed.items), len(outcome.parsed.ignored))
        return True

    def window(self, now: datetime) -> tuple[datetime, datetime]:
        """The span imported: from a day ago to the horizon."""
        return now - timedelta(days=1), now + timedelta(days=self._settings.horizon_days)

    @staticmethod
    def _failed(session: Session, source: ScheduleSource, error: str, now: datetime) -> None:
        row = session.get(ScheduleSource, source.id)
        if row is None:
            return
        row.last_import_at, row.last_error = now, error[:2000]
        alerts.fire(session, alerts.AlertKey(SOURCE, source.name, SOURCE_FAILING_TYPE),
                    severity=severity_of(SOURCE_FAILING_TYPE),
                    summary=f"schedule source {source.name} ({source.kind}) failing: {error}"[:500],
                    details={"schedule_source_id": source.id, "kind": source.kind, "error": error[:500]},
                    channel_id=source.channel_id, now=now)

    def _store(self, session: Session, source: ScheduleSource, parsed: Parsed,
               start: datetime, now: datetime) -> None:
        session.execute(delete(ScheduleItem).where(ScheduleItem.source_id == source.id,
                                                   ScheduleItem.ends_at >= start))
        session.execute(delete(MaintenanceWindow).where(
            MaintenanceWindow.created_by == WINDOW_TAG,
            MaintenanceWindow.name.like(f"schedule:{source.id}:%")))
        for item in {i.external_id: i for i in parsed.items}.values():
            session.add(ScheduleItem(source_id=source.id, channel_id=source.channel_id,
                                     external_id=item.external_id[:255], title=item.title,
                                     kind=item.kind, starts_at=item.starts_at, ends_at=item.ends_at,
                                     details=item.details, status=item.status, imported_at=now))
            if item.kind == "off_air" and item.status == "scheduled" and item.ends_at > now:
                session.add(MaintenanceWindow(
                    name=f"schedule:{source.id}:{item.external_id}"[:100], created_by=WINDOW_TAG,
                    reason=f"planned off-air: {item.title}", starts_at=item.starts_at,
                    ends_at=item.ends_at, channel_ids=[source.channel_id]))
        row = session.get(ScheduleSource, source.id)
        if row is not None:
            row.last_import_at, row.last_error = now, None
            row.last_import_stats = dict(parsed.stats)

    def check(self) -> int:
        """Raise/clear SCHEDULED_EVENT_NOT_LIVE; returns how many alerts changed."""
        now = self._clock()
        lead = timedelta(minutes=self._settings.not_live_lead_min)
        with transaction(self._factory) as session:
            rows = session.execute(
                select(ScheduleItem, Channel).join(Channel, Channel.id == ScheduleItem.channel_id)
                .where(ScheduleItem.kind == "live_event", ScheduleItem.status == "scheduled",
                       ScheduleItem.starts_at <= now + lead,
                       ScheduleItem.ends_at > now - timedelta(days=1))).all()
            events = [LiveEvent(i.id, c.id, c.code, i.title, i.starts_at, i.ends_at) for i, c in rows]
            groups = {c.id: c.encoder_group_id for _, c in rows}
            opened = set(session.scalars(select(Alert.subject).where(
                Alert.source == SOURCE, Alert.alert_type == ALERT_TYPE, Alert.state != "resolved")))
            decisions = decide(events, self._live(session, groups), opened, now, lead)
            changed = 0
            for d in decisions:
                key = alerts.AlertKey(SOURCE, d.subject, ALERT_TYPE)
                if d.op == "raise":
                    group = groups.get(d.event.channel_id)
                    _, new = alerts.fire(session, key, severity=severity_of(ALERT_TYPE),
                                         summary=d.summary, details={
                        "schedule_item_id": d.event.item_id, "title": d.event.title,
                        "starts_at": d.event.starts_at.isoformat()},
                        channel_id=d.event.channel_id, group_id=group, now=now)
                    changed += int(new)
                elif alerts.clear(session, key, note=d.summary, now=now) is not None:
                    changed += 1
            for subject in opened - {subject_of(e) for e in events}:
                key = alerts.AlertKey(SOURCE, subject, ALERT_TYPE)
                changed += alerts.clear(session, key, note="event cancelled or no longer scheduled",
                                        now=now) is not None
            return changed

    @staticmethod
    def _live(session: Session, groups: dict[int, int | None]) -> dict[int, bool | None]:
        """Per channel: is its group's active encoder (or, with none active, any of the
        group's encoders) live? None when the channel has no encoder group."""
        out: dict[int, bool | None] = {}
        for channel_id, group_id in groups.items():
            if group_id is None:
                out[channel_id] = None
                continue
            group = session.get(EncoderGroup, group_id)
            encoders = list(session.scalars(select(Encoder).where(Encoder.group_id == group_id,
                                                                  Encoder.enabled)))
            active = [e for e in encoders if group is not None and e.id == group.active_encoder_id]
            considered = active or encoders
            out[channel_id] = any(e.state == "live" for e in considered) if considered else None
        return out

    def ensure_rule(self) -> bool:
        """Create :data:`CABLECASTER_RULE` and :data:`SOURCE_FAILING_RULE`, each unless a rule
        already names its alert type (or has its name); True if one was created."""
        created = False
        with transaction(self._factory) as session:
            rules = list(session.scalars(select(NotificationRule)))
            for default in (CABLECASTER_RULE, SOURCE_FAILING_RULE):
                alert_type = default["match"]["alert_types"][0]  # type: ignore[index]
                if any(alert_type in ((r.match or {}).get("alert_types") or []) or r.name == default["name"]
                       for r in rules):
                    continue
                session.add(NotificationRule(**default))
                created = True
        return created
