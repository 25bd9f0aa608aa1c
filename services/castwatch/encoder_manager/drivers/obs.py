"""OBS Studio through obs-websocket v5 (default port 4455).

Connect: Hello (op 0) → Identify (op 1, with the SHA-256 challenge response when the server
asks for authentication) → Identified (op 2). Each poll sends ``GetStreamStatus`` and
``GetStats`` (op 6) and reads their RequestResponses (op 7), skipping events (op 5).
Bitrate is derived from ``outputBytes`` between polls. OBS reports no temperature (None).
Local recording: ``StartRecord`` / ``StopRecord``, state from ``GetRecordStatus``
(``outputActive``); when it is not recording and ``GetStats.availableDiskSpace`` (MB) is under
``LOW_DISK_MB``, the reason given is the low disk.
A close code 4009 means the password was refused → :class:`DriverAuthExpired`. Each refusal
shows a notification on the OBS machine, so after one the driver does not try again before a
back-off (``AUTH_BACKOFF_S`` doubling to ``AUTH_BACKOFF_MAX_S``); polls in between fail at once
without connecting. OBS has no user names: the whole secret is the password, ``:`` included.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import json
import time
from typing import Any

import aiohttp

from castwatch.encoder_manager.drivers.base import (
    DriverAuthExpired,
    DriverConnectionError,
    DriverError,
    DriverProtocolError,
    HttpDriver,
)
from castwatch.encoder_manager.sample import HealthSample, LinkStats, OutputStream, parse_int, parse_number

CODE_SUCCESS, CODE_OUTPUT_RUNNING, CODE_OUTPUT_NOT_RUNNING = 100, 500, 501
LOW_DISK_MB = 100.0
AUTH_BACKOFF_S = 5.0
AUTH_BACKOFF_MAX_S = 300.0


def auth_response(password: str, salt: str, challenge: str) -> str:
    secret = base64.b64encode(hashlib.sha256((password + salt).encode()).digest()).decode()
    return base64.b64encode(hashlib.sha256((secret + challenge).encode()).digest()).decode()


class ObsDriver(HttpDriver):
    kind = "obs"
    capabilities = frozenset({"start_stop", "cpu", "bitrate", "frames", "link_stats", "record"})
    password_only = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()
        self._last_bytes: tuple[float, int] | None = None
        self._auth_refusals = 0
        self._auth_retry_at = float("-inf")

    @property
    def _ws_url(self) -> str:
        return self.config.base_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1) + "/"

    async def _login(self) -> None:
        wait = self._auth_retry_at - time.monotonic()
        if wait > 0:
            raise DriverAuthExpired(f"OBS refused the password; next attempt in {wait:.0f}s")
        await self._close_ws()
        ws = await self.session.ws_connect(self._ws_url, protocols=("obswebsocket.json",),
                                           heartbeat=None, autoping=True)
        self._ws = ws
        hello = await self._receive(op=0)
        identify: dict[str, Any] = {"rpcVersion": 1, "eventSubscriptions": 0}
        auth = hello.get("authentication")
        if auth:
            if not self.config.password:
                raise DriverAuthExpired("OBS asks for a password and none is configured")
            identify["authentication"] = auth_response(self.config.password, auth["salt"], auth["challenge"])
        await ws.send_str(json.dumps({"op": 1, "d": identify}))
        try:
            await self._receive(op=2)
        except DriverAuthExpired:
            self._auth_refusals += 1
            backoff = min(AUTH_BACKOFF_MAX_S, AUTH_BACKOFF_S * 2 ** (self._auth_refusals - 1))
            self._auth_retry_at = time.monotonic() + backoff
            raise
        self._auth_refusals = 0

    async def _receive(self, *, op: int, request_id: str | None = None) -> dict[str, Any]:
        ws = self._ws
        if ws is None:
            raise DriverConnectionError("not connected")
        while True:
            msg = await ws.receive()
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                code = ws.close_code or (msg.data if isinstance(msg.data, int) else None)
                self._ws = None
                self._connected = False
                if code == 4009:
                    raise DriverAuthExpired("OBS refused the password (4009)")
                raise DriverConnectionError(f"OBS closed the connection ({code})")
            if msg.type != aiohttp.WSMsgType.TEXT:
                raise DriverProtocolError(f"unexpected websocket frame {msg.type}")
            try:
                frame = json.loads(msg.data)
            except ValueError as exc:
                await self._close_ws()
                raise DriverProtocolError(f"malformed frame {msg.data[:40]!r}") from exc
            if not isinstance(frame, dict):
                raise DriverProtocolError("frame is not an object")
            data = frame.get("d") or {}
            if frame.get("op") == op and (request_id is None or data.get("requestId") == request_id):
                return data

    async def call(self, request_type: str, data: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        """One request; ``(status code, responseData)``."""
        async with self._lock:
            if self._ws is None or self._ws.closed:
                self._connected = False
                raise DriverConnectionError("websocket closed")
            rid = str(next(self._ids))
            payload: dict[str, Any] = {"requestType": request_type, "requestId": rid}
            if data:
                payload["requestData"] = data
            await self._ws.send_str(json.dumps({"op": 6, "d": payload}))
            reply = await self._receive(op=7, request_id=rid)
        status = reply.get("requestStatus") or {}
        return int(status.get("code", 0)), reply.get("responseData") or {}

    async def _poll(self) -> HealthSample:
        code, stream = await self.call("GetStreamStatus")
        if code != CODE_SUCCESS:
            raise DriverProtocolError(f"GetStreamStatus failed with code {code}")
        _code, stats = await self.call("GetStats")
        rec_code, record = await self.call("GetRecordStatus")
        recording = bool(record.get("outputActive")) if rec_code == CODE_SUCCESS else None
        disk = parse_number(stats.get("availableDiskSpace"))
        record_reason = (f"disk full ({disk:.0f} MB free)" if recording is False and disk is not None
                         and disk < LOW_DISK_MB else None)
        active = bool(stream.get("outputActive"))
        reconnecting = bool(stream.get("outputReconnecting"))
        state = "starting" if reconnecting else "live" if active else "idle"
        out_bytes = parse_int(stream.get("outputBytes"))
        return HealthSample(
            reachable=True, state=state,
            vendor_state="reconnecting" if reconnecting else "active" if active else "inactive",
            cpu_percent=parse_number(stats.get("cpuUsage")),
            bitrate_kbps=self._bitrate(out_bytes) if active else 0.0,
            frames_total=parse_int(stream.get("outputTotalFrames")),
            frames_dropped=parse_int(stream.get("outputSkippedFrames")),
            link=LinkStats(congestion=parse_number(stream.get("outputCongestion"))),
            streams=(OutputStream(name="stream", state=state),),
            raw={"stream": stream, "stats": stats, "record": record},
            recording=recording, record_reason=record_reason,
        )

    def _bitrate(self, out_bytes: int | None) -> float | None:
        now = time.monotonic()
        previous, self._last_bytes = self._last_bytes, (now, out_bytes) if out_bytes is not None else None
        if previous is None or out_bytes is None or out_bytes < previous[1] or now <= previous[0]:
            return None
        return round((out_bytes - previous[1]) * 8 / 1000 / (now - previous[0]), 1)

    async def _start(self, output: str | None) -> None:
        code, _ = await self.call("StartStream")
        if code not in (CODE_SUCCESS, CODE_OUTPUT_RUNNING):
            raise DriverError(f"StartStream refused with code {code}")

    async def _stop(self, output: str | None) -> None:
        code, _ = await self.call("StopStream")
        if code not in (CODE_SUCCESS, CODE_OUTPUT_NOT_RUNNING):
            raise DriverError(f"StopStream refused with code {code}")

    async def _record_start(self) -> None:
        code, _ = await self.call("StartRecord")
        if code not in (CODE_SUCCESS, CODE_OUTPUT_RUNNING):
            raise DriverError(f"StartRecord refused with code {code}")

    async def _record_stop(self) -> None:
        code, _ = await self.call("StopRecord")
        if code not in (CODE_SUCCESS, CODE_OUTPUT_NOT_RUNNING):
            raise DriverError(f"StopRecord refused with code {code}")

    async def _close_ws(self) -> None:
        if self._ws is not None and not self._ws.closed:
            await self._ws.close()
        self._ws = None

    async def _close(self) -> None:
        await self._close_ws()
        await super()._close()
