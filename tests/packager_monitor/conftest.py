"""Fixtures of the packager monitor tests: the probe in a background thread, helpers."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry
from sqlalchemy.orm import Session, sessionmaker

from castwatch.common.models import Template, TemplateRendition
from castwatch.packager_monitor.context import PointSink
from castwatch.packager_monitor.service import ChannelSource, LeaseSource, ProbeService
from castwatch.packager_monitor.settings import ProbeSettings
from castwatch.packager_monitor.store import DbWriter
from castwatch.simulators.origin.model import DEFAULT_LADDER

T = TypeVar("T")


def wait_for(fn: Callable[[], T], timeout: float, what: str, interval: float = 0.2) -> T:
    """Poll ``fn`` until it returns something truthy; fail with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class ProbeThread:
    """A ProbeService on its own event loop in a thread, writing through a real DbWriter
    (or collecting operations in ``ops`` when there is no database)."""

    def __init__(self, settings: ProbeSettings, factory: sessionmaker[Session] | None = None,
                 source: ChannelSource | None = None, points: PointSink | None = None) -> None:
        self.settings = settings
        self.registry = CollectorRegistry()
        self.ops: list[Any] = []
        self.writer = DbWriter(factory, actor=f"probe:{settings.name}") if factory else None
        if source is None:
            assert factory is not None
            source = LeaseSource(factory, settings)
        self.source, self.points = source, points
        self._thread = threading.Thread(target=self._run, name=f"probe-{settings.name}", daemon=True)
        self._started = threading.Event()
        self.service: ProbeService | None = None

    def _emit(self, ops: list[Any]) -> None:
        self.ops.extend(ops)
        if self.writer is not None:
            self.writer.put(ops)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.stop = asyncio.Event()
        self.service = ProbeService(self.settings, self.registry, self.source, self._emit, self.points)
        self._started.set()
        await self.service.run(self.stop)

    def __enter__(self) -> ProbeThread:
        if self.writer is not None:
            self.writer.start()
        self._thread.start()
        self._started.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self._thread.join(15)
        if self.writer is not None:
            self.writer.close()

    def workers(self) -> list[Any]:
        return [w for w, _, _ in self.service.workers.values()] if self.service else []

    def alert_ops(self) -> list[Any]:
        return [op for op in self.ops if hasattr(op, "alert_type")]


def sim_template(session: Session, name: str = "sim-1s", segment_s: float = 1.0) -> Template:
    """A template matching the simulator's default ladder with 1 s segments."""
    tpl = Template(name=name, segment_duration_target=segment_s, segment_duration_tolerance=0.25,
                   max_download_time_ms=800, min_download_ratio=1.0)
    tpl.renditions = [TemplateRendition(name=r.name, bandwidth=r.bandwidth, resolution=r.resolution,
                                        codecs=r.codecs) for r in DEFAULT_LADDER]
    session.add(tpl)
    session.flush()
    return tpl
