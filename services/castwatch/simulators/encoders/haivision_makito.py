"""Haivision Makito X4 simulator: the ``/apis/`` REST API with a session cookie.

``POST /apis/authentication`` ``{"username", "password"}`` sets ``sessionID``; without a valid
session every other call is **401**. ``GET /apis/status`` (system), ``GET /apis/videnc``
(video encoders with frame counters), ``GET /apis/streams`` (outputs with SRT statistics);
``POST /apis/streams/{id}/start|stop``. Numbers come formatted the way the web UI shows them
("2,954", "6000 kbps", "12 ms") to exercise lenient parsing.
"""

from __future__ import annotations

from aiohttp import web

from castwatch.simulators.encoders.base import HttpSimulator

COOKIE = "sessionID"


class HaivisionMakitoSimulator(HttpSimulator):
    kind = "haivision_makito"

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/apis/authentication", self.login),
            web.get("/apis/status", self.status),
            web.get("/apis/videnc", self.videnc),
            web.get("/apis/streams", self.streams),
            web.post("/apis/streams/{sid}/{action}", self.act),
        ]

    def _session_ok(self, request: web.Request) -> bool:
        return self.state.session_valid(request.cookies.get(COOKIE))

    async def login(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"error": "bad json"}, status=400)
        if body.get("username") != self.state.username or body.get("password") != self.state.password:
            return web.json_response({"response": {"type": "error"}}, status=401)
        resp = web.json_response({"response": {"type": "success"}})
        resp.set_cookie(COOKIE, self.state.session_token())
        return resp

    def _denied(self, request: web.Request) -> web.Response | None:
        if not self._session_ok(request):
            return web.json_response({"error": "session expired"}, status=401)
        if self.state.faults.malformed:
            return web.Response(text='{"cpuUsage": [', content_type="application/json")
        return None

    async def status(self, request: web.Request) -> web.Response:
        if (denied := self._denied(request)) is not None:
            return denied
        snap = self.state.snapshot()
        return web.json_response({
            "cpuUsage": f"{snap.cpu_percent:.0f} %", "memoryUsage": f"{snap.memory_percent:.0f} %",
            "temperature": f"{snap.temperature_c:.1f} C", "uptime": f"{snap.uptime_s:.0f}",
            "cardStatus": "OK",
        })

    async def videnc(self, request: web.Request) -> web.Response:
        if (denied := self._denied(request)) is not None:
            return denied
        snap = self.state.snapshot()
        return web.json_response([{
            "id": 0, "name": "Video Encoder 1", "state": "WORKING",
            "stats": {"encodedFrames": f"{snap.frames_total:,}", "droppedFrames": f"{snap.frames_dropped:,}",
                      "bitrate": f"{snap.bitrate_kbps:.0f} kbps", "resets": snap.resets},
        }])

    async def streams(self, request: web.Request) -> web.Response:
        if (denied := self._denied(request)) is not None:
            return denied
        snap = self.state.snapshot()
        live = snap.streaming and not self.state.faults.stream_stop
        if live and self.state.flap_bad():
            live = False
        return web.json_response([{
            "id": 0, "name": "Stream 1", "encapsulation": "ts-srt",
            "state": "STREAMING" if live else "STOPPED",
            "stats": {"bitrate": f"{snap.bitrate_kbps:.0f} kbps" if live else "0 kbps",
                      "srt": {"rtt": f"{snap.rtt_ms:.0f} ms", "lostPackets": f"{snap.lost:,}",
                              "retransmittedPackets": f"{snap.retransmitted:,}",
                              "reconnections": snap.reconnections}},
        }])

    async def act(self, request: web.Request) -> web.Response:
        if (denied := self._denied(request)) is not None:
            return denied
        action = request.match_info["action"]
        if action == "start":
            ok = self.state.start()
        elif action == "stop":
            self.state.stop()
            ok = True
        else:
            return web.json_response({"error": "unknown action"}, status=404)
        return web.json_response({"response": {"type": "success" if ok else "error"}},
                                 status=200 if ok else 409)
