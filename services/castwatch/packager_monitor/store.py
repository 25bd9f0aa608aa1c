"""The probe's PostgreSQL side: channel configs in, alerts and channel status out.

:class:`DbWriter` is a thread with a queue: the event loop only ``put``s alert operations and
channel updates and never waits for the database. The writer applies them in batches (one
transaction per batch); when the database is down it keeps the batch and retries, so an
alert is late, never lost. An operation the database refuses (a channel deleted meanwhile)
is logged and dropped on its own, without the rest of its batch.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from castwatch.common import alerts
from castwatch.common.models import Alert, Channel, ChannelThumbnail, Template
from castwatch.packager_monitor.alerting import SOURCE, AlertOp
from castwatch.packager_monitor.content.channel import ThumbnailUpdate
from castwatch.packager_monitor.context import ChannelConfig, TemplateSpec
from castwatch.packager_monitor.rules.content import ContentLimits
from castwatch.packager_monitor.rules.ladder import Rung

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChannelUpdate:
    channel_id: int
    status: str
    checked_at: datetime
    last_check: dict[str, Any]
    badges: tuple[bool, bool, bool] | None = None


Op = AlertOp | ChannelUpdate | ThumbnailUpdate


def content_limits(t: Template) -> ContentLimits:
    return ContentLimits(
        mode=t.content_mode, sample_interval_s=t.content_sample_interval_s,
        rendition=t.content_rendition, black_min_s=t.black_min_s, frozen_min_s=t.frozen_min_s,
        silence_dbfs=t.silence_threshold_dbfs, silence_min_s=t.silence_min_s,
        loudness_standard=t.loudness_standard, loudness_target_lufs=t.loudness_target_lufs,
        loudness_tolerance_lu=t.loudness_tolerance_lu, loudness_min_s=t.loudness_min_s,
        true_peak_max_dbtp=t.true_peak_max_dbtp, mos_min=t.mos_min)


def template_spec(template: Template | None) -> TemplateSpec | None:
    if template is None:
        return None
    return TemplateSpec(
        segment_target_s=template.segment_duration_target,
        tolerance_s=template.segment_duration_tolerance,
        max_download_ms=float(template.max_download_time_ms),
        min_download_ratio=template.min_download_ratio,
        poll_interval_s=template.poll_interval_s,
        rungs=tuple(Rung(r.name, r.bandwidth, r.resolution, r.codecs) for r in template.renditions),
        content=content_limits(template),
    )


def load_channels(session: Session, ids: list[int]) -> dict[int, tuple[ChannelConfig, str]]:
    """Configs of the given enabled channels with their open probe alerts, and a version
    string per channel that changes whenever the channel or its template changes."""
    if not ids:
        return {}
    rows = session.scalars(
        select(Channel).where(Channel.id.in_(ids), Channel.enabled)
        .options(selectinload(Channel.template).selectinload(Template.renditions))
    ).all()
    open_alerts: dict[int, list[tuple[str, str, str]]] = {}
    for a in session.scalars(select(Alert).where(Alert.source == SOURCE, Alert.state != "resolved",
                                                 Alert.channel_id.in_(ids))):
        open_alerts.setdefault(a.channel_id or 0, []).append((a.subject, a.alert_type, a.severity))
    out = {}
    for ch in rows:
        tpl = ch.template
        # not channels.updated_at: our own status writes must not look like a config change
        version = repr((ch.code, ch.input_url, ch.protocol, ch.tier, template_spec(tpl)))
        cfg = ChannelConfig(ch.id, ch.code, ch.input_url, ch.protocol, template_spec(tpl),
                            tuple(open_alerts.get(ch.id, ())), ch.tier)
        out[ch.id] = (cfg, version)
    return out


class DbWriter:
    def __init__(self, factory: sessionmaker[Session], actor: str, *, max_queue: int = 100_000) -> None:
        self.factory = factory
        self.actor = actor
        self.queue: queue.Queue[Op] = queue.Queue(maxsize=max_queue)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="probe-db-writer", daemon=True)
        self.written = 0
        #: optional gauge (castwatch_probe_db_queue_depth) set after every batch
        self.queue_gauge: Any = None

    def start(self) -> None:
        self._thread.start()

    def put(self, ops: list[AlertOp] | list[Op]) -> None:
        for op in ops:
            try:
                self.queue.put_nowait(op)
            except queue.Full:
                logger.error("database write queue full; dropped %s", op)

    def close(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout=timeout_s)

    def _run(self) -> None:
        while not (self._stop.is_set() and self.queue.empty()):
            try:
                first = self.queue.get(timeout=0.2)
            except queue.Empty:
                continue
            batch = [first]
            while len(batch) < 500:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            self._write_with_retry(batch)
            if self.queue_gauge is not None:
                self.queue_gauge.set(self.queue.qsize())

    def _write_with_retry(self, batch: list[Op]) -> None:
        for attempt in range(1_000_000):
            try:
                self._apply(batch)
                self.written += len(batch)
                return
            except OperationalError as exc:
                if self._stop.is_set() and attempt >= 3:
                    logger.error("database unavailable at shutdown; %d writes lost", len(batch))
                    return
                if attempt == 0:
                    logger.warning("database unavailable, retrying %d writes: %s", len(batch), exc.orig)
                time.sleep(min(5.0, 0.5 * (attempt + 1)))
            except (DBAPIError, SQLAlchemyError):
                for op in batch:  # find and drop the refused one(s), keep the rest
                    try:
                        self._apply([op])
                        self.written += 1
                    except SQLAlchemyError as exc:
                        logger.error("database refused %s: %s", op, exc)
                return

    def _apply(self, batch: list[Op]) -> None:
        updates: dict[int, ChannelUpdate] = {}
        thumbs: dict[int, ThumbnailUpdate] = {}
        with self.factory() as session, session.begin():
            for op in batch:
                if isinstance(op, ChannelUpdate):
                    updates[op.channel_id] = op  # only the newest status of a channel matters
                elif isinstance(op, ThumbnailUpdate):
                    thumbs[op.channel_id] = op  # and only its newest picture
                elif op.kind == "fire":
                    alerts.fire(session, alerts.AlertKey(SOURCE, op.subject, op.alert_type),
                                severity=op.severity, summary=op.summary, details=op.details,
                                channel_id=op.channel_id, actor=self.actor)
                else:
                    alerts.clear(session, alerts.AlertKey(SOURCE, op.subject, op.alert_type),
                                 actor=self.actor, note=op.details.get("note") if op.details else None)
            for u in updates.values():
                values: dict[str, Any] = {"status": u.status, "last_checked_at": u.checked_at,
                                          "last_check": u.last_check,
                                          "updated_at": Channel.updated_at}  # status is not an edit
                if u.badges is not None:
                    values.update(is_4k=u.badges[0], is_hdr=u.badges[1], is_atmos=u.badges[2])
                session.execute(update(Channel).where(Channel.id == u.channel_id).values(**values))
            for t in thumbs.values():
                write_thumbnail(session, t)


def write_thumbnail(session: Session, t: ThumbnailUpdate) -> None:
    """Upsert a channel's newest thumbnail; its ETag is a hash of the bytes."""
    values = {"channel_id": t.channel_id, "jpeg": t.jpeg, "rendition": t.rendition,
              "taken_at": t.taken_at, "etag": hashlib.sha256(t.jpeg).hexdigest()[:32]}
    stmt = insert(ChannelThumbnail).values(**values)
    session.execute(stmt.on_conflict_do_update(index_elements=["channel_id"], set_={
        k: stmt.excluded[k] for k in ("jpeg", "rendition", "taken_at", "etag")}))
