"""Shared HTTP plumbing of the JSON transports (Slack, webhook): bounded responses,
``Retry-After`` parsing and status → :class:`TransportError` mapping.

Every outbound request of a transport goes through the one ``requests.Session`` that the
transport creates in :meth:`HttpTransport.make_session` — the single place where an egress
policy (address checks after DNS, on every redirect) is attached. Redirects are never
followed (a secret URL must not be forwarded elsewhere); response bodies are read up to
:data:`MAX_RESPONSE_BYTES` and never echoed beyond a short machine code.
"""

from __future__ import annotations

import asyncio
import re
import time
from email.utils import parsedate_to_datetime

import requests

from castwatch.notifier.transports.base import Transport, TransportError

MAX_RESPONSE_BYTES = 4096
MAX_RETRY_AFTER_S = 3600.0
#: a provider's short error code (Slack: ``invalid_blocks``) may be shown; free text never is
ERROR_CODE = re.compile(r"^[a-z][a-z0-9_]{1,40}$")


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP-date), capped; None if absent
    or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_S)
    try:
        at = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return min(max(0.0, at - (time.time() if now is None else now)), MAX_RETRY_AFTER_S)


def classify(name: str, status: int, code: str, retry_after_s: float | None) -> TransportError:
    """An HTTP answer that is not success, as a typed error.

    429 and 5xx are transient (honouring ``Retry-After``); 404/410 mean the destination is
    gone (disable it); other 4xx and 3xx are permanent.
    """
    shown = f"{name} http {status}" + (f" {code}" if ERROR_CODE.match(code) else "")
    if status == 429 or status >= 500:
        return TransportError(shown, retry_after=retry_after_s)
    if status in (404, 410):
        return TransportError(shown, disable_destination=True)
    if 300 <= status < 400:
        return TransportError(f"{shown}: redirects are not followed", permanent=True)
    return TransportError(shown, permanent=True)


class HttpTransport(Transport):
    """Base of JSON-over-HTTP transports: one session, a blocking POST in a worker thread."""

    timeout_s: float = 10.0

    def __init__(self) -> None:
        self.session = self.make_session()

    def make_session(self) -> requests.Session:
        """The transport's only HTTP client (the egress policy is attached here)."""
        session = requests.Session()
        session.trust_env = False  # no proxies or netrc from the environment
        return session

    async def close(self) -> None:
        self.session.close()

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str, float | None]:
        """POST ``body``; returns (status, first bytes of the answer as text, Retry-After s)."""
        return await asyncio.to_thread(self._post, url, body, headers)

    def _post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str, float | None]:
        try:
            with self.session.post(url, data=body, headers=headers, stream=True, allow_redirects=False,
                                   timeout=(self.timeout_s, self.timeout_s)) as resp:
                raw = resp.raw.read(MAX_RESPONSE_BYTES, decode_content=True) or b""
                return (resp.status_code, raw.decode("utf-8", errors="replace").strip(),
                        retry_after(resp.headers.get("Retry-After")))
        except requests.RequestException as exc:  # refused, reset, timeout, bad URL
            raise TransportError(f"{self.name} connection: {exc.__class__.__name__}") from exc
