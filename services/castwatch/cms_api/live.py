"""Socket.IO live updates on namespace ``/live``, fed by PostgreSQL LISTEN/NOTIFY.

Clients authenticate on connect with ``auth={"token": key}`` or the same headers as the REST
API (``API_ANONYMOUS_READ`` lets anonymous clients in); others are refused. A connect attempt
spends a token of the client address's REST rate-limit bucket. Every socket's key is checked
again every ``API_KEY_CACHE_SECONDS`` (at least every 0.2 s): a revoked, expired or deleted key's
socket gets a ``revoked`` event and is disconnected. A
:class:`castwatch.common.bus.Listener` thread per worker receives every committed change of the
watched tables — made by this process or any other — reads the row fresh and emits it:

=================  ================  =========================================
table              event             payload
=================  ================  =========================================
alerts             ``alert``         the alert as in ``GET /api/v1/alerts/{id}`` (no events)
alert_events       ``alert_event``   the event row
channels           ``channel``       the channel as in ``GET /api/v1/channels/{id}``
encoders           ``encoder``       the encoder as in ``GET /api/v1/encoders/{id}``
encoder_groups     ``encoder_group`` the group
encoder_commands   ``encoder_command`` the command as in ``GET /api/v1/encoders/{id}/commands``
failover_events    ``failover_event`` the failover event
encoder_outputs    ``encoder_output`` the pool output as in ``GET /api/v1/encoder-groups/{id}/pool``
probes             ``probe``         the probe
deliveries         ``delivery``      the delivery (without its message payload)
=================  ================  =========================================

A deleted row is announced as ``{"id": N, "deleted": true}``. Changes are batched for
``BATCH_S`` and read with one query per table (a burst of updates of one row is pushed once,
in its newest state); with no client connected no row is read. Each worker pushes to its own
clients, so several workers work when clients use the websocket transport only (long-polling
needs sticky sessions; the default single worker needs nothing).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask, request
from flask_socketio import SocketIO
from pydantic import BaseModel
from socketio.exceptions import ConnectionRefusedError  # carries its message to the client
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from castwatch.cms_api.auth import (
    ANONYMOUS,
    InvalidKey,
    KeyStore,
    Principal,
    hash_key,
    presented_key,
)
from castwatch.cms_api.cache import TableVersions
from castwatch.cms_api.metrics import ApiMetrics
from castwatch.cms_api.ratelimit import RateLimiter
from castwatch.cms_api.schemas.alerts import AlertEventOut, AlertOut
from castwatch.cms_api.schemas.catalog import ChannelOut, ProbeOut
from castwatch.cms_api.schemas.encoders import CommandOut, EncoderOut, FailoverEventOut, GroupOut
from castwatch.cms_api.schemas.notify import DeliveryOut
from castwatch.cms_api.schemas.pools import OutputOut
from castwatch.common.bus import Listener, channel_for
from castwatch.common.models import (
    Alert,
    AlertEvent,
    ApiKey,
    Channel,
    Delivery,
    Encoder,
    EncoderCommand,
    EncoderGroup,
    EncoderOutput,
    FailoverEvent,
    Probe,
    utcnow,
)

logger = logging.getLogger(__name__)

NAMESPACE = "/live"
BATCH_S = 0.05  # changes arriving this close together are read and pushed together


@dataclass(frozen=True)
class Feed:
    event: str
    model: type[Any]
    out: type[BaseModel]


FEEDS: dict[str, Feed] = {
    "alerts": Feed("alert", Alert, AlertOut),
    "alert_events": Feed("alert_event", AlertEvent, AlertEventOut),
    "channels": Feed("channel", Channel, ChannelOut),
    "encoders": Feed("encoder", Encoder, EncoderOut),
    "encoder_groups": Feed("encoder_group", EncoderGroup, GroupOut),
    "encoder_commands": Feed("encoder_command", EncoderCommand, CommandOut),
    "failover_events": Feed("failover_event", FailoverEvent, FailoverEventOut),
    "encoder_outputs": Feed("encoder_output", EncoderOutput, OutputOut),
    "probes": Feed("probe", Probe, ProbeOut),
    "deliveries": Feed("delivery", Delivery, DeliveryOut),
}


def stale_digests(rows: Mapping[str, tuple[datetime | None, datetime | None]],
                  wanted: set[str], now: datetime) -> set[str]:
    """Which of the ``wanted`` key digests may no longer be used at ``now``.

    ``rows`` maps each digest found in ``api_keys`` to ``(revoked_at, expires_at)``; a digest
    not found (the key was deleted) is stale too.
    """
    stale = set()
    for digest in wanted:
        found = rows.get(digest)
        if found is None:
            stale.add(digest)
            continue
        revoked_at, expires_at = found
        if revoked_at is not None or (expires_at is not None and expires_at <= now):
            stale.add(digest)
    return stale


def presented_token(auth: Any, headers: Any) -> str | None:
    """The key a connecting client presents (``auth={'token': …}`` or the REST headers)."""
    token = auth.get("token") if isinstance(auth, dict) else None
    token = token or presented_key(headers)
    return str(token) if token else None


def connect_principal(auth: Any, headers: Any, keys: KeyStore, anonymous_read: bool) -> Principal:
    """Who is connecting; raises ``ConnectionRefusedError`` for a missing or bad key."""
    token = presented_token(auth, headers)
    if not token:
        if anonymous_read:
            return ANONYMOUS
        raise ConnectionRefusedError("an API key is required (auth={'token': key})")
    try:
        who = keys.resolve(token)
    except InvalidKey as exc:
        raise ConnectionRefusedError(str(exc)) from None
    if not who.allows("read"):
        raise ConnectionRefusedError(f"live updates need the 'read' scope; the key has {who.scope!r}")
    return who


def client_address(environ: Mapping[str, Any], trusted_proxies: int) -> str:
    """The connecting client's address, as REST rate limits see it.

    Socket.IO requests bypass Flask's ``ProxyFix``, so with ``trusted_proxies`` (nginx in front)
    the address is taken from ``X-Forwarded-For`` here, the same way.
    """
    if trusted_proxies:
        forwarded = [a.strip() for a in str(environ.get("HTTP_X_FORWARDED_FOR", "")).split(",")
                     if a.strip()]
        if len(forwarded) >= trusted_proxies:
            return forwarded[-trusted_proxies]
    return str(environ.get("REMOTE_ADDR") or "unknown")


class LiveHub:
    """Owns the Socket.IO server's ``/live`` handlers and the bus listener feeding them."""

    def __init__(
        self, socketio: SocketIO, session_factory: sessionmaker[Session], database_url: str | None,
        keys: KeyStore, metrics: ApiMetrics, versions: TableVersions, *, anonymous_read: bool,
        limiter: RateLimiter | None = None, trusted_proxies: int = 0, recheck_s: float = 5.0,
    ) -> None:
        self.socketio = socketio
        self._factory = session_factory
        self._url = database_url
        self._keys = keys
        self._metrics = metrics
        self._anonymous_read = anonymous_read
        self.versions = versions
        self.listener: Listener | None = None
        self.clients = 0
        self._pending: dict[tuple[str, int], bool] = {}  # (table, id) -> deleted
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._pusher: threading.Thread | None = None
        self._sids: set[str] = set()
        self._limiter = limiter
        self._trusted_proxies = trusted_proxies
        #: how often every socket's key is checked again (revoked / expired → disconnected)
        self.recheck_s = max(0.2, recheck_s)
        self._keyed: dict[str, str] = {}  # sid → SHA-256 of the key it connected with
        self._rechecker: threading.Thread | None = None
        self.closing = False
        versions.is_live = self._listening

    def install(self) -> None:
        sio = self.socketio

        @sio.on("connect", namespace=NAMESPACE)
        def _connect(auth: Any = None) -> None:
            if self.closing:
                raise ConnectionRefusedError("the API is restarting; reconnect in a moment")
            self._limit_connect(request.environ)
            who = connect_principal(auth, request.headers, self._keys, self._anonymous_read)
            token = presented_token(auth, request.headers)
            with self._lock:
                self.clients += 1
                self._sids.add(request.sid)  # type: ignore[attr-defined]
                if token and not who.anonymous:
                    self._keyed[request.sid] = hash_key(token)  # type: ignore[attr-defined]
            self._metrics.live_clients.inc()
            logger.info("live client connected name=%s", who.name)
            sio.emit("hello", {"name": who.name, "scope": who.scope,
                               "events": sorted(f.event for f in FEEDS.values())},
                     namespace=NAMESPACE, to=request.sid)  # type: ignore[attr-defined]

        @sio.on("disconnect", namespace=NAMESPACE)
        def _disconnect(*_args: Any) -> None:
            with self._lock:
                self.clients = max(0, self.clients - 1)
                self._sids.discard(request.sid)  # type: ignore[attr-defined]
                self._keyed.pop(request.sid, None)  # type: ignore[attr-defined]
            self._metrics.live_clients.dec()

    def _limit_connect(self, environ: Mapping[str, Any]) -> None:
        """A connect attempt spends a token of the client address's REST bucket."""
        if self._limiter is None:
            return
        wait = self._limiter.take(f"addr:{client_address(environ, self._trusted_proxies)}")
        if wait:
            raise ConnectionRefusedError(f"too many requests; retry in {wait} s")

    def start_rechecks(self) -> None:
        """Start the thread that checks every socket's key each ``recheck_s`` (idempotent)."""
        if self._rechecker is not None:
            return
        self._rechecker = threading.Thread(target=self._recheck_loop, name="live-keys", daemon=True)
        self._rechecker.start()

    def _recheck_loop(self) -> None:
        while not self._stopping.wait(self.recheck_s):
            try:
                self.recheck()
            except Exception:  # a database hiccup must not end the checks for good
                logger.exception("live key re-check failed")

    def recheck(self, now: datetime | None = None) -> int:
        """Disconnect every socket whose key was revoked, expired or deleted; returns how many.

        One query for all distinct keys, straight from the database (not the key cache), so a
        revocation reaches every open socket within ``recheck_s``.
        """
        with self._lock:
            keyed = dict(self._keyed)
        if not keyed:
            return 0
        wanted = set(keyed.values())
        with self._factory() as session:
            rows = {r.key_hash: (r.revoked_at, r.expires_at) for r in session.execute(
                select(ApiKey.key_hash, ApiKey.revoked_at, ApiKey.expires_at)
                .where(ApiKey.key_hash.in_(wanted)))}
        stale = stale_digests(rows, wanted, now or utcnow())
        gone = [sid for sid, digest in keyed.items() if digest in stale]
        for sid in gone:
            self._keys.forget(keyed[sid])  # REST requests with it fail at once too
            logger.info("live client disconnected: its API key is no longer valid sid=%s", sid)
            try:
                self.socketio.emit("revoked", {"reason": "the API key was revoked or has expired"},
                                   namespace=NAMESPACE, to=sid)
                self.socketio.server.disconnect(sid, namespace=NAMESPACE)
            except Exception:  # already gone
                logger.debug("live disconnect failed sid=%s", sid, exc_info=True)
            with self._lock:
                self._keyed.pop(sid, None)
        return len(gone)

    def _listening(self) -> bool:
        listener = self.listener
        return listener is not None and listener.connected.is_set()

    def start(self) -> None:
        """Start LISTENing and pushing (one listener and one pusher thread per process)."""
        self._stopping.clear()
        self.start_rechecks()
        if self._url is None or self.listener is not None:
            return
        self._pusher = threading.Thread(target=self._push_loop, name="live-pusher", daemon=True)
        self._pusher.start()
        self.listener = Listener(self._url, [channel_for(t) for t in FEEDS], self.on_notify,
                                 on_reconnect=self.versions.bump_all).start()

    def stop(self) -> None:
        if self.listener is not None:
            self.listener.stop()
            self.listener = None
        self._stopping.set()
        self._wake.set()
        if self._pusher is not None:
            self._pusher.join(5)
            self._pusher = None
        if self._rechecker is not None:
            self._rechecker.join(5)
            self._rechecker = None

    def close_clients(self) -> int:
        """Disconnect every ``/live`` client now (the worker is stopping); returns how many.

        A websocket holds a worker thread for as long as it is open, so without this a graceful
        stop waits the whole ``graceful_timeout`` for clients that never hang up. Clients see a
        server disconnect and reconnect (to the next worker) on their own; new connections are
        refused from now on.
        """
        self.closing = True
        with self._lock:
            sids = list(self._sids)
        for sid in sids:
            try:
                self.socketio.server.disconnect(sid, namespace=NAMESPACE)
            except Exception:  # a client that is going away anyway
                logger.debug("live disconnect failed sid=%s", sid, exc_info=True)
        try:
            self.socketio.server.eio.disconnect()  # engine.io sockets left without a namespace
        except Exception:
            logger.debug("engine.io disconnect failed", exc_info=True)
        return len(sids)

    def on_notify(self, channel: str, payload: dict[str, Any]) -> None:
        """Note the announced change; the pusher reads and emits it shortly after.

        Notifications of the same row within one batch are pushed once (its newest state);
        with no client connected nothing is read at all.
        """
        table = payload.get("table") or channel.removeprefix("castwatch_")
        self.versions.bump(table)  # first: cached answers about this table are stale now
        ident = payload.get("id")
        if table not in FEEDS or ident is None or self.clients == 0:
            return
        with self._lock:
            key = (table, int(ident))
            self._pending[key] = self._pending.get(key, False) or payload.get("op") == "DELETE"
        self._wake.set()

    def _push_loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(1.0)
            if self._stopping.is_set():
                return
            self._wake.clear()
            self._stopping.wait(BATCH_S)  # let a burst of changes gather into one read
            try:
                self.flush()
            except Exception:  # a bad batch must not end live updates for good
                logger.exception("live push failed")

    def flush(self) -> int:
        """Push every pending change now; returns how many events were emitted."""
        with self._lock:
            pending, self._pending = self._pending, {}
        self.push(pending)
        return len(pending)

    def push(self, pending: dict[tuple[str, int], bool]) -> None:
        """Read the changed rows (one query per table) and emit each, in arrival order."""
        by_table: dict[str, list[int]] = {}
        for (table, ident), deleted in pending.items():
            if not deleted:
                by_table.setdefault(table, []).append(ident)
        fresh: dict[tuple[str, int], dict[str, Any]] = {}
        if by_table:
            with self._factory() as session:
                for table, ids in by_table.items():
                    feed = FEEDS[table]
                    for row in session.scalars(select(feed.model).where(feed.model.id.in_(ids))):
                        fresh[(table, row.id)] = feed.out.model_validate(row).model_dump(mode="json")
        for key in pending:
            feed = FEEDS[key[0]]
            data = fresh.get(key) or {"id": key[1], "deleted": True}
            self.socketio.emit(feed.event, data, namespace=NAMESPACE)
            self._metrics.live_events.labels(feed.event).inc()


def attach_live(
    app: Flask, session_factory: sessionmaker[Session], database_url: str | None, keys: KeyStore,
    metrics: ApiMetrics, versions: TableVersions, *, anonymous_read: bool, start_listener: bool,
    limiter: RateLimiter | None = None, trusted_proxies: int = 0, recheck_s: float = 5.0,
) -> LiveHub:
    """Create the Socket.IO server on ``app`` (threading mode) and its ``/live`` hub."""
    socketio = SocketIO(app, async_mode="threading", logger=False,
                        engineio_logger=False)
    hub = LiveHub(socketio, session_factory, database_url, keys, metrics, versions,
                  anonymous_read=anonymous_read, limiter=limiter, trusted_proxies=trusted_proxies,
                  recheck_s=recheck_s)
    hub.install()
    if start_listener:
        hub.start()
    app.extensions["castwatch_live"] = hub
    return hub
