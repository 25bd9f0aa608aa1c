"""PostgreSQL LISTEN/NOTIFY: the bus between castwatch processes.

Every row change that others must see is announced by a trigger (created in the first
migration) in the same transaction as the change, on the channel ``castwatch_<table>`` with a
JSON payload ``{"table": ..., "op": "INSERT|UPDATE|DELETE", "id": ...}``. Tables announced:
see :data:`NOTIFY_TABLES`. Listeners get the payload after commit, never before.
"""

from __future__ import annotations

import json
import logging
import select
import threading
from collections.abc import Callable, Iterable
from typing import Any

import psycopg2
import psycopg2.extensions

logger = logging.getLogger(__name__)

NOTIFY_TABLES = (
    "alerts", "alert_events", "channels", "encoders", "encoder_groups", "encoder_commands",
    "failover_events", "deliveries", "probes", "templates",
)


def channel_for(table: str) -> str:
    return f"castwatch_{table}"


def dsn_for(url: str) -> str:
    """A libpq DSN from a SQLAlchemy-style URL."""
    return url.replace("postgresql+psycopg2://", "postgresql://", 1)


Handler = Callable[[str, dict[str, Any]], None]


class Listener:
    """A thread that LISTENs on channels and calls ``handler(channel, payload)`` per NOTIFY.

    Reconnects after a lost connection (waiting ``retry_s``); ``on_reconnect`` lets the owner
    re-read state it may have missed. ``stop()`` ends the thread within ``timeout_s``.
    """

    def __init__(
        self, url: str, channels: Iterable[str], handler: Handler, *, timeout_s: float = 0.5,
        retry_s: float = 2.0, on_reconnect: Callable[[], None] | None = None,
    ) -> None:
        self._dsn = dsn_for(url)
        self._channels = tuple(channels)
        self._handler = handler
        self._timeout_s = timeout_s
        self._retry_s = retry_s
        self._on_reconnect = on_reconnect
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pg-listener", daemon=True)
        self.connected = threading.Event()

    def start(self) -> Listener:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        first = True
        while not self._stop.is_set():
            try:
                self._listen(first)
            except psycopg2.Error as exc:
                logger.warning("listener lost its connection: %s", exc)
            except Exception:
                logger.exception("listener handler failed")
            self.connected.clear()
            first = False
            self._stop.wait(self._retry_s)

    def _listen(self, first: bool) -> None:
        conn = psycopg2.connect(self._dsn, application_name="castwatch-listener", connect_timeout=5)
        try:
            conn.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
            with conn.cursor() as cur:
                for name in self._channels:
                    cur.execute(f'LISTEN "{name}"')
            self.connected.set()
            if not first and self._on_reconnect is not None:
                self._on_reconnect()
            while not self._stop.is_set():
                if select.select([conn], [], [], self._timeout_s) == ([], [], []):
                    continue
                conn.poll()
                while conn.notifies:
                    note = conn.notifies.pop(0)
                    self._dispatch(note.channel, note.payload)
        finally:
            conn.close()

    def _dispatch(self, channel: str, raw: str) -> None:
        try:
            payload = json.loads(raw) if raw else {}
        except ValueError:
            payload = {"raw": raw}
        try:
            self._handler(channel, payload)
        except Exception:
            logger.exception("listener handler failed channel=%s", channel)


def notify_sql(table: str) -> str:
    """The SQL a migration runs to announce changes of ``table`` on its bus channel."""
    return f"""
CREATE TRIGGER {table}_notify AFTER INSERT OR UPDATE OR DELETE ON {table}
FOR EACH ROW EXECUTE FUNCTION castwatch_notify();
"""


NOTIFY_FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION castwatch_notify() RETURNS trigger AS $$
DECLARE
  row_id text;
BEGIN
  IF TG_OP = 'DELETE' THEN
    row_id := to_jsonb(OLD) ->> 'id';
  ELSE
    row_id := to_jsonb(NEW) ->> 'id';
  END IF;
  PERFORM pg_notify('castwatch_' || TG_TABLE_NAME,
    json_build_object('table', TG_TABLE_NAME, 'op', TG_OP, 'id', row_id::bigint)::text);
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""
