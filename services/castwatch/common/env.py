"""Reading the environment: the parsing helpers every area's settings use, :class:`ConfigError`,
and the shared :class:`InfluxSettings`. Imports nothing from castwatch.

Only ``Settings.from_env()`` (``castwatch/settings.py``, next to the CLI) reads the process
environment; it hands the same mapping to each area's ``from_env(env)``, which is built on the
helpers below. A bad value raises :class:`ConfigError` whose message names the variable, so a
process fails at start-up, never later. Secrets may be given as ``NAME`` or as ``NAME_FILE`` (a
path whose content is the value, for Docker/Kubernetes secrets).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

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


def validate_database_url(url: str | None) -> str | None:
    """``DATABASE_URL`` checked: postgresql only, no placeholder password (``postgres://`` fixed)."""
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
