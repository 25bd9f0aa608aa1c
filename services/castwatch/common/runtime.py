"""Start-up shared by every ``castwatch`` process: logging, the database (configured or an
embedded PostgreSQL), the engine, the Prometheus ``/metrics`` server, and their orderly close.

Typed against :class:`ProcessSettings` (what ``castwatch.settings.Settings`` provides), so
``common`` needs no area and no composed settings.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from prometheus_client import CollectorRegistry
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from castwatch.common.db import make_engine, make_session_factory
from castwatch.common.embedded_pg import EmbeddedPostgres
from castwatch.common.logging import configure_logging
from castwatch.common.metrics import serve_metrics

logger = logging.getLogger(__name__)


class ProcessSettings(Protocol):
    """The part of the composed settings that start-up needs."""

    @property
    def database_url(self) -> str | None: ...
    @property
    def data_dir(self) -> Path: ...
    @property
    def log_format(self) -> str: ...
    @property
    def log_level(self) -> str: ...


def database_url_or_embedded(settings: ProcessSettings) -> tuple[str, EmbeddedPostgres | None]:
    """The configured database, or a started embedded one (the caller stops it)."""
    if settings.database_url:
        return settings.database_url, None
    embedded = EmbeddedPostgres(settings.data_dir / "pg")
    return embedded.start(), embedded


@dataclass
class Runtime:
    """What a started process holds; closed by :func:`process_runtime` in reverse order."""

    url: str
    engine: Engine
    session_factory: sessionmaker[Session]
    registry: CollectorRegistry


@contextmanager
def process_runtime(
    settings: ProcessSettings, process: str, *, application_name: str, pool_size: int,
    metrics_bind: tuple[str, int] | None,
) -> Iterator[Runtime]:
    """Configure logging for ``process``, open the database (embedded when no URL is set),
    serve ``/metrics`` on ``metrics_bind``; on exit shut the server, dispose of the engine and
    stop the embedded database, whatever happened inside."""
    configure_logging(settings.log_format, settings.log_level, process)
    url, embedded = database_url_or_embedded(settings)
    try:
        engine = make_engine(url, pool_size=pool_size, application_name=application_name[:63])
        try:
            registry = CollectorRegistry()
            server = serve_metrics(registry, metrics_bind) if metrics_bind else None
            try:
                yield Runtime(url, engine, make_session_factory(engine), registry)
            finally:
                if server is not None:
                    server.shutdown()
        finally:
            engine.dispose()
    finally:
        if embedded is not None:
            embedded.stop()


def run_until_signalled(main: Callable[[asyncio.Event], Awaitable[None]], *,
                        run_for: float | None = None) -> None:
    """Run ``main(stop)`` in a new event loop; SIGTERM or SIGINT (or ``run_for`` seconds, for
    smoke tests) sets ``stop``, and ``main`` returns when it has wound down."""

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if run_for is not None:
            loop.call_later(run_for, stop.set)
        await main(stop)

    asyncio.run(runner())
