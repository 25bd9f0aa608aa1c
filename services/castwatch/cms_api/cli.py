"""Run the CMS API (REST /api/v1, Socket.IO /live, /metrics) under gunicorn.

Binds API_BIND (default 127.0.0.1:8080) with API_WORKERS gthread workers of API_THREADS threads.
Without DATABASE_URL it starts the embedded PostgreSQL in CASTWATCH_DATA_DIR/pg and migrates
it first (with DATABASE_URL, run `castwatch migrate` first, or pass --migrate).

Socket.IO: keep API_WORKERS=1 (the default) unless every live client uses the websocket
transport only — long-polling needs all requests of a session on one worker. Each worker
LISTENs to PostgreSQL itself, so websocket clients get every change from any worker.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from typing import Any

from castwatch.common.db import upgrade
from castwatch.common.logging import configure_logging
from castwatch.common.runtime import database_url_or_embedded
from castwatch.settings import Settings

logger = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--migrate", action="store_true",
                        help="apply migrations before serving (always done on the embedded database)")
    parser.add_argument("--dev", action="store_true",
                        help="run the Flask/Socket.IO development server instead of gunicorn")


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    """The gunicorn configuration the API runs with (also used by the benchmark)."""
    host, port = settings.api.bind
    return {
        "bind": f"{host}:{port}",
        "workers": settings.api.workers,
        "threads": settings.api.threads,
        # gthread that disconnects Socket.IO clients on SIGTERM (stops in < 1 s, not 10 s).
        "worker_class": "castwatch.cms_api.worker.LiveThreadWorker",
        "timeout": 60,
        "graceful_timeout": 10,
        "keepalive": 5,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": settings.log_level.lower(),
        "proc_name": "castwatch-api",
        # gunicorn ≥ 25.1 opens a control socket under $HOME (gunicornc); castwatch does not use
        # it, and under a read-only root file system (docker --read-only) it logs an error
        "control_socket_disable": True,
    }


def serve_with_gunicorn(factory: Callable[[], Any], options: dict[str, Any]) -> None:
    """Run ``factory()`` (called in each worker after fork) under gunicorn until stopped."""
    from gunicorn.app.base import BaseApplication

    class _App(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.items():
                if key in self.cfg.settings:  # e.g. control_socket_disable on gunicorn < 25.1
                    self.cfg.set(key, value)

        def load(self) -> Any:
            return factory()

    _App().run()


def run(args: argparse.Namespace, settings: Settings) -> int:
    configure_logging(settings.log_format, settings.log_level, "api")
    url, embedded = database_url_or_embedded(settings)
    try:
        if embedded is not None or args.migrate:
            upgrade(url)
            logger.info("database migrated")

        def factory() -> Any:
            from castwatch.cms_api.app import create_app

            return create_app(settings, database_url=url)

        host, port = settings.api.bind
        if args.dev:
            app = factory()
            app.extensions["socketio"].run(app, host=host, port=port, allow_unsafe_werkzeug=True)
        else:
            logger.info("serving on http://%s:%d", host, port)
            serve_with_gunicorn(factory, gunicorn_options(settings))
    finally:
        if embedded is not None:
            embedded.stop()
    return 0
