"""TLS certificates of https origins: days until expiry, or why the chain does not verify.

Blocking (``ssl`` + ``socket``); the poll loop calls it through ``asyncio.to_thread`` once per
``PROBE_CERT_INTERVAL_S`` per channel.
"""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass

from castwatch.common.egress import EgressDenied, EgressPolicy


@dataclass(frozen=True)
class CertResult:
    #: Days until notAfter (negative when expired); None when the chain does not verify.
    days_left: float | None
    #: Why verification failed; None when it verified.
    error: str | None


def tls_context(ca_file: str | None = None) -> ssl.SSLContext:
    """The system trust store, plus ``ca_file`` (a private CA) when given."""
    ctx = ssl.create_default_context()
    if ca_file:
        ctx.load_verify_locations(ca_file)
    return ctx


def check_certificate(host: str, port: int, *, policy: EgressPolicy, timeout_s: float = 5.0,
                      ca_file: str | None = None, now: float | None = None) -> CertResult | None:
    """Connect (to an address ``policy`` allows, checked after DNS) and verify; None when the
    host cannot be reached at all or is refused by the policy (that is PLAYLIST_UNREACHABLE's
    business, not a certificate problem). The whole handshake shares ``timeout_s``."""
    try:
        with policy.connect(host, port, timeout_s) as sock, \
                tls_context(ca_file).wrap_socket(sock, server_hostname=host) as tls:
            cert = tls.getpeercert()
    except ssl.SSLCertVerificationError as exc:
        return CertResult(None, exc.verify_message or str(exc))
    except (OSError, ssl.SSLError, EgressDenied):
        return None
    not_after = ssl.cert_time_to_seconds(str(cert["notAfter"])) if cert else None
    if not_after is None:
        return CertResult(None, "no certificate presented")
    return CertResult((not_after - (time.time() if now is None else now)) / 86400, None)
