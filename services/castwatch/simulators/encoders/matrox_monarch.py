"""Matrox Monarch HD simulator: ``/Monarch/syncconnect/sdk.aspx?command=…`` with Basic auth.

``GetStatus`` answers plain text like the HD model, e.g.
``RECORD:READY, STREAM:RTMP,ON, NAME:sim`` (``ON`` while streaming, ``READY`` when idle).
``StartStreaming`` / ``StopStreaming`` answer ``SUCCESS``, ``FAILED`` or — in a RETRY storm —
``RETRY`` (the device is busy; the caller should try again). ``StartRecording`` /
``StopRecording`` drive local recording: ``RECORD:ON`` while recording, ``RECORD:READY`` when
idle, ``RECORD:DISABLED`` when the media is full (a start then answers ``FAILED``).
"""

from __future__ import annotations

import base64

from aiohttp import web

from castwatch.simulators.encoders.base import HttpSimulator


class MatroxMonarchSimulator(HttpSimulator):
    kind = "matrox_monarch"

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/Monarch/syncconnect/sdk.aspx", self.sdk)]

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == self.state.username and password == self.state.password

    async def sdk(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="Monarch"'})
        if self.state.faults.malformed:
            return web.Response(text="\x00#GARBLED?STAT")
        command = request.query.get("command", "")
        if command == "GetStatus":
            snap = self.state.snapshot()
            stream = "ON" if snap.streaming else "READY"
            if self.state.faults.stream_stop or (snap.streaming and self.state.flap_bad()):
                stream = "READY"
            record = "ON" if snap.recording else "DISABLED" if self.state.faults.disk_full else "READY"
            return web.Response(text=f"RECORD:{record}, STREAM:RTMP,{stream}, NAME:{self.state.name}")
        if command in ("StartRecording", "StopRecording"):
            if self.state.faults.retry_storm:
                return web.Response(text="RETRY")
            if command == "StartRecording":
                return web.Response(text="SUCCESS" if self.state.record_start() else "FAILED")
            self.state.record_stop()
            return web.Response(text="SUCCESS")
        if command in ("StartStreaming", "StopStreaming"):
            if self.state.faults.retry_storm:
                return web.Response(text="RETRY")
            if command == "StartStreaming":
                return web.Response(text="SUCCESS" if self.state.start() else "FAILED")
            self.state.stop()
            return web.Response(text="SUCCESS")
        return web.Response(text="FAILED")
