"""Settings of the incident correlator and schedule monitor (``castwatch incidents``).

``IncidentSettings.from_env(env)`` reads the variables below; until ``Settings`` carries an
``incidents`` field, the CLI uses the defaults plus its command-line flags.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from castwatch.common.config import ConfigError, env_bind, env_float, env_int, env_str
from castwatch.common.egress import EgressPolicy


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
    #: seconds between schedule imports of a source (SCHEDULE_IMPORT_INTERVAL_S)
    schedule_import_interval_s: float = 900.0
    #: raise SCHEDULED_EVENT_NOT_LIVE this many minutes before start (SCHEDULE_NOT_LIVE_LEAD_MIN)
    not_live_lead_min: float = 15.0
    #: import this many days ahead (SCHEDULE_HORIZON_DAYS)
    horizon_days: float = 14.0
    #: Prometheus /metrics (INCIDENTS_METRICS_BIND)
    metrics_bind: tuple[str, int] = ("127.0.0.1", 9104)
    #: decoded-byte cap of one schedule download (SCHEDULE_MAX_BYTES)
    schedule_max_bytes: int = 20 * 1024 * 1024
    #: deadline of one whole schedule download (SCHEDULE_FETCH_TIMEOUT_S)
    schedule_fetch_timeout_s: float = 30.0
    #: where schedule sources may be fetched from (EGRESS_ALLOW)
    egress: EgressPolicy = EgressPolicy()

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
            schedule_import_interval_s=positive("SCHEDULE_IMPORT_INTERVAL_S", 900.0),
            not_live_lead_min=positive("SCHEDULE_NOT_LIVE_LEAD_MIN", 15.0),
            horizon_days=positive("SCHEDULE_HORIZON_DAYS", 14.0),
            metrics_bind=env_bind(env, "INCIDENTS_METRICS_BIND", "127.0.0.1:9104"),
            schedule_max_bytes=env_int(env, "SCHEDULE_MAX_BYTES", 20 * 1024 * 1024, minimum=1024,
                                       maximum=1 << 30),
            schedule_fetch_timeout_s=positive("SCHEDULE_FETCH_TIMEOUT_S", 30.0),
            egress=EgressPolicy.from_env(env),
        )
