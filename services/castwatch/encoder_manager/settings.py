"""Settings of the encoder manager, read from the environment by ``Settings.from_env``.

Device secrets are never stored in the database: an encoder's ``credentials_ref`` names them
(``env:NAME`` or ``file:/path``). Only environment variables whose name starts with
``ENCODERS_CREDENTIALS_ENV_PREFIX`` and files under ``ENCODERS_CREDENTIALS_DIR`` may be
referenced, so a row written through the API cannot make the manager send, say,
``DATABASE_URL`` to a device of the writer's choosing. ``ENCODERS_CREDENTIALS_DIR`` must not be
(or contain) the folder of castwatch's own ``*_FILE`` secrets. And each secret goes only to the
device addresses the operator bound it to in ``ENCODERS_CREDENTIALS_BINDINGS`` (see
:mod:`castwatch.encoder_manager.bindings`).
"""

from __future__ import annotations

import posixpath
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from castwatch.common.egress import EgressPolicy
from castwatch.common.env import ConfigError, env_bind, env_float, env_int, env_secret, env_str
from castwatch.encoder_manager.bindings import BindingsError, Target, parse_bindings

DEFAULT_CREDENTIALS_DIR = "/run/secrets/encoders"
BINDINGS_VAR = "ENCODERS_CREDENTIALS_BINDINGS"


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
    credentials_dir: str = DEFAULT_CREDENTIALS_DIR
    #: normalised ``credentials_ref`` → the device addresses the operator allows it to reach
    credentials_bindings: Mapping[str, tuple[Target, ...]] = field(default_factory=dict)
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
        credentials_dir = _credentials_dir(env)
        try:
            bindings = parse_bindings(env_secret(env, BINDINGS_VAR) or "", credentials_dir)
        except BindingsError as exc:
            raise ConfigError(BINDINGS_VAR, str(exc)) from None
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
            credentials_dir=credentials_dir,
            credentials_bindings=MappingProxyType(bindings),
            credentials_env=MappingProxyType({k: v for k, v in env.items() if k.startswith(prefix)}),
            egress=EgressPolicy.from_env(env),
            max_reply_bytes=env_int(env, "ENCODERS_MAX_REPLY_BYTES", 1024 * 1024, minimum=1024,
                                    maximum=64 * 1024 * 1024),
        )


def _credentials_dir(env: Mapping[str, str]) -> str:
    """``ENCODERS_CREDENTIALS_DIR``, refused when it holds castwatch's own ``*_FILE`` secrets.

    A device secret may be sent to a device; castwatch's own secrets (database URL, API secret
    key, bot token…) never may, so they must not be nameable as ``file:`` references.
    """
    raw = env_str(env, "ENCODERS_CREDENTIALS_DIR", DEFAULT_CREDENTIALS_DIR) or DEFAULT_CREDENTIALS_DIR
    if not raw.startswith("/"):
        raise ConfigError("ENCODERS_CREDENTIALS_DIR", "must be an absolute path")
    folder = posixpath.normpath(raw)
    for name, path in sorted(env.items()):
        if not name.endswith("_FILE") or name == f"{BINDINGS_VAR}_FILE" or not path.startswith("/"):
            continue
        own = posixpath.dirname(posixpath.normpath(path))
        if own == folder or own.startswith(folder.rstrip("/") + "/"):
            raise ConfigError("ENCODERS_CREDENTIALS_DIR",
                              f"{folder} holds castwatch's own secret {name}; keep device "
                              f"secrets in their own folder (default {DEFAULT_CREDENTIALS_DIR})")
    return folder
