"""One watched encoder: its driver, health history and alert debouncing.

``poll()`` never raises for device problems: a :class:`DriverError` becomes an unreachable
sample carrying the error. ``process()`` is synchronous and cheap: it assesses the sample
(pure ``health``), runs the hysteresis trackers and returns what should be written — an
encoder status row update (only on change or every ``sample_write_interval_s``) and alert ops.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from castwatch.common.download import unquoted
from castwatch.common.hysteresis import ConditionTracker, Debounce
from castwatch.encoder_manager.drivers import DriverError, EncoderDriver
from castwatch.encoder_manager.health import UNREACHABLE, Assessment, EncoderHealth, Thresholds
from castwatch.encoder_manager.metrics import EncoderMetrics
from castwatch.encoder_manager.recording import RECORDING_STOPPED
from castwatch.encoder_manager.recording import condition as recording_condition
from castwatch.encoder_manager.sample import HealthSample
from castwatch.encoder_manager.store import AlertOp, EncoderRow

logger = logging.getLogger(__name__)


def _resolve(fut: asyncio.Future[bool]) -> None:
    if not fut.done():
        fut.set_result(False)


def error_result(exc: DriverError) -> str:
    """Bounded label value for the polls counter."""
    name = type(exc).__name__
    return {"DriverTimeout": "timeout", "DriverAuthExpired": "auth", "DriverProtocolError": "protocol",
            "DriverHTTPError": "http", "DriverConnectionError": "connection",
            "DriverBusy": "busy"}.get(name, "error")


@dataclass
class ProcessResult:
    status: dict[str, Any] | None
    alerts: list[AlertOp]
    assessment: Assessment


@dataclass
class EncoderWorker:
    row: EncoderRow
    driver: EncoderDriver | None
    metrics: EncoderMetrics
    group_name: str = ""
    interval_s: float = 1.0
    failure_threshold: int = 3
    expect_live: bool = False
    driver_error: str | None = None
    health: EncoderHealth = field(default_factory=EncoderHealth)
    tracker: ConditionTracker[str] = field(default_factory=ConditionTracker)
    last_assessment: Assessment | None = None
    _written: tuple[str, bool] | None = None
    _written_at: float = float("-inf")
    _refreshed: dict[str, tuple[float, str]] = field(default_factory=dict)
    thresholds: Thresholds = field(default_factory=Thresholds)
    _children: dict[str, Any] = field(default_factory=dict)
    _waiter: asyncio.Future[bool] | None = None
    _woken: bool = False
    _poll_started: float = float("-inf")
    sample_polled_at: float = float("-inf")  # when the poll behind ``health.last_sample`` was sent
    record_expected: bool = False  # castwatch started a recording here that nobody stopped
    record_by_policy: bool = False  # ... and it was the group's recording policy that started it
    record_retry_at: float = float("-inf")

    def wake(self) -> None:
        """Poll now instead of at the next scheduled time (e.g. to verify a start at once)."""
        self._woken = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(True)

    async def sleep_until(self, deadline: float, clock: Callable[[], float]) -> bool:
        """Sleep until ``deadline`` (clock time) or a :meth:`wake`; True when woken.

        One future and one timer per sleep — cheaper than ``wait_for`` on an event, which
        matters at hundreds of polls a second.
        """
        try:
            if self._woken:
                return True
            delay = deadline - clock()
            if delay <= 0:
                return False
            loop = asyncio.get_running_loop()
            fut: asyncio.Future[bool] = loop.create_future()
            self._waiter = fut
            handle = loop.call_later(delay, _resolve, fut)
            try:
                return await fut
            finally:
                handle.cancel()
                self._waiter = None
        finally:
            self._woken = False

    async def poll(self) -> HealthSample:
        kind = self.row.driver_kind
        if self.driver is None:
            self._count("config")
            return HealthSample.unreachable(f"configuration: {self.driver_error}")
        started = self._poll_started = time.monotonic()
        try:
            sample = await self.driver.poll()
            self._count("ok")
        except DriverError as exc:
            self._count(error_result(exc))
            # drivers quote what the device said (``!r``): not for the API or alert summaries
            sample = HealthSample.unreachable(f"{type(exc).__name__}: {unquoted(str(exc))}")
        self._child("seconds", lambda: self.metrics.poll_seconds.labels(kind)).observe(
            time.monotonic() - started)
        return sample

    def _child(self, key: str, make: Callable[[], Any]) -> Any:
        """A metric child looked up once (``labels()`` costs more than the increment)."""
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = make()
        return child

    def _count(self, result: str) -> None:
        self._child(f"polls:{result}", lambda: self.metrics.polls.labels(self.row.driver_kind, result)).inc()

    def debounce(self, alert_type: str, th: Thresholds) -> Debounce:
        if alert_type == UNREACHABLE:
            return Debounce(raise_after_count=self.failure_threshold, clear_after_s=th.clear_after_s)
        return Debounce(raise_after_s=th.raise_after_s, raise_after_count=th.raise_after_count,
                        clear_after_s=th.clear_after_s)

    def adopt_open_alerts(self, alert_types: list[str], now: float) -> None:
        """Mark conditions already open in the database as active, so they can clear here."""
        if RECORDING_STOPPED in alert_types:
            self.record_expected = True  # it was expected by the replica that raised it
        for alert_type in alert_types:
            if not self.tracker.is_active(alert_type):
                self.tracker.observe(alert_type, True, now, Debounce(clear_after_s=0))

    def process(self, sample: HealthSample, now: float, wall: datetime, th: Thresholds,
                *, refresh_s: float, write_every_s: float) -> ProcessResult:
        a = self.health.assess(sample, now, th, expect_live=self.expect_live)
        self.last_assessment = a
        self.sample_polled_at = self._poll_started
        if sample.temperature_c is not None:
            self._child("temp", lambda: self.metrics.temperature.labels(self.row.name)).set(
                sample.temperature_c)
        ops: list[AlertOp] = []
        conditions = dict(a.conditions)
        rec = recording_condition(sample, self.record_expected)
        if rec is not None:
            conditions[RECORDING_STOPPED] = rec
        for alert_type, cond in conditions.items():
            transition = self.tracker.observe(alert_type, cond.bad, now, self.debounce(alert_type, th))
            base: dict[str, Any] = dict(subject=self.row.name, alert_type=alert_type,
                                        encoder_id=self.row.id, group_id=self.row.group_id)
            if transition == "raise" or (cond.bad and self.tracker.is_active(alert_type)
                                         and self._needs_refresh(alert_type, cond.severity, now, refresh_s)):
                ops.append(AlertOp("raise", severity=cond.severity, summary=cond.summary,
                                   details=cond.details, **base))
                self._refreshed[alert_type] = (now, cond.severity)
            elif transition == "clear":
                ops.append(AlertOp("clear", summary="condition cleared", **base))
                self._refreshed.pop(alert_type, None)
        return ProcessResult(self._status(sample, a, now, wall, write_every_s), ops, a)

    def _needs_refresh(self, alert_type: str, severity: str, now: float, refresh_s: float) -> bool:
        last = self._refreshed.get(alert_type)
        return last is None or last[1] != severity or now - last[0] >= refresh_s

    def _status(self, sample: HealthSample, a: Assessment, now: float, wall: datetime,
                write_every_s: float) -> dict[str, Any] | None:
        key = (sample.state, sample.reachable)
        if key == self._written and now - self._written_at < write_every_s:
            return None
        self._written, self._written_at = key, now
        last = sample.to_json() | {"at": wall.isoformat(), "rates": a.rates,
                                   "overheat_eta_s": a.overheat_predicted_in_s}
        status: dict[str, Any] = {"id": self.row.id, "state": sample.state, "reachable": sample.reachable,
                                  "last_sample": last, "instability_score": a.instability}
        if sample.reachable:
            status["last_seen_at"] = wall
        return status

    def influx_fields(self, sample: HealthSample, a: Assessment) -> dict[str, float | int | None]:
        link = sample.link
        codes = {"idle": 0, "starting": 1, "live": 2, "degraded": 3, "failed": 4, "unknown": 5}
        return {
            "temperature_c": sample.temperature_c, "cpu_percent": sample.cpu_percent,
            "memory_percent": sample.memory_percent, "bitrate_kbps": sample.bitrate_kbps,
            "dropped_frames": sample.frames_dropped, "frames_total": sample.frames_total,
            "drop_rate": a.rates.get("drop_rate"),
            "link_rtt_ms": link.rtt_ms if link else None, "link_lost": link.lost if link else None,
            "link_retransmitted": link.retransmitted if link else None,
            "state_code": codes[sample.state], "reachable": int(sample.reachable),
            "instability": a.instability,
        }
