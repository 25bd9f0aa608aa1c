"""Settings of the incident correlator and schedule monitor (``castwatch incidents``).

``IncidentSettings.from_env(env)`` reads the ``INCIDENTS_*`` variables below; the schedule
monitor's ``SCHEDULE_*`` are in :mod:`castwatch.schedules.settings`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from castwatch.common.env import ConfigError, env_bind, env_float, env_str


@dataclass(frozen=True)
class IncidentSettings:
    #: seconds between rounds when no NOTIFY arrives (INCIDENTS_POLL_INTERVAL_S)
    poll_interval_s: float = 5.0
    #: alerts opened this close together may share a cause (INCIDENTS_WINDOW_S)
    window_s: float = 60.0
    #: wait after a NOTIFY so a burst is correlated in one round (INCIDENTS_SETTLE_S)
    settle_s: float = 0.5
    #: resolved alerts this recent feed the known-issue patterns (INCIDENTS_HISTORY_S)
    history_s: float = 3600.0
    #: a replacement known-issue library (INCIDENTS_LIBRARY); None = the built-in one
    library_path: Path | None = None
    #: Prometheus /metrics (INCIDENTS_METRICS_BIND)
    metrics_bind: tuple[str, int] = ("127.0.0.1", 9104)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> IncidentSettings:
        def positive(name: str, default: float) -> float:
            value = env_float(env, name, default)
            if value <= 0:
                raise ConfigError(name, "must be greater than 0")
            return value

        library = env_str(env, "INCIDENTS_LIBRARY", None)
        return cls(
            poll_interval_s=positive("INCIDENTS_POLL_INTERVAL_S", 5.0),
            window_s=positive("INCIDENTS_WINDOW_S", 60.0),
            settle_s=positive("INCIDENTS_SETTLE_S", 0.5),
            history_s=positive("INCIDENTS_HISTORY_S", 3600.0),
            library_path=Path(library) if library else None,
            metrics_bind=env_bind(env, "INCIDENTS_METRICS_BIND", "127.0.0.1:9104"),
        )
