"""Settings of the encoder manager, read from the environment by ``Settings.from_env``.

Device secrets are never stored in the database: an encoder's ``credentials_ref`` names them
(``env:NAME`` or ``file:/path``). Only environment variables whose name starts with
``ENCODERS_CREDENTIALS_ENV_PREFIX`` and files under ``ENCODERS_CREDENTIALS_DIR`` may be
referenced, so a row written through the API cannot make the manager send, say,
``DATABASE_URL`` to a device of the writer's choosing.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from castwatch.common.config import env_bind, env_float, env_int, env_str
from castwatch.common.egress import EgressPolicy


@dataclass(frozen=True)
class EncoderSettings:
    """Defaults must be usable on a laptop; every field has one."""

    metrics_bind: tuple[str, int] = ("127.0.0.1", 9102)
    replica_name: str = "encoders"
    poll_interval_s: float = 1.0
    poll_timeout_s: float = 0.8
    poll_retries: int = 1
    confirm_poll_factor: float = 0.5
    reload_interval_s: float = 5.0
    command_poll_s: float = 2.0
    lock_interval_s: float = 1.0
    sample_write_interval_s: float = 5.0
    alert_refresh_s: float = 60.0
    max_concurrent_polls: int = 1000
    credentials_env_prefix: str = "ENCODER_SECRET_"
    credentials_dir: str = "/run/secrets"
    #: the environment variables ``credentials_ref`` may name (captured once, at start-up)
    credentials_env: Mapping[str, str] = field(default_factory=dict, repr=False)
    #: which device addresses may be reached (``EGRESS_ALLOW``: devices are usually on a
    #: private network, which must be allowed explicitly)
    egress: EgressPolicy = EgressPolicy()
    #: decoded-byte cap of one device reply
    max_reply_bytes: int = 1024 * 1024

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> EncoderSettings:
        prefix = env_str(env, "ENCODERS_CREDENTIALS_ENV_PREFIX", "ENCODER_SECRET_") or "ENCODER_SECRET_"
        return cls(
            metrics_bind=env_bind(env, "ENCODERS_METRICS_BIND", "127.0.0.1:9102"),
            replica_name=env_str(env, "ENCODERS_REPLICA_NAME") or f"encoders@{socket.gethostname()}",
            poll_interval_s=env_float(env, "ENCODERS_POLL_INTERVAL_S", 1.0, minimum=0.05),
            poll_timeout_s=env_float(env, "ENCODERS_POLL_TIMEOUT_S", 0.8, minimum=0.05),
            poll_retries=env_int(env, "ENCODERS_POLL_RETRIES", 1, minimum=0, maximum=5),
            confirm_poll_factor=env_float(env, "ENCODERS_CONFIRM_POLL_FACTOR", 0.5, minimum=0.1,
                                          maximum=1.0),
            reload_interval_s=env_float(env, "ENCODERS_RELOAD_INTERVAL_S", 5.0, minimum=0.1),
            command_poll_s=env_float(env, "ENCODERS_COMMAND_POLL_S", 2.0, minimum=0.05),
            lock_interval_s=env_float(env, "ENCODERS_LOCK_INTERVAL_S", 1.0, minimum=0.05),
            sample_write_interval_s=env_float(env, "ENCODERS_SAMPLE_WRITE_INTERVAL_S", 5.0, minimum=0.1),
            alert_refresh_s=env_float(env, "ENCODERS_ALERT_REFRESH_S", 60.0, minimum=1.0),
            max_concurrent_polls=env_int(env, "ENCODERS_MAX_CONCURRENT_POLLS", 1000, minimum=1),
            credentials_env_prefix=prefix,
            credentials_dir=env_str(env, "ENCODERS_CREDENTIALS_DIR", "/run/secrets") or "/run/secrets",
            credentials_env=MappingProxyType({k: v for k, v in env.items() if k.startswith(prefix)}),
            egress=EgressPolicy.from_env(env),
            max_reply_bytes=env_int(env, "ENCODERS_MAX_REPLY_BYTES", 1024 * 1024, minimum=1024,
                                    maximum=64 * 1024 * 1024),
        )
