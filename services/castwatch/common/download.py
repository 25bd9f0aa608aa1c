"""Bounded downloads through the egress policy: a byte cap, one deadline, checked redirects.

Two clients, one contract:

- :func:`fetch` (async, aiohttp) for the probe and the encoder drivers; the session must use
  :func:`connector` (an aiohttp connector that checks every resolved address against the
  :class:`~castwatch.common.egress.EgressPolicy` and connects only to checked addresses);
- :func:`fetch_sync` (blocking, requests/urllib3) for the schedule importers; its connections
  resolve, check and connect to the checked address themselves.

Both follow redirects by hand (at most ``policy.max_redirects``; every hop's host is checked
again by the connection layer), count the body's **decoded** bytes against ``max_bytes`` while
reading it in chunks (a gzip bomb stops at the cap, not at its expanded size) and hold one
deadline for the whole exchange — connect, headers, every redirect and the body — so a server
that trickles a byte a second cannot hold a download open past it.

Errors are typed and their messages are short and safe to show to whoever configured the URL:
status, content type and byte counts, never a remote body. Every failure to get an HTTP answer
at all — refused, reset, timed out before the headers, not HTTP — is the same
:class:`Unreachable` ("unreachable"), so an API user cannot use castwatch to tell a closed port
from a filtered one or from a non-HTTP service. The policy's own refusal is
:class:`~castwatch.common.egress.EgressDenied` (not a :class:`DownloadError`).
"""

from __future__ import annotations

import asyncio
import re
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
import requests
import urllib3
from aiohttp.abc import ResolveResult
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from castwatch.common.egress import EgressDenied, EgressPolicy

CHUNK = 64 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
#: Headers for a download whose bytes are checked as they are (segments): no compression.
IDENTITY = {"Accept-Encoding": "identity"}


class DownloadError(Exception):
    """A download that did not give a usable answer; the message is short and safe to show."""


class Unreachable(DownloadError):
    """No HTTP answer at all (refused, reset, timed out before the headers, not HTTP)."""

    def __init__(self, what: str = "unreachable") -> None:
        super().__init__(what)


class NameNotResolved(Unreachable):
    """The host name does not resolve (kept apart: the most common typo, and DNS is public)."""

    def __init__(self) -> None:
        super().__init__("host name does not resolve")


class TooLarge(DownloadError):
    """The body is (or announced to be) larger than the cap."""

    def __init__(self, max_bytes: int, status: int, content_type: str, announced: int | None = None) -> None:
        seen = (f"announced {announced} bytes, limit {max_bytes}" if announced is not None
                else f"more than {max_bytes} bytes")
        super().__init__(f"too large: {seen} (HTTP {status}, {content_type})")
        self.max_bytes, self.status = max_bytes, status


class DeadlineExceeded(DownloadError):
    """The server answered but the whole body did not arrive before the deadline."""

    def __init__(self, deadline_s: float, status: int | None, received: int) -> None:
        super().__init__(f"timeout: answer not complete within {deadline_s:g} s "
                         f"(HTTP {status}, {received} bytes received)")
        self.received = received


class TooManyRedirects(DownloadError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} redirects")


class BadUrl(DownloadError):
    def __init__(self, why: str) -> None:
        super().__init__(f"invalid URL: {why}")


@dataclass(frozen=True, slots=True)
class Download:
    """The answer: ``body`` is None unless the status is 2xx (other bodies are not read)."""

    status: int
    url: str
    headers: Mapping[str, str]
    body: bytes | None

    @property
    def content_type(self) -> str:
        return content_type(self.headers)


def safe_text(text: str, limit: int = 120) -> str:
    """``text`` made safe to store and show when part of it may come from a remote peer:
    printable ASCII only, whitespace collapsed, at most ``limit`` characters."""
    cleaned = " ".join("".join(c if " " <= c <= "~" else " " for c in text).split())
    return cleaned if len(cleaned) <= limit else cleaned[:limit - 1] + "…"


def unquoted(text: str, limit: int = 120) -> str:
    """:func:`safe_text` with every quoted part (``'…'`` or ``"…"``, where integrations put
    what a peer said, by ``!r`` convention) replaced by ``...``: for messages shown to users who
    could otherwise read a device's or service's reply through them."""
    return safe_text(re.sub(r"b?(['\"]).*?(?:\1|$)", "...", text), limit)


def safe_word(text: str | None, limit: int = 32) -> str | None:
    """A remote status word reduced to letters, digits and ``_-.,`` (at most ``limit``); None when
    nothing is left. For values such as an encoder's ``vendor_state`` (``streaming,listening``
    when a device reports several states)."""
    if text is None:
        return None
    word = "".join(c for c in text.strip().replace(" ", "_")
                   if c.isascii() and (c.isalnum() or c in "_-.,"))
    return word[:limit] or None


def content_type(headers: Mapping[str, str]) -> str:
    """The media type, reduced to a short safe token (it is shown in error messages)."""
    raw = (headers.get("Content-Type") or "none").split(";", 1)[0].strip().lower()[:64]
    return "".join(c for c in raw if c.isalnum() or c in "/.+-_") or "none"


def _checked_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadUrl("must be http(s)://host/…")
    try:
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        raise BadUrl("bad port") from None
    return url


def _next_hop(url: str, status: int, headers: Mapping[str, str]) -> str | None:
    location = headers.get("Location") if status in _REDIRECTS else None
    return _checked_url(urljoin(url, location)) if location else None


# -- aiohttp -----------------------------------------------------------------------------------


class PolicyConnector(aiohttp.TCPConnector):
    """A TCP connector that connects only to addresses the policy allows. Every resolution
    (IP literals included, and DNS-cache hits) passes :meth:`EgressPolicy.check_ip`; the
    connector then connects to exactly the addresses that were checked."""

    def __init__(self, policy: EgressPolicy, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.policy = policy

    async def _resolve_host(self, host: str, port: int, traces: Any = None) -> list[ResolveResult]:
        hosts = await super()._resolve_host(host, port, traces=traces)
        for h in hosts:
            self.policy.check_ip(h["host"], host)
        return hosts


def connector(policy: EgressPolicy, **kwargs: Any) -> PolicyConnector:
    """The connector every outbound aiohttp session must use (``kwargs`` go to TCPConnector)."""
    return PolicyConnector(policy, **kwargs)


async def read_capped(resp: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    """The decoded body, read in chunks; :class:`TooLarge` as soon as it passes ``max_bytes``."""
    announced = resp.content_length
    if announced is not None and announced > max_bytes and not resp.headers.get("Content-Encoding"):
        raise TooLarge(max_bytes, resp.status, content_type(resp.headers), announced)
    buf = bytearray()
    async for chunk in resp.content.iter_chunked(CHUNK):
        if len(buf) + len(chunk) > max_bytes:
            raise TooLarge(max_bytes, resp.status, content_type(resp.headers))
        buf += chunk
    return bytes(buf)


async def fetch(session: aiohttp.ClientSession, url: str, *, policy: EgressPolicy, max_bytes: int,
                deadline_s: float, method: str = "GET", headers: Mapping[str, str] | None = None,
                **kwargs: Any) -> Download:
    """One bounded exchange (see the module docstring); raises :class:`DownloadError` or
    :class:`EgressDenied`. ``kwargs`` go to ``session.request`` (``json``, ``auth``…); a 303
    turns the method into GET and drops the body."""
    state: dict[str, Any] = {"status": None, "received": 0}
    deadline = asyncio.timeout(deadline_s)
    try:
        async with deadline:
            return await _fetch_hops(session, _checked_url(url), policy, max_bytes, method,
                                     dict(headers or {}), kwargs, state)
    except TimeoutError:
        if not deadline.expired():
            raise  # the session's own timeout (a driver's): the caller's to report
        if state["status"] is None:
            raise Unreachable() from None
        raise DeadlineExceeded(deadline_s, state["status"], state["received"]) from None


async def _fetch_hops(session: aiohttp.ClientSession, url: str, policy: EgressPolicy, max_bytes: int,
                      method: str, headers: dict[str, str], kwargs: dict[str, Any],
                      state: dict[str, Any]) -> Download:
    for _ in range(policy.max_redirects + 1):
        state["status"] = None
        try:
            async with session.request(method, url, headers=headers, allow_redirects=False,
                                       **kwargs) as resp:
                state["status"] = resp.status
                hop = _next_hop(url, resp.status, resp.headers)
                if hop is None:
                    body = None
                    if 200 <= resp.status < 300:
                        try:
                            body = await read_capped(resp, max_bytes)
                        except BaseException:
                            resp.close()  # never drain a hostile body to reuse the connection
                            raise
                    return Download(resp.status, url, resp.headers, body)
                resp.close()
        except aiohttp.ClientConnectorDNSError:
            raise NameNotResolved() from None
        except aiohttp.InvalidURL:
            raise BadUrl("cannot be requested") from None
        except TimeoutError:
            raise
        except aiohttp.ClientPayloadError:
            raise DownloadError(f"broken body (HTTP {state['status']})") from None
        except (aiohttp.ClientError, OSError):
            if state["status"] is None:
                raise Unreachable() from None
            raise DownloadError(f"connection lost while reading (HTTP {state['status']})") from None
        url = hop
        if resp.status == 303 or (resp.status in (301, 302) and method == "POST"):
            method = "GET"
            kwargs = {k: v for k, v in kwargs.items() if k not in ("json", "data")}
    raise TooManyRedirects(policy.max_redirects)


# -- requests / urllib3 ------------------------------------------------------------------------


def _connection_class(base: type[HTTPConnection], policy: EgressPolicy) -> type[HTTPConnection]:
    class PolicyConnection(base):  # type: ignore[valid-type,misc]
        """Resolves, checks every address, connects to a checked one (no second lookup)."""

        def _new_conn(self) -> socket.socket:
            timeout = self.timeout if isinstance(self.timeout, (int, float)) else None
            try:
                sock = policy.connect(self._dns_host, self.port, timeout or 30.0)
            except socket.gaierror as exc:
                raise NameResolutionError(self.host, self, exc) from exc
            except TimeoutError as exc:
                raise ConnectTimeoutError(self, "connect timed out") from exc
            except OSError as exc:
                raise NewConnectionError(self, "connection failed") from exc
            for opt in self.socket_options or ():
                sock.setsockopt(*opt)
            return sock

    return PolicyConnection


class PolicyAdapter(HTTPAdapter):
    """A requests transport adapter whose connections go through the egress policy."""

    def __init__(self, policy: EgressPolicy) -> None:
        self.policy = policy
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        http = type("PolicyHTTPPool", (HTTPConnectionPool,),
                    {"ConnectionCls": _connection_class(HTTPConnection, self.policy)})
        https = type("PolicyHTTPSPool", (HTTPSConnectionPool,),
                     {"ConnectionCls": _connection_class(HTTPSConnection, self.policy)})
        self.poolmanager.pool_classes_by_scheme = {"http": http, "https": https}


def session(policy: EgressPolicy) -> requests.Session:
    """A requests session that only reaches what ``policy`` allows (no proxies from the
    environment: a proxy would hide the real destination from the check)."""
    s = requests.Session()
    s.trust_env = False
    adapter = PolicyAdapter(policy)
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    return s


def fetch_sync(url: str, *, policy: EgressPolicy, max_bytes: int, deadline_s: float,
               params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None,
               http: requests.Session | None = None) -> Download:
    """Blocking twin of :func:`fetch` (GET only) for the schedule importers."""
    own = http is None
    http = http or session(policy)
    deadline = time.monotonic() + deadline_s
    try:
        url = _checked_url(url)
        for _ in range(policy.max_redirects + 1):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Unreachable()
            try:
                resp = http.get(url, params=params, headers=dict(headers or {}), stream=True,
                                allow_redirects=False, timeout=(remaining, remaining))
            except requests.exceptions.InvalidURL:
                raise BadUrl("cannot be requested") from None
            except requests.RequestException as exc:
                if isinstance(exc.__context__, NameResolutionError) or "NameResolutionError" in repr(exc):
                    raise NameNotResolved() from None
                raise Unreachable() from None
            with resp:
                hop = _next_hop(url, resp.status_code, resp.headers)
                if hop is None:
                    body = None
                    if 200 <= resp.status_code < 300:
                        body = _read_sync(resp, max_bytes, deadline, deadline_s)
                    return Download(resp.status_code, url, resp.headers, body)
            url, params = hop, None
        raise TooManyRedirects(policy.max_redirects)
    finally:
        if own:
            http.close()


def _read_sync(resp: requests.Response, max_bytes: int, deadline: float, deadline_s: float) -> bytes:
    """Read with ``read1`` (returns what one receive gave) and shrink the socket timeout to the
    time left before every read: a byte-a-second trickle ends at the deadline."""
    raw: urllib3.HTTPResponse = resp.raw
    announced = resp.headers.get("Content-Length")
    if announced and announced.isdigit() and int(announced) > max_bytes and not resp.headers.get(
            "Content-Encoding"):
        raise TooLarge(max_bytes, resp.status_code, content_type(resp.headers), int(announced))
    buf = bytearray()
    conn = raw.connection
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DeadlineExceeded(deadline_s, resp.status_code, len(buf))
        if conn is not None and conn.sock is not None:
            conn.sock.settimeout(remaining)
        try:
            chunk = raw.read1(CHUNK, decode_content=True)
        except (urllib3.exceptions.ReadTimeoutError, TimeoutError):
            raise DeadlineExceeded(deadline_s, resp.status_code, len(buf)) from None
        except (urllib3.exceptions.HTTPError, OSError):
            raise DownloadError(f"broken body (HTTP {resp.status_code}, {len(buf)} bytes)") from None
        if not chunk:  # read1 decodes until it has bytes: empty means the end
            return bytes(buf)
        if len(buf) + len(chunk) > max_bytes:
            raise TooLarge(max_bytes, resp.status_code, content_type(resp.headers))
        buf += chunk


__all__ = ["IDENTITY", "BadUrl", "DeadlineExceeded", "Download", "DownloadError", "EgressDenied",
           "NameNotResolved", "PolicyConnector", "TooLarge", "TooManyRedirects", "Unreachable",
           "connector", "fetch", "fetch_sync", "read_capped", "safe_text", "safe_word", "session",
           "unquoted"]
