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

from castwatch.common import download
from castwatch.common.egress import EgressDenied, EgressPolicy
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


def _denied(exc: BaseException) -> EgressDenied | None:
    """The egress refusal inside a requests/urllib3 error chain, if that is what it was."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, EgressDenied):
            return e
        todo += [e.__cause__, e.__context__, *[a for a in e.args if isinstance(a, BaseException)]]
        todo.append(getattr(e, "reason", None))
    return None


class HttpTransport(Transport):
    """Base of JSON-over-HTTP transports: one session, a blocking POST in a worker thread."""

    timeout_s: float = 10.0

    def __init__(self, egress: EgressPolicy) -> None:
        self.session = self.make_session(egress)

    @staticmethod
    def make_session(egress: EgressPolicy) -> requests.Session:
        """The transport's only HTTP client: every connection is checked against ``egress``
        after DNS (a recipient address is a row a write key can edit); no proxies or netrc
        from the environment."""
        return download.session(egress)

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
        except EgressDenied as exc:  # the address is not one castwatch may reach
            raise TransportError(f"{self.name}: {exc}", permanent=True) from None
        except requests.RequestException as exc:  # refused, reset, timeout, bad URL
            denied = _denied(exc)
            if denied is not None:
                raise TransportError(f"{self.name}: {denied}", permanent=True) from None
            raise TransportError(f"{self.name} connection: {exc.__class__.__name__}") from exc
