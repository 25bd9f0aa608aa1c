"""The outbox store: claim due deliveries, render them, record the outcome.

Claiming is ``FOR UPDATE SKIP LOCKED`` on due ``pending`` rows, plus ``sending`` rows whose
claim is older than the claim timeout (their dispatcher died): replicas never take the same
row, and a killed replica's rows come back. A claimed row that has a ``group_key`` pulls its
pending siblings along, and the batch becomes one message.

Delivery semantics: a row is marked ``sent`` together with the provider's message id in one
statement right after the provider accepted it. The remaining at-least-once window is a crash
between the provider's acceptance and that commit: the row is reclaimed and sent again (for
email with the same Message-ID, which clients fold). Owners of in-flight claims refresh
``claimed_at`` (:meth:`OutboxStore.heartbeat`), so slow rate-limited sends are not reclaimed.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, sessionmaker

from castwatch.common.db import transaction
from castwatch.common.models import Alert, Delivery, Recipient, utcnow
from castwatch.notifier.addresses import address_of, disable_address, move_address, usable_kinds
from castwatch.notifier.catchup import KIND as CATCHUP_KIND
from castwatch.notifier.catchup import catchup_context
from castwatch.notifier.context import batch_context, build_message
from castwatch.notifier.incident_jobs import prepare_update, remember_listing, triage
from castwatch.notifier.incident_thread import UPDATE_KIND
from castwatch.notifier.render import Renderer
from castwatch.notifier.rules import retry_delay
from castwatch.notifier.settings import NotifySettings
from castwatch.notifier.transports import REGISTRY, transport_class
from castwatch.notifier.transports.base import OutgoingMessage, SendResult, TransportError
from castwatch.notifier.transports.email import sender_domain

logger = logging.getLogger(__name__)

#: transports whose destinations are served by one replica at a time (Telegram chats)
SERIAL_TRANSPORTS = [kind for kind, cls in REGISTRY.items() if cls.serial_per_destination]
CLAIM_LOCK = 0x636C6169  # "clai": claims are short and serialised across replicas (see claim())

#: Due rows, plus rows of a dead dispatcher — never this process's own in-flight rows, even
#: when its loop stalled past the claim timeout (it still owns and will record them; rows
#: of an earlier run under the same ``--worker-id`` are not in flight and are reclaimed); a
#: destination under a provider's flood wait (``flood_until``, kept in PostgreSQL so it
#: survives a restart) is left alone; a destination of a serial transport (Telegram: one chat)
#: that another live replica is sending to (or sent to within the per-chat gap) is left to that
#: replica, so the per-chat limit holds across replicas.
CLAIM_SQL = text("""
WITH due AS (
  SELECT d.id FROM deliveries d
  WHERE ((d.status = 'pending' AND d.next_attempt_at <= now())
      OR (d.status = 'sending' AND NOT d.id = ANY(CAST(:in_flight AS integer[]))
          AND d.claimed_at < now() - make_interval(secs => :timeout)))
    AND NOT EXISTS (
      SELECT 1 FROM deliveries f
      WHERE f.recipient_id = d.recipient_id AND f.transport = d.transport
        AND f.flood_until IS NOT NULL AND f.flood_until > now())
    AND (NOT d.transport = ANY(CAST(:serial AS text[])) OR NOT EXISTS (
      SELECT 1 FROM deliveries o
      WHERE o.recipient_id = d.recipient_id AND o.transport = d.transport AND o.claimed_by <> :me
        AND ((o.status = 'sending' AND o.claimed_at >= now() - make_interval(secs => :timeout))
          OR (o.status = 'sent' AND o.sent_at > now() - make_interval(secs => :chat_gap)))))
  ORDER BY d.next_attempt_at, d.id
  LIMIT :limit
  FOR UPDATE OF d SKIP LOCKED
)
UPDATE deliveries d SET status = 'sending', claimed_by = :me, claimed_at = now(),
  attempts = d.attempts + 1
FROM due WHERE d.id = due.id
RETURNING d.id
""")

SIBLINGS_SQL = text("""
WITH sib AS (
  SELECT id FROM deliveries
  WHERE status = 'pending' AND group_key = ANY(:keys)
  FOR UPDATE SKIP LOCKED
)
UPDATE deliveries d SET status = 'sending', claimed_by = :me, claimed_at = now(),
  attempts = d.attempts + 1
FROM sib WHERE d.id = sib.id
RETURNING d.id
""")


@dataclass
class Job:
    """One message to send: ``ids[0]`` is the leader row, the rest ride along."""

    ids: list[int]
    transport: str
    recipient_id: int
    kind: str
    attempts: int
    event_id: int | None
    message: OutgoingMessage | None = None
    skip: tuple[str, str] | None = None  # (status, reason) to record without sending
    edit: str | None = None  # external id of a sent message to edit in place (incident updates)
    alert_ids: list[int] = field(default_factory=list)


def assemble_batches(rows: Sequence[Delivery]) -> list[list[Delivery]]:
    """Rows grouped by ``group_key`` (None = alone), each batch ordered by id (leader first)."""
    keyed: dict[str, list[Delivery]] = defaultdict(list)
    out: list[list[Delivery]] = []
    for row in sorted(rows, key=lambda r: r.id):
        if row.group_key is None:
            out.append([row])
        else:
            keyed[row.group_key].append(row)
    out.extend(keyed.values())
    return sorted(out, key=lambda b: b[0].id)


class OutboxStore:
    def __init__(self, factory: sessionmaker[Session], settings: NotifySettings, worker_id: str,
                 renderer: Renderer | None = None, clock: Callable[[], datetime] = utcnow) -> None:
        self._factory = factory
        self._settings = settings
        self.worker_id = worker_id
        self._renderer = renderer or Renderer(settings.templates_dir)
        self._builtin = Renderer(None)
        self._clock = clock
        self._domain = sender_domain(settings.smtp.sender)

    def claim(self, limit: int, in_flight: Sequence[int] = ()) -> tuple[list[Job], float | None]:
        """Claim up to ``limit`` due rows (plus group siblings); also returns seconds until the
        next pending row falls due (None when none is pending). ``in_flight``: ids this process
        is sending now, never reclaimed from itself.

        The claim itself is one short transaction under an advisory lock (so the "chat busy on
        another replica" test cannot race); rendering happens in a second, read-only one.
        """
        with transaction(self._factory) as session:
            session.execute(select(func.pg_advisory_xact_lock(CLAIM_LOCK)))
            params = {"me": self.worker_id, "limit": limit, "timeout": self._settings.claim_timeout_s,
                      "in_flight": list(in_flight), "serial": SERIAL_TRANSPORTS,
                      "chat_gap": 1.1 / self._settings.telegram.per_chat_per_s}
            ids = [r[0] for r in session.execute(CLAIM_SQL, params)]
            keys = sorted({k for k in session.scalars(select(Delivery.group_key).where(
                Delivery.id.in_(ids), Delivery.group_key.is_not(None))) if k}) if ids else []
            if keys:
                ids += [r[0] for r in session.execute(SIBLINGS_SQL, {"me": self.worker_id, "keys": keys})]
        with transaction(self._factory) as session:
            rows = list(session.scalars(select(Delivery).where(Delivery.id.in_(ids)))) if ids else []
            jobs = [job for batch in assemble_batches(rows) for job in self._jobs(session, batch)]
            next_due = session.scalar(select(func.min(Delivery.next_attempt_at))
                                      .where(Delivery.status == "pending"))
        wait = None if next_due is None else max(0.0, (next_due - self._clock()).total_seconds())
        return jobs, wait

    def _jobs(self, session: Session, batch: list[Delivery]) -> list[Job]:
        """The batch as jobs: rows folded at send time (see :func:`incident_jobs.triage`) are
        recorded ``grouped`` apart; the rest is one message."""
        keep, folded = triage(session, batch)
        jobs = [self._job(session, keep)] if keep else []
        for row, reason in folded:
            jobs.append(Job(ids=[row.id], transport=row.transport, recipient_id=row.recipient_id,
                            kind=row.kind,
                            attempts=row.attempts, event_id=row.event_id, skip=("grouped", reason),
                            alert_ids=[row.alert_id] if row.alert_id is not None else []))
        return jobs

    def _job(self, session: Session, batch: list[Delivery]) -> Job:
        leader = batch[0]
        job = Job(ids=[r.id for r in batch], transport=leader.transport,
                  recipient_id=leader.recipient_id, kind=leader.kind, attempts=leader.attempts,
                  event_id=leader.event_id,
                  alert_ids=[r.alert_id for r in batch if r.alert_id is not None])
        person = session.get(Recipient, leader.recipient_id)
        if person is None or not person.enabled:
            job.skip = ("suppressed", "recipient disabled")
            return job
        address = address_of(session, person.id, leader.transport)
        if address is None:
            job.skip = ("failed", f"recipient has no usable {leader.transport} destination")
            return job
        cls = transport_class(leader.transport)
        if leader.kind in (UPDATE_KIND, "folded"):
            try:
                update = prepare_update(session, batch, person, address, now=self._clock(),
                                        public_url=self._settings.public_url,
                                        render=lambda t, k, ctx, head, thread: self._render(
                                            t, k, ctx, address, head.id, thread),
                                        edits_in_place=cls is not None and cls.edits_in_place)
            except Exception as exc:
                job.skip = ("failed", f"incident update failed: {exc!r}"[:2000])
                return job
            job.skip, job.message, job.edit = update.skip, update.message, update.edit
            return job
        states = list(session.scalars(select(Alert.state).where(Alert.id.in_(job.alert_ids))))
        if leader.kind in ("escalated", "refired") and "firing" not in states:
            job.skip = ("suppressed", "alert acknowledged or resolved before sending")
            return job
        kind = "grouped" if len({r.alert_id for r in batch}) > 1 else leader.kind
        ctx = batch_context(session, batch, person, self._clock(), self._settings.public_url)
        if leader.kind == CATCHUP_KIND:
            ctx["catchup"] = catchup_context(session, leader.payload or {})
        threading = cls.threading if cls is not None else "none"
        thread_id = self._thread_id(session, leader) if threading == "thread_id" else \
            self._reply_to(session, leader, address) if threading == "reply" and leader.kind != "opened" \
            else None
        try:
            job.message = self._render(leader.transport, kind, ctx, address, leader.id, thread_id)
        except Exception as exc:
            job.skip = ("failed", f"template error: {exc!r}"[:2000])
            return job
        if ctx["items"]:
            remember_listing(leader, ctx)
        return job

    def _render(self, transport: str, kind: str, ctx: dict[str, Any], address: str, leader_id: int,
                thread_id: str | None) -> OutgoingMessage:
        """Render with the configured templates; a broken override falls back to the built-in
        one (a broken override template must not stop the outbox)."""
        try:
            return build_message(self._renderer, transport, kind, ctx, address, leader_id, thread_id,
                                 self._domain)
        except Exception:
            logger.exception("template for %s/%s failed; trying the built-in one", transport, kind)
        return build_message(self._builtin, transport, kind, ctx, address, leader_id, thread_id, self._domain)

    @staticmethod
    def _reply_to(session: Session, leader: Delivery, address: str) -> str | None:
        """External id (Telegram ``chat:message``) of the alert's first message at this address:
        later messages of the alert (its resolved notice, escalations) reply to it."""
        if leader.alert_id is None:
            return None
        return session.scalar(select(Delivery.external_id).where(
            Delivery.alert_id == leader.alert_id, Delivery.recipient_id == leader.recipient_id,
            Delivery.transport == leader.transport, Delivery.kind == "opened",
            Delivery.status.in_(("sent", "grouped")), Delivery.external_id.like(f"{address}:%"),
        ).order_by(Delivery.id).limit(1))

    @staticmethod
    def _thread_id(session: Session, leader: Delivery) -> str | None:
        if leader.alert_id is None:
            return None
        return session.scalar(
            select(Delivery.thread_id).where(
                Delivery.alert_id == leader.alert_id, Delivery.recipient_id == leader.recipient_id,
                Delivery.transport == leader.transport, Delivery.status == "sent",
                Delivery.thread_id.is_not(None))
            .order_by(Delivery.sent_at, Delivery.id).limit(1))

    def heartbeat(self, ids: Sequence[int]) -> int:
        """Refresh this worker's claims on ``ids`` (its in-flight rows); returns how many."""
        if not ids:
            return 0
        with transaction(self._factory) as session:
            result: CursorResult[Any] = session.execute(update(Delivery).where(  # type: ignore[assignment]
                Delivery.id.in_(ids), Delivery.claimed_by == self.worker_id, Delivery.status == "sending",
                Delivery.claimed_at < func.now() - timedelta(seconds=self._settings.claim_timeout_s / 4),
            ).values(claimed_at=func.now()))
            return result.rowcount or 0

    def record_skip(self, job: Job) -> None:
        """Record a row that is not sent; a row that cannot be sent goes to the transport's
        fallback (Telegram → email)."""
        assert job.skip is not None
        status, reason = job.skip
        with transaction(self._factory) as session:
            self._set(session, job.ids, status=status, last_error=reason)
            if status == "failed":
                self._fallback(session, job, final=True)

    def record_sent(self, job: Job, result: SendResult) -> bool:
        """Mark the batch sent with the provider id; False if the claim was lost meanwhile.

        A lost claim (another replica reclaimed the row while this one was sending) is acted
        on: when the row went back to ``pending`` it is marked sent now (so it is not sent a
        second time); when another replica holds or sent it, this send is recorded in the
        row's ``payload.duplicate_sends`` (the provider id), so the double is traceable.
        """
        now = self._clock()
        with transaction(self._factory) as session:
            done: CursorResult[Any] = session.execute(update(Delivery).where(  # type: ignore[assignment]
                Delivery.id == job.ids[0], Delivery.claimed_by == self.worker_id,
                Delivery.status == "sending",
            ).values(status="sent", sent_at=now, external_id=result.external_id,
                     thread_id=result.thread_id, last_error=None, flood_until=None))
            if not done.rowcount:
                self._claim_lost(session, job, result, now)
                return False
            if len(job.ids) > 1:
                session.execute(update(Delivery).where(
                    Delivery.id.in_(job.ids[1:]), Delivery.claimed_by == self.worker_id,
                ).values(status="grouped", sent_at=now, external_id=result.external_id,
                         thread_id=result.thread_id, last_error=f"sent with delivery {job.ids[0]}"))
            if result.new_address is not None:
                move_address(session, job.recipient_id, job.transport, result.new_address)
                logger.warning("recipient=%s %s address moved to %s", job.recipient_id, job.transport,
                               result.new_address)
        return bool(done.rowcount)

    def _claim_lost(self, session: Session, job: Job, result: SendResult, now: datetime) -> None:
        row = session.get(Delivery, job.ids[0], with_for_update=True)
        if row is None:
            return
        logger.warning("delivery=%s was reclaimed by %s while %s sent it (status %s)", row.id,
                       row.claimed_by, self.worker_id, row.status)
        if row.status == "pending":
            row.status, row.sent_at, row.external_id = "sent", now, result.external_id
            row.thread_id, row.last_error, row.claimed_by = result.thread_id, None, self.worker_id
            return
        sends = list((row.payload or {}).get("duplicate_sends") or [])[-9:]
        row.payload = {**(row.payload or {}), "duplicate_sends": [
            *sends, {"by": self.worker_id, "external_id": result.external_id, "at": now.isoformat()}]}

    def record_failure(self, job: Job, exc: TransportError) -> str:
        """Reschedule with backoff or fail for good; returns the new status."""
        s = self._settings
        final = exc.permanent or job.attempts >= s.max_attempts
        with transaction(self._factory) as session:
            if final:
                self._set(session, job.ids, status="failed", last_error=str(exc)[:2000])
            else:
                delay = max(retry_delay(job.attempts, s.retry_base_s, s.retry_max_s), exc.retry_after or 0)
                self._set(session, job.ids, status="pending", last_error=str(exc)[:2000],
                          next_attempt_at=self._clock() + timedelta(seconds=delay), claimed_by=None)
            if exc.hold_destination and exc.retry_after:  # every row to this destination waits
                until = self._clock() + timedelta(seconds=exc.retry_after)
                session.execute(update(Delivery).where(Delivery.id == job.ids[0])
                                .values(flood_until=until))
                logger.warning("recipient=%s transport=%s on hold until %s (provider flood wait)",
                               job.recipient_id, job.transport, until.isoformat())
            if exc.disable_destination:
                self._disable(session, job, str(exc))
            if final or job.attempts >= s.fallback_after_attempts:
                self._fallback(session, job, final)
        return "failed" if final else "retried"

    def _set(self, session: Session, ids: Sequence[int], **values: object) -> None:
        session.execute(update(Delivery).where(
            Delivery.id.in_(ids), Delivery.claimed_by == self.worker_id, Delivery.status == "sending",
        ).values(**values))

    def _disable(self, session: Session, job: Job, reason: str) -> None:
        """A dead address: disable it, tell every admin, and (via :meth:`_fallback`) reach the
        person over the transport's fallback."""
        person = session.get(Recipient, job.recipient_id)
        address = address_of(session, job.recipient_id, job.transport)
        if person is None or not disable_address(session, person.id, job.transport, reason):
            return
        logger.warning("recipient=%s %s disabled: %s", person.name, job.transport, reason)
        cls = transport_class(job.transport)
        other = cls.fallback if cls is not None else None
        other_cls = transport_class(other) if other else None
        reach = address_of(session, person.id, other) if other else None
        shown = cls.redact(address) if cls is not None and address else address
        goes_to = (other_cls.redact(reach) if other_cls is not None and reach else
                   f"nobody — they have no {other}" if other else "their other addresses")
        note = (f"{job.transport.capitalize()} to {person.name} ({shown}) failed permanently and "
                f"was disabled: {reason}. Their alerts now go to {goes_to}.")
        kinds = list(REGISTRY)
        for admin in session.scalars(select(Recipient).where(Recipient.is_admin, Recipient.enabled,
                                                             Recipient.id != person.id)):
            usable = usable_kinds(session, [admin.id])[admin.id]
            transport = next((k for k in kinds if k in usable), None)
            if transport is None:
                continue
            session.execute(insert(Delivery).values(
                alert_id=None, event_id=job.event_id, recipient_id=admin.id, transport=transport,
                kind="admin", payload={"note": note}, next_attempt_at=func.now(),
            ).on_conflict_do_nothing(constraint="uq_deliveries_event_recipient"))

    def _fallback(self, session: Session, job: Job, final: bool) -> None:
        """Copies of a failing batch over the transport's fallback (Telegram → email),
        deduplicated by the unique key; rows without an event (tests) only once the row has
        failed for good."""
        cls = transport_class(job.transport)
        other = cls.fallback if cls is not None else None
        if other is None or address_of(session, job.recipient_id, other) is None:
            return
        for row in session.scalars(select(Delivery).where(Delivery.id.in_(job.ids))):
            if row.event_id is None and not (final and row.kind == "test"):
                continue
            session.execute(insert(Delivery).values(
                alert_id=row.alert_id, event_id=row.event_id, rule_id=row.rule_id,
                recipient_id=row.recipient_id, transport=other, kind=row.kind,
                group_key=f"{row.group_key}:fallback" if row.group_key else None,
                payload={**(row.payload or {}), "fallback_for": row.id}, next_attempt_at=func.now(),
            ).on_conflict_do_nothing(constraint="uq_deliveries_event_recipient"))

    def queue_depth(self) -> int:
        with self._factory() as session:
            return int(session.scalar(select(func.count()).select_from(Delivery).where(
                Delivery.status.in_(("pending", "sending")))) or 0)
