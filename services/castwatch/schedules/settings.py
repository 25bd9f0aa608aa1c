"""Settings of the schedule monitor (run inside ``castwatch incidents``): ``SCHEDULE_*``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from castwatch.common.egress import EgressPolicy
from castwatch.common.env import ConfigError, env_float, env_int


@dataclass(frozen=True)
class ScheduleSettings:
    #: seconds between schedule imports of a source (SCHEDULE_IMPORT_INTERVAL_S)
    schedule_import_interval_s: float = 900.0
    #: raise SCHEDULED_EVENT_NOT_LIVE this many minutes before start (SCHEDULE_NOT_LIVE_LEAD_MIN)
    not_live_lead_min: float = 15.0
    #: import this many days ahead (SCHEDULE_HORIZON_DAYS)
    horizon_days: float = 14.0
    #: decoded-byte cap of one schedule download (SCHEDULE_MAX_BYTES)
    schedule_max_bytes: int = 20 * 1024 * 1024
    #: deadline of one whole schedule download (SCHEDULE_FETCH_TIMEOUT_S)
    schedule_fetch_timeout_s: float = 30.0
    #: where schedule sources may be fetched from (EGRESS_ALLOW)
    egress: EgressPolicy = EgressPolicy()

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ScheduleSettings:
        def positive(name: str, default: float) -> float:
            value = env_float(env, name, default)
            if value <= 0:
                raise ConfigError(name, "must be greater than 0")
            return value

        return cls(
            schedule_import_interval_s=positive("SCHEDULE_IMPORT_INTERVAL_S", 900.0),
            not_live_lead_min=positive("SCHEDULE_NOT_LIVE_LEAD_MIN", 15.0),
            horizon_days=positive("SCHEDULE_HORIZON_DAYS", 14.0),
            schedule_max_bytes=env_int(env, "SCHEDULE_MAX_BYTES", 20 * 1024 * 1024, minimum=1024,
                                       maximum=1 << 30),
            schedule_fetch_timeout_s=positive("SCHEDULE_FETCH_TIMEOUT_S", 30.0),
            egress=EgressPolicy.from_env(env),
        )
