"""Time series to InfluxDB (or anything speaking the v2 write protocol), never blocking.

``InfluxSink.write()`` only appends to a bounded in-memory queue; a background thread sends
batches with influxdb-client's synchronous write API. When the server is down or the queue is
full, points are dropped, counted in ``castwatch_influx_points_dropped_total`` and logged (at
most once a minute); callers never wait and alerting goes on.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter

from castwatch.common.env import InfluxSettings

logger = logging.getLogger(__name__)

FieldValue = float | int | str | bool


class InfluxMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.written = Counter("castwatch_influx_points_written_total",
                               "Points accepted by InfluxDB", registry=registry)
        self.dropped = Counter("castwatch_influx_points_dropped_total",
                               "Points dropped (InfluxDB down, queue full or not configured)",
                               ["reason"], registry=registry)
        self.write_errors = Counter("castwatch_influx_write_errors_total",
                                    "Failed batch writes to InfluxDB", registry=registry)


class InfluxSink:
    """A batched, bounded, non-blocking writer. ``close()`` flushes what is queued."""

    def __init__(self, settings: InfluxSettings, registry: CollectorRegistry,
                 *, max_queue: int = 100_000) -> None:
        self._settings = settings
        self.metrics = InfluxMetrics(registry)
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max_queue)
        self._stop = threading.Event()
        self._last_log = 0.0
        self._client: Any = None
        self._write_api: Any = None
        self._thread: threading.Thread | None = None
        if settings.url:
            from influxdb_client import InfluxDBClient
            from influxdb_client.client.write_api import SYNCHRONOUS

            self._client = InfluxDBClient(url=settings.url, token=settings.token or "",
                                          org=settings.org, timeout=5_000)
            self._write_api = self._client.write_api(write_options=SYNCHRONOUS)
            self._thread = threading.Thread(target=self._run, name="influx-writer", daemon=True)
            self._thread.start()

    @property
    def enabled(self) -> bool:
        return self._write_api is not None

    def write(self, measurement: str, tags: Mapping[str, str], fields: Mapping[str, FieldValue | None],
              when: datetime | None = None) -> None:
        """Queue one point; ``None`` fields are left out (unknown is not zero)."""
        if not self.enabled:
            self.metrics.dropped.labels("disabled").inc()
            return
        from influxdb_client import Point

        point = Point(measurement)
        for k, v in tags.items():
            if v is not None and v != "":
                point = point.tag(k, str(v))
        present = {k: v for k, v in fields.items() if v is not None}
        if not present:
            return
        for name, value in present.items():
            point = point.field(name, value)
        if when is not None:
            point = point.time(when)
        try:
            self._queue.put_nowait(point)
        except queue.Full:
            self.metrics.dropped.labels("queue_full").inc()
            self._log_drop("queue full")

    def _run(self) -> None:
        while not self._stop.is_set() or not self._queue.empty():
            batch = self._take_batch()
            if batch:
                self._send(batch)

    def _take_batch(self) -> list[Any]:
        deadline = time.monotonic() + self._settings.flush_interval_ms / 1000
        batch: list[Any] = []
        while len(batch) < self._settings.batch_size:
            timeout = deadline - time.monotonic()
            if timeout <= 0:
                break
            try:
                batch.append(self._queue.get(timeout=timeout))
            except queue.Empty:
                break
        return batch

    def _send(self, batch: list[Any]) -> None:
        try:
            self._write_api.write(bucket=self._settings.bucket, org=self._settings.org, record=batch)
            self.metrics.written.inc(len(batch))
        except Exception as exc:  # influxdb-client raises many kinds; all mean "not written"
            self.metrics.write_errors.inc()
            self.metrics.dropped.labels("write_failed").inc(len(batch))
            self._log_drop(f"write failed: {exc}")

    def _log_drop(self, why: str) -> None:
        now = time.monotonic()
        if now - self._last_log > 60:
            self._last_log = now
            logger.warning("influx points dropped: %s", why)

    def close(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
        if self._client is not None:
            self._client.close()
