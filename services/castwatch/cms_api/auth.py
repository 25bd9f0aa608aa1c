"""API keys: creation, hashing, lookup (cached briefly) and scope checks.

A key looks like ``cw_<22 random chars>…``; only its SHA-256 is stored, with its first 11
characters as ``prefix`` to show in lists. Scopes are ordered ``read < write < admin``; the
narrow ``webhook`` scope (Alertmanager's key) may post the Alertmanager webhook and nothing else. A key
is valid when it exists, is not revoked and has not expired. Lookups are cached for
``cache_ttl_s`` seconds per worker, so a revocation takes effect within that time.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from castwatch.common.models import SCOPES, ApiKey, utcnow
from castwatch.common.models.access import RANKED_SCOPES

SCOPE_RANK = {name: rank for rank, name in enumerate(RANKED_SCOPES)}
#: the narrow scope of Alertmanager's webhook key: that one operation, nothing else
WEBHOOK_SCOPE = "webhook"
KEY_PREFIX_LEN = 11
LAST_USED_EVERY_S = 60.0


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key's name and scope, or the anonymous reader."""

    name: str
    scope: str
    key_id: int | None = None
    expires_at: datetime | None = None

    @property
    def anonymous(self) -> bool:
        return self.key_id is None

    def allows(self, needed: str) -> bool:
        """Whether this key may do what needs ``needed``: ranked scopes allow every lower one;
        ``webhook`` allows only the webhook (which an admin key may also post)."""
        if needed == WEBHOOK_SCOPE:
            return self.scope in (WEBHOOK_SCOPE, "admin")
        if self.scope == WEBHOOK_SCOPE:
            return False
        return SCOPE_RANK[self.scope] >= SCOPE_RANK[needed]


ANONYMOUS = Principal(name="anonymous", scope="read")


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def generate_key() -> str:
    return "cw_" + secrets.token_urlsafe(32)


def create_key(
    session: Session, *, name: str, scope: str, expires_in: timedelta | None,
    now: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Store a new key and return ``(row, plaintext)``; the plaintext is never stored."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
    now = now or utcnow()
    key = generate_key()
    row = ApiKey(name=name, prefix=key[:KEY_PREFIX_LEN], key_hash=hash_key(key), scope=scope,
                 created_at=now, expires_at=now + expires_in if expires_in else None)
    session.add(row)
    session.flush()
    return row, key


def key_state(row: ApiKey, now: datetime | None = None) -> str:
    """``revoked``, ``expired`` or ``active`` (the CLI's list and ``GET /api/v1/keys`` agree)."""
    now = now or utcnow()
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= now:
        return "expired"
    return "active"


def revoke_key(row: ApiKey, now: datetime | None = None) -> bool:
    """Mark ``row`` revoked (idempotent: an earlier revocation time is kept).

    Returns whether this call revoked it. The caller commits; workers stop accepting the key
    within ``API_KEY_CACHE_SECONDS`` (the revoking worker at once, see :meth:`KeyStore.forget`).
    """
    if row.revoked_at is not None:
        return False
    row.revoked_at = now or utcnow()
    return True


class InvalidKey(Exception):
    """A presented key that is unknown, revoked or expired (message says which)."""


class KeyStore:
    """Resolves presented keys to principals, caching each answer for ``cache_ttl_s``."""

    def __init__(
        self, session_factory: sessionmaker[Session], *, cache_ttl_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._factory = session_factory
        self._ttl = cache_ttl_s
        self._clock = clock
        self._cache: dict[str, tuple[float, Principal | str]] = {}
        self._last_used: dict[int, float] = {}
        self._lock = threading.Lock()

    def resolve(self, key: str) -> Principal:
        """The principal of ``key``; raises :class:`InvalidKey` when it is not usable now."""
        digest = hash_key(key)
        now = self._clock()
        cached = self._cache.get(digest)
        if cached is None or cached[0] < now:
            cached = (now + self._ttl, self._load(digest))
            with self._lock:
                if len(self._cache) > 10_000:
                    self._cache.clear()
                self._cache[digest] = cached
        found = cached[1]
        if isinstance(found, str):
            raise InvalidKey(found)
        if found.expires_at is not None and found.expires_at <= utcnow():
            raise InvalidKey("the API key has expired")
        self._touch(found, now)
        return found

    def forget(self, digest: str) -> None:
        """Drop the cached answer for the key with SHA-256 ``digest`` (after a revocation)."""
        with self._lock:
            self._cache.pop(digest, None)

    def _load(self, digest: str) -> Principal | str:
        with self._factory() as session:
            row = session.scalars(select(ApiKey).where(ApiKey.key_hash == digest)).one_or_none()
        if row is None:
            return "the API key is not valid"
        if row.revoked_at is not None:
            return "the API key has been revoked"
        return Principal(name=row.name, scope=row.scope, key_id=row.id, expires_at=row.expires_at)

    def _touch(self, principal: Principal, now: float) -> None:
        """Record ``last_used_at`` at most once a minute per key (not a write per request)."""
        assert principal.key_id is not None
        if now - self._last_used.get(principal.key_id, -LAST_USED_EVERY_S) < LAST_USED_EVERY_S:
            return
        self._last_used[principal.key_id] = now
        with self._factory() as session, session.begin():
            session.execute(update(ApiKey).where(ApiKey.id == principal.key_id)
                            .values(last_used_at=utcnow()))


def presented_key(headers: object) -> str | None:
    """The key from ``Authorization: Bearer …`` or ``X-API-Key``, if any."""
    get = getattr(headers, "get")  # noqa: B009 - works for dict-like headers and environs
    auth = get("Authorization") or ""
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    key = get("X-API-Key")
    return key.strip() if key else None
