"""Settings: the only place that reads the environment.

``Settings.from_env()`` reads every variable once, validates it and returns a frozen object
that is passed into every component. A bad value raises :class:`ConfigError` whose message
names the variable, so a process fails at start-up, never later. Secrets may be given as
``NAME`` or as ``NAME_FILE`` (a path whose content is the value, for Docker/Kubernetes secrets).

Each process area keeps its own settings dataclass next to its code (``ProbeSettings``,
``EncoderSettings``, ``NotifySettings``, ``ApiSettings``); each has ``from_env(env)`` built on
the parsing helpers below and is called from here with the same mapping.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from castwatch.cms_api.settings import ApiSettings
    from castwatch.encoder_manager.settings import EncoderSettings
    from castwatch.incidents.settings import IncidentSettings
    from castwatch.notifier.settings import NotifySettings
    from castwatch.packager_monitor.settings import ProbeSettings

#: Values shipped in deploy/.env.example; start-up refuses them as secrets.
PLACEHOLDER_SECRETS = frozenset({"change-me", "changeme", "CHANGE_ME", "replace-me"})
#: Secrets compose passes to the other services of the stack (PostgreSQL, InfluxDB, Grafana);
#: ``castwatch migrate``, which every service of the stack waits for, refuses their placeholders.
STACK_SECRETS = ("POSTGRES_PASSWORD", "GRAFANA_DB_PASSWORD", "GRAFANA_ADMIN_PASSWORD",
                 "INFLUXDB_ADMIN_PASSWORD", "INFLUXDB_TOKEN", "CASTWATCH_SECRET_KEY")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name = name


def env_str(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    """The stripped value of ``name``, or ``default`` when unset or empty."""
    value = env.get(name, "").strip()
    return value if value else default


def env_required(env: Mapping[str, str], name: str) -> str:
    value = env_str(env, name)
    if value is None:
        raise ConfigError(name, "is required")
    return value


def env_int(
    env: Mapping[str, str], name: str, default: int, *, minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    raw = env_str(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(name, f"must be an integer, got {raw!r}") from None
    _check_range(name, value, minimum, maximum)
    return value


def env_float(
    env: Mapping[str, str], name: str, default: float, *, minimum: float | None = None,
    maximum: float | None = None,
) -> float:
    raw = env_str(env, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(name, f"must be a number, got {raw!r}") from None
    _check_range(name, value, minimum, maximum)
    return value


def _check_range(name: str, value: float, minimum: float | None, maximum: float | None) -> None:
    if minimum is not None and value < minimum:
        raise ConfigError(name, f"must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(name, f"must be <= {maximum}, got {value}")


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env_str(env, name)
    if raw is None:
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise ConfigError(name, f"must be true or false, got {raw!r}")


def env_choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env_str(env, name, default) or default
    if value not in choices:
        raise ConfigError(name, f"must be one of {', '.join(choices)}, got {value!r}")
    return value


def env_secret(env: Mapping[str, str], name: str) -> str | None:
    """``NAME`` or the content of the file named by ``NAME_FILE``; placeholders are refused."""
    value = env_str(env, name)
    file_name = env_str(env, f"{name}_FILE")
    if value is not None and file_name is not None:
        raise ConfigError(name, f"set either {name} or {name}_FILE, not both")
    if file_name is not None:
        try:
            value = Path(file_name).read_text().strip() or None
        except OSError as exc:
            raise ConfigError(f"{name}_FILE", f"cannot read {file_name}: {exc.strerror}") from None
    if value is not None and value in PLACEHOLDER_SECRETS:
        raise ConfigError(name, "still has the placeholder value from .env.example")
    return value


def env_bind(env: Mapping[str, str], name: str, default: str) -> tuple[str, int]:
    """A ``host:port`` pair."""
    raw = env_str(env, name, default) or default
    host, sep, port = raw.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(name, f"must be host:port, got {raw!r}")
    return (host or "0.0.0.0", int(port))


@dataclass(frozen=True)
class InfluxSettings:
    """Where time series go; ``url=None`` disables writing (points are counted as skipped)."""

    url: str | None = None
    token: str | None = None
    org: str = "castwatch"
    bucket: str = "castwatch"
    batch_size: int = 500
    flush_interval_ms: int = 1000

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> InfluxSettings:
        url = env_str(env, "INFLUXDB_URL")
        if url is not None and not url.startswith(("http://", "https://")):
            raise ConfigError("INFLUXDB_URL", f"must be an http(s) URL, got {url!r}")
        return cls(
            url=url,
            token=env_secret(env, "INFLUXDB_TOKEN"),
            org=env_str(env, "INFLUXDB_ORG", "castwatch") or "castwatch",
            bucket=env_str(env, "INFLUXDB_BUCKET", "castwatch") or "castwatch",
            batch_size=env_int(env, "INFLUXDB_BATCH_SIZE", 500, minimum=1),
            flush_interval_ms=env_int(env, "INFLUXDB_FLUSH_INTERVAL_MS", 1000, minimum=10),
        )


def _validate_database_url(url: str | None) -> str | None:
    if url is None:
        return None
    if not url.startswith(("postgresql://", "postgresql+psycopg2://", "postgres://")):
        raise ConfigError("DATABASE_URL", f"must be a postgresql:// URL, got {url.split(':')[0]}:…")
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    from urllib.parse import urlsplit

    if urlsplit(url).password in PLACEHOLDER_SECRETS:
        raise ConfigError("DATABASE_URL", "still has the placeholder password from .env.example")
    return url


def _area_defaults(area: str):  # type: ignore[no-untyped-def]
    """Default settings of one process area (imported late: the areas import this module)."""
    from castwatch.cms_api.settings import ApiSettings
    from castwatch.encoder_manager.settings import EncoderSettings
    from castwatch.incidents.settings import IncidentSettings
    from castwatch.notifier.settings import NotifySettings
    from castwatch.packager_monitor.settings import ProbeSettings

    classes = {"api": ApiSettings, "probe": ProbeSettings, "encoders": EncoderSettings,
               "notify": NotifySettings, "incidents": IncidentSettings}
    return classes[area]()


@dataclass(frozen=True)
class Settings:
    """Everything a castwatch process needs, read once at start-up."""

    database_url: str | None = None
    data_dir: Path = Path(".castwatch")
    log_format: str = "text"
    log_level: str = "INFO"
    influx: InfluxSettings = field(default_factory=InfluxSettings)
    api: ApiSettings = field(default_factory=lambda: _area_defaults("api"))
    probe: ProbeSettings = field(default_factory=lambda: _area_defaults("probe"))
    encoders: EncoderSettings = field(default_factory=lambda: _area_defaults("encoders"))
    notify: NotifySettings = field(default_factory=lambda: _area_defaults("notify"))
    incidents: IncidentSettings = field(default_factory=lambda: _area_defaults("incidents"))
    #: seals stream keys at rest (``common.sealing``); the API and the encoder manager share it
    secret_key: str | None = field(default=None, repr=False)
    #: names (never values) of the ``STACK_SECRETS`` that still hold a placeholder
    placeholder_secrets: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every setting; raise :class:`ConfigError` naming a bad variable."""
        from castwatch.cms_api.settings import ApiSettings
        from castwatch.encoder_manager.settings import EncoderSettings
        from castwatch.incidents.settings import IncidentSettings
        from castwatch.notifier.settings import NotifySettings
        from castwatch.packager_monitor.settings import ProbeSettings

        env = os.environ if env is None else env
        return cls(
            database_url=_validate_database_url(env_secret(env, "DATABASE_URL")),
            data_dir=Path(env_str(env, "CASTWATCH_DATA_DIR", ".castwatch") or ".castwatch"),
            log_format=env_choice(env, "LOG_FORMAT", "text", ("text", "json")),
            log_level=env_choice(
                env, "LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
            ),
            influx=InfluxSettings.from_env(env),
            api=ApiSettings.from_env(env),
            probe=ProbeSettings.from_env(env),
            encoders=EncoderSettings.from_env(env),
            notify=NotifySettings.from_env(env),
            incidents=IncidentSettings.from_env(env),
            secret_key=env_secret(env, "CASTWATCH_SECRET_KEY"),
            placeholder_secrets=tuple(n for n in STACK_SECRETS if env.get(n) in PLACEHOLDER_SECRETS),
        )

    def require_database_url(self) -> str:
        if self.database_url is None:
            raise ConfigError("DATABASE_URL", "is required for this command")
        return self.database_url
