"""The correlator: one round = load a snapshot, plan (pure), apply; and the loop around it.

One replica correlates at a time (``pg_try_advisory_xact_lock``); the others skip the round.
:class:`Service` wakes on ``castwatch_alerts`` / ``castwatch_alert_events`` /
``castwatch_failover_events`` NOTIFYs (after a short settle so a burst is one round) and also
polls, so a lost notification costs seconds. Extra periodic work (schedule import, the
meeting-not-live check) is passed in as ``ticks`` and runs after each round.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from castwatch.common.bus import Listener, channel_for
from castwatch.common.db import transaction
from castwatch.common.models import Incident, utcnow
from castwatch.incidents.known_issues import KnownIssue
from castwatch.incidents.plan import plan_incidents
from castwatch.incidents.store import apply_plan, close_finished, load_snapshot

logger = logging.getLogger(__name__)

CORRELATOR_LOCK = 0x696E6364  # "incd"
WAKE_TABLES = ("alerts", "alert_events", "failover_events", "encoder_groups")


class IncidentMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.rounds = Counter("castwatch_incidents_rounds_total", "Correlator rounds", ["result"],
                              registry=registry)
        self.round_seconds = Histogram("castwatch_incidents_round_seconds", "Correlator round time",
                                       registry=registry)
        self.open = Gauge("castwatch_incidents_open", "Open incidents", registry=registry)
        self.ticks = Counter("castwatch_incidents_ticks_total", "Periodic tasks run", ["task", "result"],
                             registry=registry)


@dataclass
class RoundResult:
    skipped: bool = False
    incidents: int = 0
    resolved: int = 0


class Correlator:
    """Runs correlation rounds against the database."""

    def __init__(self, factory: sessionmaker[Session], library: Sequence[KnownIssue], *,
                 window_s: float = 60.0, history_s: float = 3600.0,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self._factory = factory
        self._library = list(library)
        self._window_s = window_s
        self._history_s = history_s
        self._clock = clock

    def run_once(self) -> RoundResult:
        now = self._clock()
        with transaction(self._factory) as session:
            if not session.scalar(select(func.pg_try_advisory_xact_lock(CORRELATOR_LOCK))):
                return RoundResult(skipped=True)
            snap = load_snapshot(session, now, self._history_s)
            plans = plan_incidents(snap, now, self._library, window_s=self._window_s)
            for plan in plans:
                apply_plan(session, plan, now)
            resolved = close_finished(session, now)
            if resolved:
                logger.info("incidents resolved ids=%s", ",".join(map(str, resolved)))
            return RoundResult(incidents=len(plans), resolved=len(resolved))

    def open_count(self) -> int:
        with self._factory() as session:
            return int(session.scalar(select(func.count()).select_from(Incident)
                                      .where(Incident.state == "open")) or 0)


class Service:
    """The loop: rounds on NOTIFY (settled) and every ``poll_s``; ``ticks`` after a round, at
    most once per ``poll_s``."""

    def __init__(self, correlator: Correlator, url: str, metrics: IncidentMetrics, *, poll_s: float = 5.0,
                 settle_s: float = 0.5, ticks: Sequence[tuple[str, Callable[[], object]]] = ()) -> None:
        self.correlator = correlator
        self._url = url
        self._metrics = metrics
        self._poll_s = poll_s
        self._settle_s = settle_s
        self._ticks = list(ticks)
        self._wake = threading.Event()
        self.stop_event = threading.Event()
        self.rounds = 0
        self._last_ticks = float("-inf")

    def _on_notify(self, _channel: str, _payload: dict) -> None:
        self._wake.set()

    def round(self) -> None:
        started = time.monotonic()
        try:
            result = self.correlator.run_once()
            self._metrics.rounds.labels("skipped" if result.skipped else "ok").inc()
            self._metrics.open.set(self.correlator.open_count())
        except Exception:
            self._metrics.rounds.labels("error").inc()
            logger.exception("correlation round failed")
        self._metrics.round_seconds.observe(time.monotonic() - started)
        if time.monotonic() - self._last_ticks < self._poll_s:
            self.rounds += 1
            return  # a NOTIFY storm speeds up correlation, not the periodic tasks
        self._last_ticks = time.monotonic()
        for name, tick in self._ticks:
            try:
                tick()
                self._metrics.ticks.labels(name, "ok").inc()
            except Exception:
                self._metrics.ticks.labels(name, "error").inc()
                logger.exception("task %s failed", name)
        self.rounds += 1

    def run(self) -> None:
        """Block until :meth:`stop`; the bus listener runs in its own thread."""
        listener = Listener(self._url, [channel_for(t) for t in WAKE_TABLES], self._on_notify,
                            on_reconnect=self._wake.set).start()
        try:
            while not self.stop_event.is_set():
                self.round()
                if self._wake.wait(self._poll_s) and not self.stop_event.is_set():
                    self.stop_event.wait(self._settle_s)
                self._wake.clear()
        finally:
            listener.stop()

    def stop(self) -> None:
        self.stop_event.set()
        self._wake.set()
