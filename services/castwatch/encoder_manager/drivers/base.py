"""The ``EncoderDriver`` interface, its typed errors, and the one place retries live.

A driver talks to one device. Contract:

- ``connect()`` logs in when needed and is idempotent (cheap when already connected);
- ``poll()`` returns one :class:`HealthSample` within ``config.timeout_s`` or raises a
  :class:`DriverError` — never anything else (the base class maps transport exceptions);
- ``start_output()`` / ``stop_output()`` act on the stream output and raise on refusal;
- ``start_recording()`` / ``stop_recording()`` act on local recording (capability ``record``;
  other drivers raise :class:`DriverError`);
- ``close()`` releases connections.

Subclasses implement ``_login``, ``_poll``, ``_start``, ``_stop`` (and ``_close`` when they hold
a connection). Re-login after :class:`DriverAuthExpired`, retries of transient failures (HTTP
502/503/504, connection refused, device "busy") and the timeout are done here, once.

Every connection goes through ``config.egress`` (the operator's egress policy, checked after
DNS on every connection and redirect): HTTP drivers through :meth:`HttpDriver.request` and a
policy connector, socket drivers through :meth:`EncoderDriver.open_tcp`. Replies are capped at
``config.max_reply_bytes`` decoded bytes. Error messages never carry a device's reply: status,
content type and sizes only; a device that cannot be reached for any reason is "unreachable".
``vendor_state`` is reduced to a short word here, whatever the driver read.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import aiohttp
from yarl import URL

from castwatch.common import download
from castwatch.common.download import DownloadError, TooLarge, safe_word
from castwatch.common.egress import EgressDenied, EgressPolicy
from castwatch.encoder_manager.sample import HealthSample

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Capabilities a driver may declare.
CAPABILITIES = frozenset({
    "start_stop", "temperature", "cpu", "memory", "bitrate", "frames", "link_stats", "multi_output",
    "record", "reboot",
})


class DriverError(Exception):
    """Anything that went wrong talking to a device; the loop catches this family."""


class DriverTimeout(DriverError):
    """The device did not answer within the timeout."""


class DriverConnectionError(DriverError):
    """The device could not be reached (refused, reset, DNS)."""


class DriverAuthExpired(DriverError):
    """The session or credentials were refused; the base class logs in again once."""


class DriverProtocolError(DriverError):
    """The device answered something we cannot read (malformed, unexpected shape)."""


class DriverBusy(DriverError):
    """The device asked to retry later (Matrox ``RETRY``); retried with back-off."""


class DriverHTTPError(DriverError):
    """An HTTP status we do not treat as auth or busy."""

    def __init__(self, status: int, message: str = "") -> None:
        super().__init__(f"HTTP {status}{': ' + message if message else ''}")
        self.status = status


_TRANSIENT_HTTP = frozenset({502, 503, 504})


@dataclass(frozen=True)
class DriverConfig:
    """How to reach one device. ``address`` is ``host:port`` or a URL; secrets come resolved."""

    address: str
    username: str | None = None
    password: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    timeout_s: float = 2.0
    retries: int = 1
    retry_backoff_s: float = 0.05
    #: where this device may be reached (the default allows public addresses only)
    egress: EgressPolicy = EgressPolicy()
    #: decoded-byte cap of one reply
    max_reply_bytes: int = 1024 * 1024

    @property
    def base_url(self) -> str:
        if self.address.startswith(("http://", "https://")):
            return self.address.rstrip("/")
        return f"http://{self.address}"

    @property
    def host_port(self) -> tuple[str, int]:
        addr = self.address.split("://", 1)[-1].rstrip("/")
        host, _, port = addr.rpartition(":")
        if not host or not port.isdigit():
            raise DriverError(f"address {self.address!r} must be host:port")
        return host, int(port)


class EncoderDriver(ABC):
    """One device of one family; see the module docstring for the contract."""

    kind: ClassVar[str]
    capabilities: ClassVar[frozenset[str]] = frozenset()
    #: the device has no user name: the whole secret is the password (``:`` included)
    password_only: ClassVar[bool] = False

    def __init__(self, config: DriverConfig) -> None:
        self.config = config
        self._connected = False

    # -- public API -------------------------------------------------------------------------

    async def connect(self) -> None:
        """Log in if not logged in; idempotent."""
        if not self._connected:
            await self._guard(self._login)
            self._connected = True

    async def poll(self) -> HealthSample:
        """One health sample, within the timeout, with one re-login and transient retries.
        ``vendor_state`` comes back as a short word (:func:`safe_word`), never remote text."""
        sample = await self._with_deadline(lambda: self._call(self._poll, idempotent=True))
        word = safe_word(sample.vendor_state)
        return sample if word == sample.vendor_state else dataclasses.replace(sample, vendor_state=word)

    async def open_tcp(self, host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A TCP stream to a checked address of ``host`` (for socket-protocol drivers)."""
        return await self.config.egress.open_connection(host, port)

    async def start_output(self, output: str | None = None) -> None:
        await self._with_deadline(lambda: self._call(lambda: self._start(output), idempotent=False))

    async def stop_output(self, output: str | None = None) -> None:
        await self._with_deadline(lambda: self._call(lambda: self._stop(output), idempotent=False))

    async def start_recording(self) -> None:
        await self._with_deadline(lambda: self._call(self._record_start, idempotent=False))

    async def stop_recording(self) -> None:
        await self._with_deadline(lambda: self._call(self._record_stop, idempotent=False))

    async def reboot(self) -> None:
        """Reboot the device (capability ``reboot``; used by remediation only when allowed)."""
        await self._with_deadline(lambda: self._call(self._reboot, idempotent=False))

    async def close(self) -> None:
        self._connected = False
        try:
            await self._close()
        except Exception as exc:  # closing a broken connection must not raise
            logger.debug("close failed kind=%s address=%s: %s", self.kind, self.config.address, exc)

    # -- for subclasses ---------------------------------------------------------------------

    @abstractmethod
    async def _login(self) -> None: ...

    @abstractmethod
    async def _poll(self) -> HealthSample: ...

    @abstractmethod
    async def _start(self, output: str | None) -> None: ...

    @abstractmethod
    async def _stop(self, output: str | None) -> None: ...

    async def _close(self) -> None:
        return None

    async def _record_start(self) -> None:
        raise DriverError(f"{self.kind} has no local recording")

    async def _record_stop(self) -> None:
        raise DriverError(f"{self.kind} has no local recording")

    async def _reboot(self) -> None:
        raise DriverError(f"{self.kind} cannot be rebooted by castwatch")

    # -- retry machinery --------------------------------------------------------------------

    async def _with_deadline(self, fn: Callable[[], Awaitable[T]]) -> T:
        try:
            return await asyncio.wait_for(fn(), timeout=self.config.timeout_s)
        except TimeoutError:
            # a timed-out exchange may leave a stream connection mid-reply: start afresh
            await self.close()
            raise DriverTimeout(f"no answer within {self.config.timeout_s:g}s") from None

    async def _call(self, fn: Callable[[], Awaitable[T]], *, idempotent: bool) -> T:
        attempts = 1 + max(0, self.config.retries)
        busy_attempts = max(3, attempts)
        relogged = False
        attempt = 0
        while True:
            attempt += 1
            try:
                await self.connect()
                return await self._guard(fn)
            except DriverAuthExpired:
                self._connected = False
                if relogged:
                    raise
                relogged = True
                attempt -= 1  # a re-login is not a retry
            except DriverBusy:
                if attempt >= busy_attempts:
                    raise
            except DriverConnectionError:
                self._connected = False
                if attempt >= attempts:
                    raise
            except DriverHTTPError as exc:
                if not idempotent or exc.status not in _TRANSIENT_HTTP or attempt >= attempts:
                    raise
            await asyncio.sleep(self.config.retry_backoff_s * attempt)

    async def _guard(self, fn: Callable[[], Awaitable[T]]) -> T:
        """Run ``fn`` and turn transport exceptions into :class:`DriverError` subclasses."""
        try:
            return await fn()
        except DriverError:
            raise
        # Messages are fixed words: the exception texts can carry addresses, ports, OS error
        # names (a port scan) or bytes of the reply.
        except EgressDenied as exc:
            self._connected = False
            raise DriverConnectionError(str(exc)) from exc
        except TooLarge as exc:
            raise DriverProtocolError(str(exc)) from exc
        except (aiohttp.ServerTimeoutError, TimeoutError) as exc:
            raise DriverTimeout("timed out") from exc
        except (aiohttp.ClientConnectionError, ConnectionError, OSError, download.Unreachable) as exc:
            self._connected = False
            raise DriverConnectionError("unreachable") from exc
        except (aiohttp.ClientError, DownloadError) as exc:
            raise DriverProtocolError(f"unreadable reply ({type(exc).__name__})") from exc
        except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
            raise DriverProtocolError(f"unreadable reply ({type(exc).__name__})") from exc


class HttpDriver(EncoderDriver):
    """Base for HTTP devices: one aiohttp session with its own cookie jar per device.

    A shared ``aiohttp.TCPConnector`` may be passed (``connector``) so hundreds of drivers do
    not each hold a connection pool; the driver then does not close it.
    """

    def __init__(self, config: DriverConfig, *, connector: aiohttp.BaseConnector | None = None) -> None:
        """``connector``, when given, must be a :func:`castwatch.common.download.connector`
        (it enforces the egress policy for every driver sharing it)."""
        if connector is not None and not isinstance(connector, download.PolicyConnector):
            raise TypeError("drivers share only an egress-policy connector (download.connector)")
        super().__init__(config)
        self._connector = connector
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=self._connector or download.connector(self.config.egress),
                connector_owner=self._connector is None,
                cookie_jar=aiohttp.CookieJar(unsafe=True),
                timeout=aiohttp.ClientTimeout(total=self.config.timeout_s),
            )
        return self._session

    async def _close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def request(
        self, method: str, path: str, *, expired_statuses: frozenset[int] = frozenset({401, 403}),
        **kwargs: Any,
    ) -> tuple[int, str]:
        """``(status, body)`` for a 2xx reply; auth statuses → DriverAuthExpired, others → HTTPError.

        Through the egress policy, with redirects checked and limited, the reply capped at
        ``config.max_reply_bytes`` and one deadline (``config.timeout_s``); a non-2xx body is
        not read (its status and content type are all an error says)."""
        url = URL(self.config.base_url + path)
        base = URL(self.config.base_url)
        if (url.host, url.port, url.user) != (base.host, base.port, base.user):
            # a path from driver_options such as "@elsewhere/x" must not carry the device's
            # credentials to another host (they are bound to this address only)
            raise DriverError(f"path {path[:60]!r} leaves the device's address")
        headers = kwargs.pop("headers", None)
        # the deadline is a backstop: the poll's own timeout (``_with_deadline``) ends first
        got = await download.fetch(self.session, self.config.base_url + path, policy=self.config.egress,
                                   max_bytes=self.config.max_reply_bytes,
                                   deadline_s=self.config.timeout_s + 1.0,
                                   method=method, headers=headers, **kwargs)
        if got.status in expired_statuses:
            raise DriverAuthExpired(f"HTTP {got.status} on {path}")
        if got.status >= 400:
            raise DriverHTTPError(got.status, got.content_type)
        return got.status, (got.body or b"").decode("utf-8", "replace")

    async def request_json(self, method: str, path: str, **kwargs: Any) -> Any:
        _status, body = await self.request(method, path, **kwargs)
        try:
            return json.loads(body)
        except ValueError as exc:
            raise DriverProtocolError(f"malformed JSON from {path} ({len(body)} characters)") from exc


