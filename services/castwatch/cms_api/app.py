"""The Flask application factory of the CMS API."""

from __future__ import annotations

import secrets

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from prometheus_client import CollectorRegistry
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.middleware.proxy_fix import ProxyFix

from castwatch.cms_api.auth import KeyStore
from castwatch.cms_api.blueprints import (
    access,
    alerts,
    catalog,
    demo,
    encoder_ops,
    encoders,
    health,
    incidents,
    meta,
    notifications,
    people,
    pools,
    series,
    web,
)
from castwatch.cms_api.cache import ResponseCache, TableVersions
from castwatch.cms_api.context import ApiContext, close_session
from castwatch.cms_api.errors import register_error_handlers
from castwatch.cms_api.live import attach_live
from castwatch.cms_api.metrics import ApiMetrics
from castwatch.cms_api.ratelimit import RateLimiter
from castwatch.common.db import make_engine, make_session_factory
from castwatch.common.env import ConfigError
from castwatch.settings import Settings

MAX_BODY_BYTES = 1 << 20
BLUEPRINTS = (catalog.bp, alerts.bp, encoders.bp, health.bp, people.bp, meta.bp,
              notifications.bp, encoder_ops.bp, incidents.bp, access.bp,
              series.bp, pools.bp, demo.bp, web.bp)


class LazyCookieSessions(SecureCookieSessionInterface):
    """Cookie sessions that cost nothing for requests without a session cookie.

    API clients authenticate with keys and never send one; Flask's default would still build a
    signing serializer for every request.
    """

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)


def _url_of(factory: sessionmaker[Session]) -> str | None:
    bind = factory.kw.get("bind")
    url = getattr(bind, "url", None)
    return url.render_as_string(hide_password=False) if url is not None else None


def create_app(
    settings: Settings, *, session_factory: sessionmaker[Session] | None = None,
    database_url: str | None = None, start_listener: bool = True,
    registry: CollectorRegistry | None = None,
) -> Flask:
    """Build the API: blueprints, auth, rate limits, metrics, errors and Socket.IO ``/live``.

    The database is ``session_factory`` if given, else ``database_url``, else
    ``settings.database_url``. ``start_listener=False`` skips the LISTEN thread (no live
    pushes), e.g. for one-off scripts. The Socket.IO server is ``app.extensions["socketio"]``;
    ``app.extensions["castwatch_live"].stop()`` stops the listener.
    """
    url = database_url or settings.database_url
    if session_factory is None:
        if url is None:
            raise ConfigError("DATABASE_URL", "is required to run the API")
        engine = make_engine(url, pool_size=settings.api.db_pool_size, application_name="castwatch-api")
        session_factory = make_session_factory(engine)
    url = url or _url_of(session_factory)

    app = Flask(__name__)
    app.config["SECRET_KEY"] = settings.api.secret_key or secrets.token_hex(32)
    app.session_interface = LazyCookieSessions()
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES  # larger bodies get a JSON 413
    app.json.sort_keys = False  # type: ignore[attr-defined]
    if settings.api.trusted_proxies:
        n = settings.api.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    keys = KeyStore(session_factory, cache_ttl_s=settings.api.key_cache_s)
    versions = TableVersions()
    versions.track_commits(session_factory)
    limiter = RateLimiter(settings.api.rate_limit_per_minute)
    app.extensions["castwatch"] = ApiContext(
        settings=settings, session_factory=session_factory, keys=keys,
        limiter=limiter, database_url=url,
        cache=ResponseCache(versions),
    )
    metrics = ApiMetrics(registry or CollectorRegistry())
    metrics.install(app)
    app.extensions["castwatch_metrics"] = metrics
    register_error_handlers(app)
    app.teardown_appcontext(close_session)
    for bp in BLUEPRINTS:
        app.register_blueprint(bp)
    attach_live(app, session_factory, url, keys, metrics, versions,
                anonymous_read=settings.api.anonymous_read, start_listener=start_listener,
                limiter=limiter, trusted_proxies=settings.api.trusted_proxies,
                recheck_s=settings.api.key_cache_s)
    return app
