"""Settings of the CMS API, read from the environment by ``Settings.from_env``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from castwatch.common.env import (
    ConfigError,
    env_bind,
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_secret,
    env_str,
)

QUERY_LANGUAGES = ("flux", "victoriametrics")


@dataclass(frozen=True)
class ApiSettings:
    """Defaults must be usable on a laptop; every field has one.

    ``workers`` > 1 multiplies throughput but Socket.IO long-polling then needs sticky
    sessions (websocket-only clients work); rate limits and metrics are per worker.
    """

    bind: tuple[str, int] = ("127.0.0.1", 8080)
    workers: int = 1
    threads: int = 32
    anonymous_read: bool = False
    rate_limit_per_minute: int = 600
    secret_key: str | None = None
    trusted_proxies: int = 0
    key_cache_s: float = 5.0
    db_pool_size: int = 10
    #: how ``GET /api/v1/series`` reads the shared ``settings.influx`` server: ``flux`` (InfluxDB
    #: 2.x query API) or ``victoriametrics`` (its Prometheus-compatible ``/api/v1/query_range``)
    influx_query_language: str = "flux"
    #: ``castwatch up --demo`` only: the loopback base URLs of the Telegram Bot API stand-in and
    #: the SMTP sink's JSON listing; when both are unset the demo inbox endpoints answer 404
    demo_telegram_url: str | None = None
    demo_smtp_url: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ApiSettings:
        return cls(
            bind=env_bind(env, "API_BIND", "127.0.0.1:8080"),
            workers=env_int(env, "API_WORKERS", 1, minimum=1),
            threads=env_int(env, "API_THREADS", 32, minimum=1),
            anonymous_read=env_bool(env, "API_ANONYMOUS_READ", False),
            rate_limit_per_minute=env_int(env, "API_RATE_LIMIT_PER_MINUTE", 600, minimum=1),
            secret_key=env_secret(env, "API_SECRET_KEY"),
            trusted_proxies=env_int(env, "API_TRUSTED_PROXIES", 0, minimum=0, maximum=5),
            key_cache_s=env_float(env, "API_KEY_CACHE_SECONDS", 5.0, minimum=0, maximum=300),
            db_pool_size=env_int(env, "API_DB_POOL_SIZE", 10, minimum=1, maximum=200),
            influx_query_language=env_choice(env, "INFLUXDB_QUERY_LANGUAGE", "flux", QUERY_LANGUAGES),
            demo_telegram_url=_loopback_url(env, "DEMO_TELEGRAM_STANDIN_URL"),
            demo_smtp_url=_loopback_url(env, "DEMO_SMTP_SINK_URL"),
        )

    @property
    def demo_inbox(self) -> bool:
        """Whether the demo inbox is enabled (the demo named at least one stand-in)."""
        return bool(self.demo_telegram_url or self.demo_smtp_url)


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def _loopback_url(env: Mapping[str, str], name: str) -> str | None:
    """An ``http://`` URL on this machine's loopback (without trailing slash), or None. The
    stand-ins are demo processes on loopback; nothing else may be named here."""
    value = env_str(env, name)
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme != "http" or parts.hostname not in LOOPBACK_HOSTS:
        raise ConfigError(name, "must be an http:// URL on loopback (127.0.0.1, localhost or [::1])")
    return value.rstrip("/")
