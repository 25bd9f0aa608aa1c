"""The schedule monitor: import sources, mirror off-air times, check upcoming live events.

Runs as ``ticks`` of the incident service (one process). Each tick is short and bounded.

- :meth:`ScheduleService.import_due` fetches every enabled source whose last import is older
  than the interval, replaces its items in the horizon, and mirrors its ``off_air`` items as
  one-off maintenance windows scoped to the channel (``created_by = "schedule"``): the
  notifier then suppresses the channel's messages during planned off-air time, and the API's
  ``/api/v1/schedules/off-air`` tells the UI. A failing source keeps its old items and records
  ``last_error``.
- :meth:`ScheduleService.check` raises/clears ``SCHEDULED_EVENT_NOT_LIVE`` (critical, source
  ``schedule``) by :func:`castwatch.schedules.check.decide`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, select
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
from castwatch.incidents.settings import IncidentSettings
from castwatch.schedules import cablecast, ical, meetings
from castwatch.schedules.check import ALERT_TYPE, SOURCE, LiveEvent, decide
from castwatch.schedules.http import ScheduleHttp
from castwatch.schedules.items import ImportedItem, ScheduleError

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
WINDOW_TAG = "schedule"


def fetch_source(source: ScheduleSource, start: datetime, end: datetime,
                 http: ScheduleHttp) -> list[ImportedItem]:
    options = dict(source.options or {})
    if source.kind == "cablecast":
        return cablecast.fetch(source.url, options, start, end, http=http)
    if source.kind == "ical":
        return ical.fetch(source.url, options, start, end, http=http)
    return meetings.fetch(source.url, options, start, end, pdf=source.kind == "pdf", http=http)


class ScheduleService:
    def __init__(self, factory: sessionmaker[Session], settings: IncidentSettings,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self._factory = factory
        self._settings = settings
        self._clock = clock
        self._http = ScheduleHttp(settings.egress, settings.schedule_max_bytes,
                                  settings.schedule_fetch_timeout_s)

    def import_due(self) -> int:
        """Import every due source; returns how many imported successfully."""
        now = self._clock()
        interval = timedelta(seconds=self._settings.schedule_import_interval_s)
        with self._factory() as session:
            due = [s.id for s in session.scalars(select(ScheduleSource).where(ScheduleSource.enabled))
                   if s.last_import_at is None or s.last_import_at <= now - interval]
        return sum(self.import_source(i) for i in due)

    def import_source(self, source_id: int) -> bool:
        now = self._clock()
        start, end = now - timedelta(days=1), now + timedelta(days=self._settings.horizon_days)
        with self._factory() as session:
            source = session.get(ScheduleSource, source_id)
            if source is None:
                return False
            session.expunge(source)
        try:
            items = fetch_source(source, start, end, self._http)
        except ScheduleError as exc:
            logger.warning("schedule source=%s import failed: %s", source.name, safe_text(str(exc), 200))
            with transaction(self._factory) as session:
                row = session.get(ScheduleSource, source_id)
                if row is not None:
                    # parser messages may quote the document: keep them short and printable
                    row.last_import_at, row.last_error = now, safe_text(str(exc), 200)
            return False
        with transaction(self._factory) as session:
            self._store(session, source, items, start, now)
        logger.info("schedule source=%s imported items=%d", source.name, len(items))
        return True

    def _store(self, session: Session, source: ScheduleSource, items: list[ImportedItem],
               start: datetime, now: datetime) -> None:
        session.execute(delete(ScheduleItem).where(ScheduleItem.source_id == source.id,
                                                   ScheduleItem.ends_at >= start))
        session.execute(delete(MaintenanceWindow).where(
            MaintenanceWindow.created_by == WINDOW_TAG,
            MaintenanceWindow.name.like(f"schedule:{source.id}:%")))
        for item in {i.external_id: i for i in items}.values():
            session.add(ScheduleItem(source_id=source.id, channel_id=source.channel_id,
                                     external_id=item.external_id[:255], title=item.title,
                                     kind=item.kind, starts_at=item.starts_at, ends_at=item.ends_at,
                                     details=item.details, imported_at=now))
            if item.kind == "off_air" and item.ends_at > now:
                session.add(MaintenanceWindow(
                    name=f"schedule:{source.id}:{item.external_id}"[:100], created_by=WINDOW_TAG,
                    reason=f"planned off-air: {item.title}", starts_at=item.starts_at,
                    ends_at=item.ends_at, channel_ids=[source.channel_id]))
        row = session.get(ScheduleSource, source.id)
        if row is not None:
            row.last_import_at, row.last_error = now, None

    def check(self) -> int:
        """Raise/clear SCHEDULED_EVENT_NOT_LIVE; returns how many alerts changed."""
        now = self._clock()
        lead = timedelta(minutes=self._settings.not_live_lead_min)
        with transaction(self._factory) as session:
            rows = session.execute(
                select(ScheduleItem, Channel).join(Channel, Channel.id == ScheduleItem.channel_id)
                .where(ScheduleItem.kind == "live_event", ScheduleItem.starts_at <= now + lead,
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
                    _, new = alerts.fire(session, key, severity="critical", summary=d.summary, details={
                        "schedule_item_id": d.event.item_id, "title": d.event.title,
                        "starts_at": d.event.starts_at.isoformat()},
                        channel_id=d.event.channel_id, group_id=group, now=now)
                    changed += int(new)
                elif alerts.clear(session, key, note=d.summary, now=now) is not None:
                    changed += 1
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
        """Create :data:`CABLECASTER_RULE` unless a rule already names the alert type."""
        with transaction(self._factory) as session:
            for rule in session.scalars(select(NotificationRule)):
                if ALERT_TYPE in ((rule.match or {}).get("alert_types") or []):
                    return False
            if session.scalar(select(NotificationRule.id).where(
                    NotificationRule.name == CABLECASTER_RULE["name"])) is not None:
                return False
            session.add(NotificationRule(**CABLECASTER_RULE))
            return True
