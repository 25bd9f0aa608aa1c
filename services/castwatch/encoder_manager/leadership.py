"""One active controller per encoder group, across replicas: PostgreSQL advisory locks.

Each group's lock is the session-level ``pg_try_advisory_lock(NAMESPACE, group_id)``, held on
one dedicated connection; key ``(NAMESPACE, 0)`` stands for the encoders in no group. The
locks die with the connection, so a crashed replica's groups are taken over by another one
within one ``lock_interval_s``. When the connection breaks, this replica drops every claim
at once (it may no longer hold them) and reconnects on the next :meth:`refresh`.

Synchronous (psycopg2); the manager calls it from one dedicated thread.
"""

from __future__ import annotations

import contextlib
import logging

import psycopg2
import psycopg2.extensions

from castwatch.common.bus import dsn_for

logger = logging.getLogger(__name__)

#: First key of the two-int advisory lock: "CWEN" — keeps clear of other users of the locks.
NAMESPACE = 0x4357454E & 0x7FFFFFFF
UNGROUPED = 0


class Leadership:
    """Holds the advisory locks of the groups this replica controls."""

    def __init__(self, url: str, replica: str) -> None:
        self._dsn = dsn_for(url)
        self._replica = replica
        self._conn: psycopg2.extensions.connection | None = None
        self.held: set[int] = set()

    def _connection(self) -> psycopg2.extensions.connection:
        if self._conn is None or self._conn.closed:
            name = f"castwatch-leader {self._replica}"[:63]
            self._conn = psycopg2.connect(self._dsn, application_name=name, connect_timeout=5)
            self._conn.autocommit = True
            self.held = set()
        return self._conn

    def refresh(self, wanted: set[int]) -> set[int]:
        """Try to hold the lock of every key in ``wanted``, release the others; returns held."""
        try:
            conn = self._connection()
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
                for key in sorted(self.held - wanted):
                    cur.execute("SELECT pg_advisory_unlock(%s, %s)", (NAMESPACE, key))
                    self.held.discard(key)
                for key in sorted(wanted - self.held):
                    cur.execute("SELECT pg_try_advisory_lock(%s, %s)", (NAMESPACE, key))
                    row = cur.fetchone()
                    if row and row[0]:
                        self.held.add(key)
                        logger.info("controller for group=%s replica=%s", key, self._replica)
        except psycopg2.Error as exc:
            logger.warning("leadership connection lost, releasing every group: %s", exc)
            self.close()
        return set(self.held)

    def close(self) -> None:
        self.held = set()
        if self._conn is not None and not self._conn.closed:
            with contextlib.suppress(psycopg2.Error):
                self._conn.close()
        self._conn = None
