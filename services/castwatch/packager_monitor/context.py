"""What a channel worker is given: its channel's configuration and the probe's shared parts."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from castwatch.packager_monitor.alerting import AlertOp
from castwatch.packager_monitor.content.pool import ContentPool
from castwatch.packager_monitor.fetcher import Fetcher
from castwatch.packager_monitor.metrics import ProbeMetrics
from castwatch.packager_monitor.rules.content import ContentLimits
from castwatch.packager_monitor.rules.ladder import Rung
from castwatch.packager_monitor.settings import ProbeSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TemplateSpec:
    segment_target_s: float = 6.0
    tolerance_s: float = 0.5
    max_download_ms: float = 2000.0
    min_download_ratio: float = 1.5
    poll_interval_s: float | None = None
    rungs: tuple[Rung, ...] = ()
    content: ContentLimits = ContentLimits()


@dataclass(frozen=True)
class ChannelConfig:
    """One monitored channel as this probe sees it (rebuilt when its rows change)."""

    id: int | None
    code: str
    url: str
    protocol: str = "HLS"
    template: TemplateSpec | None = None
    #: Open probe alerts of this channel when it was taken: (subject, alert_type, severity).
    adopt: tuple[tuple[str, str, str], ...] = field(default=(), compare=False)
    #: 1 = most important (content analysis is continuous by default on tier 1)
    tier: int = 2


class PointSink(Protocol):
    def write(self, measurement: str, tags: dict[str, str], fields: dict[str, Any]) -> None: ...


class NullSink:
    def write(self, measurement: str, tags: dict[str, str], fields: dict[str, Any]) -> None:
        pass


@dataclass
class ProbeContext:
    """Shared by every worker of one probe process; lives on the event loop."""

    settings: ProbeSettings
    fetcher: Fetcher
    metrics: ProbeMetrics
    #: Receives alert operations; must not block (a queue put).
    emit: Callable[[list[AlertOp]], None]
    points: PointSink = field(default_factory=NullSink)
    clock: Callable[[], float] = time.monotonic
    #: When a list, every schedule lag is also appended here (benchmarks read exact p99).
    lag_samples: list[float] | None = None
    #: decodes segments in worker processes; None = no content analysis
    content: ContentPool | None = None
    _segment_tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def observe_lag(self, lag_s: float) -> None:
        lag_s = max(lag_s, 0.0)
        self.metrics.lag.observe(lag_s)
        if self.lag_samples is not None:
            self.lag_samples.append(lag_s)

    @property
    def probe_name(self) -> str:
        return self.settings.name

    def spawn(self, coro: Any) -> None:
        """Run a side job (a segment download) without awaiting it; bounded by the host limit."""
        task = asyncio.ensure_future(coro)
        self._segment_tasks.add(task)
        task.add_done_callback(self._side_job_done)

    def _side_job_done(self, task: asyncio.Task[None]) -> None:
        self._segment_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("segment check failed", exc_info=task.exception())
