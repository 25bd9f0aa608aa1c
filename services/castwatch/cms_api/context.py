"""Per-app state (settings, sessions, key store, limiter) and per-request helpers for views.

``create_app`` stores one :class:`ApiContext` in ``app.extensions["castwatch"]``. Views use
:func:`db` for the request's session (closed at teardown; views commit their own writes) and
:func:`principal` for the caller; :func:`guard` is called by ``@api_route`` before every view.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, g, request
from sqlalchemy.orm import Session, sessionmaker

from castwatch.cms_api.auth import ANONYMOUS, InvalidKey, KeyStore, Principal, presented_key
from castwatch.cms_api.cache import ResponseCache
from castwatch.cms_api.errors import ApiError
from castwatch.cms_api.ratelimit import RateLimiter
from castwatch.settings import Settings


@dataclass
class ApiContext:
    settings: Settings
    session_factory: sessionmaker[Session]
    keys: KeyStore
    limiter: RateLimiter
    database_url: str | None
    cache: ResponseCache


def api_context(app: Flask | None = None) -> ApiContext:
    ctx: ApiContext = (app or current_app).extensions["castwatch"]
    return ctx


def db() -> Session:
    """The request's session (one per request, closed at teardown)."""
    session: Session | None = g.get("_cw_session")
    if session is None:
        session = api_context().session_factory()
        g._cw_session = session
    return session


def close_session(_exc: BaseException | None = None) -> None:
    session: Session | None = g.pop("_cw_session", None)
    if session is not None:
        session.close()


def principal() -> Principal:
    """The authenticated caller (``ANONYMOUS`` on public routes without a key)."""
    found: Principal | None = g.get("principal")
    return found or ANONYMOUS


def authenticate(headers: Any, *, anonymous_read: bool) -> Principal | None:
    """The principal behind ``headers``; ``None`` when no key was presented.

    Raises :class:`ApiError` 401 for a key that is unknown, revoked or expired.
    """
    key = presented_key(headers)
    if key is None:
        return ANONYMOUS if anonymous_read else None
    try:
        return api_context().keys.resolve(key)
    except InvalidKey as exc:
        _limit(api_context(), f"addr:{request.remote_addr or 'unknown'}")  # slows key guessing
        raise ApiError(401, "invalid_api_key", str(exc),
                       headers={"WWW-Authenticate": 'Bearer realm="castwatch"'}) from None


def guard(scope: str | None) -> None:
    """Authenticate, authorize for ``scope`` and rate-limit the current request."""
    ctx = api_context()
    if scope is None:  # public: no key is looked at (health checks must not need the DB twice)
        return
    anonymous_ok = ctx.settings.api.anonymous_read and scope == "read"
    who = authenticate(request.headers, anonymous_read=anonymous_ok)
    if who is None or (who.anonymous and not anonymous_ok):
        raise ApiError(401, "unauthenticated",
                       "an API key is required (Authorization: Bearer <key> or X-API-Key)",
                       headers={"WWW-Authenticate": 'Bearer realm="castwatch"'})
    if not who.allows(scope):
        raise ApiError(403, "forbidden", f"this operation needs the {scope!r} scope; "
                       f"the key has {who.scope!r}")
    g.principal = who
    _rate_limit(ctx, who)


def _rate_limit(ctx: ApiContext, who: Principal) -> None:
    """Every caller is limited per client address, keyed callers also per key (behind a proxy,
    set API_TRUSTED_PROXIES so the address is the client's, not the proxy's)."""
    if not who.anonymous:
        _limit(ctx, f"key:{who.key_id}")
    _limit(ctx, f"addr:{request.remote_addr or 'unknown'}")


def _limit(ctx: ApiContext, bucket: str) -> None:
    wait = ctx.limiter.take(bucket)
    if wait:
        raise ApiError(429, "rate_limited", f"too many requests; retry in {wait} s",
                       headers={"Retry-After": str(wait)})
