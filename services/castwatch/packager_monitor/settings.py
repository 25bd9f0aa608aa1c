"""Settings of the packager monitor (``castwatch probe``), read by ``Settings.from_env``.

Every variable is prefixed ``PROBE_``; see docs/probe.md for the full table.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from castwatch.common.egress import EgressPolicy
from castwatch.common.env import ConfigError, env_bind, env_float, env_int, env_str


@dataclass(frozen=True)
class ProbeSettings:
    """Defaults must be usable on a laptop; every field has one."""

    #: This replica's name: its ``probes`` row and the holder of its leases.
    name: str = "probe-1"
    metrics_bind: tuple[str, int] = ("127.0.0.1", 9101)
    #: A lease not renewed for this long is free for another replica.
    lease_ttl_s: float = 30.0
    #: Concurrent requests to one origin host.
    max_per_host: int = 32
    #: Deadline of one whole download (connect, redirects, headers and body together).
    timeout_s: float = 5.0
    #: Decoded-byte cap of a playlist or MPD body; over it → PLAYLIST_INVALID / MPD_INVALID.
    max_playlist_bytes: int = 4 * 1024 * 1024
    #: Decoded-byte cap of a segment body; over it → SEGMENT_INVALID.
    max_segment_bytes: int = 64 * 1024 * 1024
    #: Where the probe may connect (``EGRESS_ALLOW``; the default allows public addresses only).
    egress: EgressPolicy = EgressPolicy()
    #: Fraction (0..1) of new segments whose newest segment is downloaded and checked.
    segment_sampling: float = 1.0
    #: How long a condition must stay clear before its alert resolves.
    clear_hold_s: float = 30.0
    #: How often the master playlist / ladder is re-read.
    master_interval_s: float = 30.0
    #: Channel status rows are written on change, else at most this often.
    status_interval_s: float = 10.0
    #: Relative tolerance of ladder bandwidth against the template.
    ladder_bandwidth_tolerance: float = 0.1
    #: Days before a TLS certificate expiry that raise CERT_EXPIRING.
    cert_warn_days: int = 21
    #: How often each https channel's certificate is checked.
    cert_interval_s: float = 3600.0
    #: Extra CA bundle (PEM) trusted for https origins, besides the system store.
    ca_file: str | None = None
    #: castwatch's own public https URL, whose certificate CERT_EXPIRING also watches
    #: (``PROBE_OWN_CERT_URL``, else an https ``NOTIFY_PUBLIC_URL``; ``none`` turns it off).
    own_cert_url: str | None = None
    #: Worker processes that decode segments for the content layer (0 = no content analysis).
    content_workers: int = 1
    #: Content jobs that may wait for a worker; beyond it the oldest is dropped and counted.
    content_queue: int = 16
    #: How often each channel's thumbnail is refreshed (seconds).
    thumbnail_interval_s: float = 10.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ProbeSettings:
        default_name = f"probe-{socket.gethostname()}"
        sampling = env_float(env, "PROBE_SEGMENT_SAMPLING", 1.0, minimum=0.0, maximum=1.0)
        ttl = env_float(env, "PROBE_LEASE_TTL_S", 30.0, minimum=0.5)
        name = env_str(env, "PROBE_NAME", default_name) or default_name
        if len(name) > 100:
            raise ConfigError("PROBE_NAME", "must be at most 100 characters")
        return cls(
            name=name,
            metrics_bind=env_bind(env, "PROBE_METRICS_BIND", "127.0.0.1:9101"),
            lease_ttl_s=ttl,
            max_per_host=env_int(env, "PROBE_MAX_PER_HOST", 32, minimum=1, maximum=10_000),
            timeout_s=env_float(env, "PROBE_TIMEOUT_S", 5.0, minimum=0.1),
            max_playlist_bytes=env_int(env, "PROBE_MAX_PLAYLIST_BYTES", 4 * 1024 * 1024,
                                       minimum=1024, maximum=1 << 30),
            max_segment_bytes=env_int(env, "PROBE_MAX_SEGMENT_BYTES", 64 * 1024 * 1024,
                                      minimum=1024, maximum=1 << 32),
            egress=EgressPolicy.from_env(env),
            segment_sampling=sampling,
            clear_hold_s=env_float(env, "PROBE_CLEAR_HOLD_S", 30.0, minimum=0.0),
            master_interval_s=env_float(env, "PROBE_MASTER_INTERVAL_S", 30.0, minimum=0.5),
            status_interval_s=env_float(env, "PROBE_STATUS_INTERVAL_S", 10.0, minimum=0.1),
            ladder_bandwidth_tolerance=env_float(
                env, "PROBE_LADDER_BANDWIDTH_TOLERANCE", 0.1, minimum=0.0, maximum=10.0
            ),
            cert_warn_days=env_int(env, "PROBE_CERT_WARN_DAYS", 21, minimum=1),
            cert_interval_s=env_float(env, "PROBE_CERT_INTERVAL_S", 3600.0, minimum=1.0),
            ca_file=_readable(env, "PROBE_CA_FILE"),
            own_cert_url=_own_cert_url(env),
            content_workers=env_int(env, "PROBE_CONTENT_WORKERS", 1, minimum=0, maximum=256),
            content_queue=env_int(env, "PROBE_CONTENT_QUEUE", 16, minimum=1, maximum=100_000),
            thumbnail_interval_s=env_float(env, "PROBE_THUMBNAIL_INTERVAL_S", 10.0, minimum=1.0),
        )


def _own_cert_url(env: Mapping[str, str]) -> str | None:
    """``PROBE_OWN_CERT_URL`` (an https URL, or ``none``), else ``NOTIFY_PUBLIC_URL`` when that is
    https (the same public address people open from their notifications)."""
    value = env_str(env, "PROBE_OWN_CERT_URL")
    if value is not None and value.lower() == "none":
        return None
    if value is not None:
        parts = urlsplit(value)
        if parts.scheme != "https" or not parts.hostname:
            raise ConfigError("PROBE_OWN_CERT_URL", "must be an https:// URL (or none)")
        return value
    public = env_str(env, "NOTIFY_PUBLIC_URL")
    return public if public and urlsplit(public).scheme == "https" and urlsplit(public).hostname else None


def _readable(env: Mapping[str, str], name: str) -> str | None:
    path = env_str(env, name)
    if path is not None and not os.access(path, os.R_OK):
        raise ConfigError(name, f"cannot read {path}")
    return path
