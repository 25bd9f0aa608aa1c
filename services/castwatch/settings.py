"""The composed settings of a castwatch process: the only reader of the process environment.

``Settings.from_env()`` reads every variable once, validates it and returns a frozen object
that the CLI passes into every component. It lives at the top of the package, next to
``cli.py``, because it composes every area's settings (``ApiSettings``, ``ProbeSettings``, …,
each next to its own code and built on :mod:`castwatch.common.env`); ``common`` imports no area.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from castwatch.cms_api.settings import ApiSettings
from castwatch.common.env import (
    PLACEHOLDER_SECRETS,
    STACK_SECRETS,
    ConfigError,
    InfluxSettings,
    env_choice,
    env_secret,
    env_str,
    validate_database_url,
)
from castwatch.encoder_manager.settings import EncoderSettings
from castwatch.incidents.settings import IncidentSettings
from castwatch.notifier.settings import NotifySettings
from castwatch.packager_monitor.settings import ProbeSettings
from castwatch.schedules.settings import ScheduleSettings


@dataclass(frozen=True)
class Settings:
    """Everything a castwatch process needs, read once at start-up."""

    database_url: str | None = None
    data_dir: Path = Path(".castwatch")
    log_format: str = "text"
    log_level: str = "INFO"
    influx: InfluxSettings = field(default_factory=InfluxSettings)
    api: ApiSettings = field(default_factory=ApiSettings)
    probe: ProbeSettings = field(default_factory=ProbeSettings)
    encoders: EncoderSettings = field(default_factory=EncoderSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)
    incidents: IncidentSettings = field(default_factory=IncidentSettings)
    schedules: ScheduleSettings = field(default_factory=ScheduleSettings)
    #: seals stream keys at rest (``common.sealing``); the API and the encoder manager share it
    secret_key: str | None = field(default=None, repr=False)
    #: names (never values) of the ``STACK_SECRETS`` that still hold a placeholder
    placeholder_secrets: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every setting; raise :class:`ConfigError` naming a bad variable."""
        env = os.environ if env is None else env
        return cls(
            database_url=validate_database_url(env_secret(env, "DATABASE_URL")),
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
            schedules=ScheduleSettings.from_env(env),
            secret_key=env_secret(env, "CASTWATCH_SECRET_KEY"),
            placeholder_secrets=tuple(n for n in STACK_SECRETS if env.get(n) in PLACEHOLDER_SECRETS),
        )

    def require_database_url(self) -> str:
        if self.database_url is None:
            raise ConfigError("DATABASE_URL", "is required for this command")
        return self.database_url


__all__ = ["ConfigError", "Settings"]
