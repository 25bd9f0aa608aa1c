"""Hot list responses cached per worker, invalidated by PostgreSQL NOTIFY.

Each watched table has a version number in :class:`TableVersions`. It is bumped when the bus
listener hears a change of the table (a commit by any process) and, at once, when this worker's
own session commits a change to it (so a client reads its own writes). A cached response is
stored under the versions read *before* its query ran, so a change that lands during the
query makes the entry stale immediately. While the listener is not connected (start-up, a
lost database connection) nothing is cached or served from the cache: a missed notification
can never leave a stale answer behind; after a reconnect every version is bumped.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker


class TableVersions:
    """Change counters of tables; ``token()`` is None while changes may go unheard."""

    def __init__(self) -> None:
        self._versions: dict[str, int] = {}
        self._epoch = 0
        self._lock = threading.Lock()
        self.is_live: Callable[[], bool] = lambda: False

    def bump(self, *tables: str) -> None:
        with self._lock:
            for table in tables:
                self._versions[table] = self._versions.get(table, 0) + 1

    def bump_all(self) -> None:
        with self._lock:
            self._epoch += 1

    def token(self, tables: Iterable[str]) -> tuple[int, ...] | None:
        if not self.is_live():
            return None
        return (self._epoch, *(self._versions.get(t, 0) for t in tables))

    def track_commits(self, factory: sessionmaker[Session]) -> None:
        """Bump the tables this process's sessions change, right after each commit."""

        @event.listens_for(factory, "after_flush")
        def _collect(session: Session, _ctx: object) -> None:
            touched = session.info.setdefault("cw_tables", set())
            for obj in (*session.new, *session.dirty, *session.deleted):
                table = getattr(obj, "__tablename__", None)
                if table:
                    touched.add(table)

        @event.listens_for(factory, "do_orm_execute")
        def _bulk(state: object) -> None:  # update(Model)/delete(Model) statements
            if getattr(state, "is_update", False) or getattr(state, "is_delete", False):
                mapper = getattr(state, "bind_mapper", None)
                table = getattr(getattr(mapper, "class_", None), "__tablename__", None)
                if table:
                    state.session.info.setdefault("cw_tables", set()).add(table)  # type: ignore[attr-defined]

        @event.listens_for(factory, "after_commit")
        def _bump(session: Session) -> None:
            touched = session.info.pop("cw_tables", None)
            if touched:
                self.bump(*touched)

        @event.listens_for(factory, "after_rollback")
        def _forget(session: Session) -> None:
            session.info.pop("cw_tables", None)


class ResponseCache:
    """A small LRU of response bodies keyed by request, valid for one version token."""

    def __init__(self, versions: TableVersions, max_entries: int = 256) -> None:
        self.versions = versions
        self._entries: OrderedDict[Hashable, tuple[tuple[int, ...], bytes]] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()

    def get(self, key: Hashable, token: tuple[int, ...] | None) -> bytes | None:
        if token is None:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != token:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: Hashable, token: tuple[int, ...] | None, body: bytes) -> None:
        if token is None:
            return
        with self._lock:
            self._entries[key] = (token, body)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
