"""A generic JSON-over-HTTP encoder, the shape :mod:`generic_http`'s default mapping expects.

``GET /api/status`` → ``{"device": {"temperature": …, "cpu": …, "memory": …},
"stream": {"state": "running|stopped|error", "bitrate_kbps": …, "frames": …, "dropped": …},
"link": {"rtt_ms": …, "lost": …, "retransmitted": …}}``; ``POST /api/stream/start|stop``.
Optional bearer token (the state's password) when ``require_token`` is set.
"""

from __future__ import annotations

from aiohttp import web

from castwatch.simulators.encoders.base import HttpSimulator


class GenericHttpSimulator(HttpSimulator):
    kind = "generic_http"
    require_token = True

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/api/status", self.status), web.post("/api/stream/{action}", self.act)]

    def _check(self, request: web.Request) -> web.Response | None:
        if self.require_token and request.headers.get("Authorization") != f"Bearer {self.state.password}":
            return web.json_response({"error": "unauthorized"}, status=401)
        if self.state.faults.malformed:
            return web.Response(text="]]", content_type="application/json")
        return None

    async def status(self, request: web.Request) -> web.Response:
        if (bad := self._check(request)) is not None:
            return bad
        snap = self.state.snapshot()
        live = snap.streaming and not self.state.faults.stream_stop
        if live and self.state.flap_bad():
            live = False
        return web.json_response({
            "device": {"temperature": snap.temperature_c, "cpu": snap.cpu_percent,
                       "memory": snap.memory_percent},
            "stream": {"state": "running" if live else "stopped", "bitrate_kbps": snap.bitrate_kbps,
                       "frames": snap.frames_total, "dropped": snap.frames_dropped},
            "link": {"rtt_ms": snap.rtt_ms, "lost": snap.lost, "retransmitted": snap.retransmitted},
        })

    async def act(self, request: web.Request) -> web.Response:
        if (bad := self._check(request)) is not None:
            return bad
        action = request.match_info["action"]
        if action == "start":
            return web.json_response({"ok": self.state.start()})
        if action == "stop":
            self.state.stop()
            return web.json_response({"ok": True})
        return web.json_response({"error": "unknown action"}, status=404)
