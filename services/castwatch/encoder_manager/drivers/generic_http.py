"""Any JSON-over-HTTP encoder, described by a mapping in ``driver_options``.

Options (all optional; defaults fit the generic simulator):

- ``status_path`` (``/api/status``); ``start`` / ``stop``: ``{"method", "path", "json"}``;
- ``auth``: ``none`` | ``basic`` | ``bearer`` (bearer sends the password as the token);
- ``fields``: sample field → dotted path in the status JSON, e.g.
  ``{"state": "stream.state", "temperature_c": "device.temperature"}``;
- ``state_map``: device state word → common state (``{"running": "live"}``); words are
  compared case-insensitively (``{"OnAir": "live"}`` matches ``onair``, ``ONAIR``).

A field whose path is missing is ``None``. A start/stop is accepted on any 2xx reply,
``204 No Content`` included (no body is required); a refusal is an HTTP error status.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from castwatch.encoder_manager.drivers.base import DriverProtocolError, HttpDriver
from castwatch.encoder_manager.sample import STATES, HealthSample, LinkStats, parse_int, parse_number

DEFAULT_FIELDS = {
    "state": "stream.state", "temperature_c": "device.temperature", "cpu_percent": "device.cpu",
    "memory_percent": "device.memory", "bitrate_kbps": "stream.bitrate_kbps",
    "frames_total": "stream.frames", "frames_dropped": "stream.dropped",
    "link_rtt_ms": "link.rtt_ms", "link_lost": "link.lost", "link_retransmitted": "link.retransmitted",
}
DEFAULT_STATE_MAP = {"running": "live", "live": "live", "streaming": "live", "stopped": "idle",
                     "idle": "idle", "starting": "starting", "error": "failed", "failed": "failed"}
_INT_FIELDS = {"frames_total", "frames_dropped", "link_lost", "link_retransmitted"}


def lookup(data: Any, path: str) -> Any:
    """The value at dotted ``path`` (list indexes allowed), or None when any step is missing."""
    for part in path.split("."):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


class GenericHttpDriver(HttpDriver):
    kind = "generic_http"
    capabilities = frozenset({"start_stop", "temperature", "cpu", "memory", "bitrate", "frames",
                              "link_stats"})

    def _auth_kwargs(self) -> dict[str, Any]:
        auth = self.config.options.get("auth", "bearer" if self.config.password else "none")
        if auth == "basic":
            return {"auth": aiohttp.BasicAuth(self.config.username or "", self.config.password or "")}
        if auth == "bearer":
            return {"headers": {"Authorization": f"Bearer {self.config.password or ''}"}}
        return {}

    async def _login(self) -> None:
        return None  # credentials go with every request

    async def _poll(self) -> HealthSample:
        opts = self.config.options
        data = await self.request_json("GET", str(opts.get("status_path", "/api/status")),
                                       **self._auth_kwargs())
        if not isinstance(data, dict):
            raise DriverProtocolError("status reply is not an object")
        fields = {**DEFAULT_FIELDS, **(opts.get("fields") or {})}
        values: dict[str, Any] = {}
        for name, path in fields.items():
            raw = lookup(data, str(path))
            values[name] = parse_int(raw) if name in _INT_FIELDS else (
                raw if name == "state" else parse_number(raw))
        state_map = {str(k).lower(): v for k, v in
                     {**DEFAULT_STATE_MAP, **(opts.get("state_map") or {})}.items()}
        word = None if values.get("state") is None else str(values["state"])
        state = state_map.get(word.lower(), "unknown") if word else "unknown"
        if state not in STATES:
            state = "unknown"
        link = LinkStats(rtt_ms=values.get("link_rtt_ms"), lost=values.get("link_lost"),
                         retransmitted=values.get("link_retransmitted"))
        return HealthSample(
            reachable=True, state=state, vendor_state=word,
            temperature_c=values.get("temperature_c"), cpu_percent=values.get("cpu_percent"),
            memory_percent=values.get("memory_percent"), bitrate_kbps=values.get("bitrate_kbps"),
            frames_total=values.get("frames_total"), frames_dropped=values.get("frames_dropped"),
            link=link if any(v is not None for v in (link.rtt_ms, link.lost, link.retransmitted)) else None,
            raw=data,
        )

    async def _act(self, which: str) -> None:
        spec = self.config.options.get(which) or {"method": "POST", "path": f"/api/stream/{which}"}
        # any 2xx is success: devices answer 200 with a body, 202, or 204 with none
        await self.request(str(spec.get("method", "POST")), str(spec["path"]),
                           json=spec.get("json"), **self._auth_kwargs())

    async def _start(self, output: str | None) -> None:
        await self._act("start")

    async def _stop(self, output: str | None) -> None:
        await self._act("stop")
