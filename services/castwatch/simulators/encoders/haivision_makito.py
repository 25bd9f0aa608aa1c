"""Haivision Makito X4 simulator, shaped after the public references (not after our driver).

References: the Bitfocus Companion module ``companion-module-haivision-makito-x4-encoder`` and
the recorded device answers of ``AVISPL/dal-avdevices-encoderdecoder-haivision-x4encoder``
(see the driver's docstring). What it answers:

- ``POST /apis/authentication`` ``{"username", "password"}`` → the text ``OK`` and a
  ``SessionID`` cookie; a wrong login → **401**; without a valid session every other call → 401;
- ``GET /apis/status`` → ``cardStatus``, ``chipsetLoad`` and ``temperature`` as strings, no memory;
- ``GET /apis/videnc`` → ``{"data": [{"info": {...}, "stats": {"encodedFrames": "23,093,165",
  "droppedFrames", "encoderResets", "encodedBitRate", "encoderLoad", "state": 7|0}}]}``;
- ``GET /apis/streams`` (and ``/apis/streams/{id}``) → ``{"data": [{"info": {"id": 1, "name":
  "Stream&#32;Output&#32;0", "encapsulation": "34", "latency": 250}, "stats": {"state": 1|0|2,
  "bitrate": "6,000 kbps", "srt": {"rtt": <microseconds>, "lostPackets", "resentPackets",
  "reconnections", "latency"}}}]}``;
- ``PUT /apis/streams/{id}/start|stop`` → the stream object; a refused start → **409**;
- ``POST /apis/reboot`` → ``{"upgrade": 0}``; the device comes back idle with its stream fault
  cleared (a wedged encoder that only a reboot cures is the ``stream_stop`` fault: while it is
  on, the stream reports state 2, failed).

Several streams: a Makito X4 carries several stream outputs of its encoders (the Companion
module lists them all from ``/apis/streams`` and starts/stops each by id). Pass
``stream_names`` (ids 1, 2, … in that order; names are sent HTML-escaped as the device does)
and each stream starts and stops on its own; the device "streams" while any of them is live.
With the default single stream, the stream is live exactly when the device streams (the
``/_sim/start|stop`` control API acts on it). :meth:`HaivisionMakitoSimulator.live_streams`
says which named streams are live now (what a test checks the pool against). A test can make
the device lie: a start of a stream named in :attr:`HaivisionMakitoSimulator.lying` is answered
with the stream object as usual but the stream never goes live; a start of a stream named in
:attr:`HaivisionMakitoSimulator.never_connects` is answered OK and the stream then reports
state 3 (connecting: its destination never answers) until it is stopped; while ``hang_starts``
is set, a start is not answered at all (the device polls normally).
"""

from __future__ import annotations

import asyncio
import html
import threading
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from castwatch.simulators.encoders.base import HANG_LIMIT_S, HttpSimulator
from castwatch.simulators.encoders.state import SimState

COOKIE = "SessionID"
STREAM_ID = 1


class HaivisionMakitoSimulator(HttpSimulator):
    kind = "haivision_makito"

    def __init__(self, state: SimState | None = None, *, stream_names: Sequence[str] = ("Stream Output 0",),
                 **kwargs: Any) -> None:
        super().__init__(state, **kwargs)
        if not stream_names:
            raise ValueError("a Makito has at least one stream")
        self.stream_names = list(stream_names)
        self._live: set[int] = set()  # ids of started streams (several-stream devices)
        self.lying: set[str] = set()  # names whose start is answered OK and does nothing
        self.never_connects: set[str] = set()  # names whose start leaves the stream "connecting"
        self._connecting: set[int] = set()  # ids of such started streams (until stopped)
        self.hang_starts = False  # starts get no answer (bounded: 504 after HANG_LIMIT_S)
        self._lock = threading.Lock()

    async def stop(self) -> None:
        self.hang_starts = False  # release hung starts so the server can shut down
        await super().stop()

    @property
    def multi(self) -> bool:
        return len(self.stream_names) > 1

    def _is_live(self, sid: int, streaming: bool) -> bool:
        with self._lock:
            return streaming and (not self.multi or sid in self._live)

    def connecting_streams(self) -> set[str]:
        """Names of the streams started and stuck connecting (``never_connects``)."""
        with self._lock:
            return {self.stream_names[sid - 1] for sid in self._connecting}

    def live_streams(self) -> set[str]:
        """Names of the streams live now (the stream_stop fault holds every stream down)."""
        streaming = self.state.snapshot().streaming and not self.state.faults.stream_stop
        return {name for sid, name in enumerate(self.stream_names, 1) if self._is_live(sid, streaming)}

    def _sid(self, request: web.Request) -> int | None:
        raw = request.match_info["sid"]
        return int(raw) if raw.isdigit() and 1 <= int(raw) <= len(self.stream_names) else None

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/apis/authentication", self.login),
            web.get("/apis/status", self.status),
            web.get("/apis/videnc", self.videnc),
            web.get("/apis/streams", self.streams),
            web.get("/apis/streams/{sid}", self.one_stream),
            web.put("/apis/streams/{sid}/{action}", self.act),
            web.post("/apis/reboot", self.reboot),
        ]

    async def login(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.Response(status=400, text="Bad Request")
        if (not isinstance(body, dict) or body.get("username") != self.state.username
                or body.get("password") != self.state.password):
            return web.Response(status=401, text="Unauthorized")
        resp = web.Response(text="OK", content_type="application/json")  # as recorded
        resp.set_cookie(COOKIE, self.state.session_token())
        return resp

    def _denied(self, request: web.Request) -> web.Response | None:
        if not self.state.session_valid(request.cookies.get(COOKIE)):
            return web.Response(status=401, text="Unauthorized")
        if self.state.faults.malformed:
            return web.Response(text='{"data": [', content_type="application/json")
        return None

    async def status(self, request: web.Request) -> web.Response:
        if (denied := self._denied(request)) is not None:
            return denied
        snap = self.state.snapshot()
        days, rest = divmod(int(snap.uptime_s), 86400)
        hours, rest = divmod(rest, 3600)
        return web.json_response({
            "cardStatus": "OK", "cardType": "Makito X4 SDI Encoder", "firmwareVersion": "1.2.0-14",
            "uptime": f"{days} days {hours:02d}:{rest // 60:02d}:{rest % 60:02d}",
            "chipsetLoad": f"{snap.cpu_percent:.0f}", "temperature": f"{snap.temperature_c:g}",
        })

    async def videnc(self, request: web.Request) -> web.Response:
        if (denied := self._denied(request)) is not None:
            return denied
        snap = self.state.snapshot()
        working = snap.streaming
        return web.json_response({"data": [{
            "info": {"name": "Video Encoder 0", "id": 0, "codecAlgorithm": 1, "bitrate": 6000},
            "stats": {"encodedFrames": f"{snap.frames_total:,}", "droppedFrames": f"{snap.frames_dropped:,}",
                      "encoderResets": snap.resets, "encodedBitRate": f"{snap.bitrate_kbps:,.0f}",
                      "encoderLoad": 25 if working else 0, "state": 7 if working else 0},
        }]})

    def _stream(self, sid: int = STREAM_ID) -> dict[str, Any]:
        snap = self.state.snapshot()
        live = self._is_live(sid, snap.streaming) and not self.state.faults.stream_stop
        if live and self.state.flap_bad():
            live = False
        state = 1 if live else (2 if self.state.faults.stream_stop else 0)
        with self._lock:
            if not live and state == 0 and sid in self._connecting:
                state = 3  # connecting
        rate = snap.bitrate_kbps if live else 0.0
        name = html.escape(self.stream_names[sid - 1]).replace(" ", "&#32;")
        return {
            "info": {"name": name, "id": sid, "type": "1",
                     "encapsulation": "34", "address": "192.0.2.10", "port": str(6063 + sid), "latency": 250},
            "stats": {"uptime": f"{int(snap.uptime_s)}s", "sentPackets": f"{snap.frames_total * 7:,}",
                      "bitrate": f"{rate:,.0f} kbps",
                      "srt": {"state": 1 if live else 0, "reconnections": str(snap.reconnections),
                              "resentPackets": f"{snap.retransmitted:,}", "lostPackets": f"{snap.lost:,}",
                              "rtt": int(snap.rtt_ms * 1000), "latency": 250},
                      "state": state},
        }

    async def streams(self, request: web.Request) -> web.Response:
        if (denied := self._denied(request)) is not None:
            return denied
        count = len(self.stream_names)
        return web.json_response({"data": [self._stream(sid) for sid in range(1, count + 1)]})

    async def one_stream(self, request: web.Request) -> web.Response:
        if (denied := self._denied(request)) is not None:
            return denied
        sid = self._sid(request)
        if sid is None:
            return web.Response(status=404, text="Not Found")
        return web.json_response(self._stream(sid))

    async def reboot(self, request: web.Request) -> web.Response:
        if (denied := self._denied(request)) is not None:
            return denied
        self.state.stop()
        with self._lock:
            self._live.clear()
            self._connecting.clear()
        self.state.set_faults(stream_stop=False)
        self.state.expire_sessions()
        return web.json_response({"upgrade": 0})

    async def act(self, request: web.Request) -> web.Response:
        if (denied := self._denied(request)) is not None:
            return denied
        sid = self._sid(request)
        if sid is None:
            return web.Response(status=404, text="Not Found")
        action = request.match_info["action"]
        waited = 0.0
        while action == "start" and self.hang_starts and waited < HANG_LIMIT_S:
            await asyncio.sleep(0.05)
            waited += 0.05
        if waited:
            return web.Response(status=504, text="hung")
        if action == "start" and self.stream_names[sid - 1] in self.lying:
            pass
        elif action == "start" and self.stream_names[sid - 1] in self.never_connects:
            with self._lock:
                self._connecting.add(sid)
        elif action == "start":
            idle_before = not self.state.snapshot().streaming
            if not self.state.start():
                return web.json_response({"error": "stream cannot start"}, status=409)
            with self._lock:
                if idle_before:  # stopped as a whole (operator, reboot): nothing else is live
                    self._live.clear()
                self._live.add(sid)
        elif action == "stop":
            with self._lock:
                self._live.discard(sid)
                self._connecting.discard(sid)
                idle = not self._live
            if idle or not self.multi:
                self.state.stop()
        else:
            return web.Response(status=404, text="Not Found")
        return web.json_response(self._stream(sid))
