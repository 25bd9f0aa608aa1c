"""OBS Studio simulator: an obs-websocket v5 server (JSON text frames) on ``/``.

Hello (op 0, with an auth challenge when a password is set) → Identify (op 1) → Identified
(op 2); Request (op 6) → RequestResponse (op 7). Implements ``GetStreamStatus``, ``GetStats``,
``StartStream``, ``StopStream``, ``GetRecordStatus``, ``StartRecord``, ``StopRecord``; anything
else answers status code 204 (unknown request type). With the disk full, recording stops,
``availableDiskSpace`` is 0 and ``StartRecord`` fails (702, request processing failed).
A failed Identify closes the socket with 4009 (authentication failed), as OBS does.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from typing import Any

from aiohttp import WSMsgType, web

from castwatch.simulators.encoders.base import HttpSimulator, wait_while_hung

CODE_SUCCESS, CODE_UNKNOWN_REQUEST = 100, 204
CODE_OUTPUT_RUNNING, CODE_OUTPUT_NOT_RUNNING = 500, 501


def auth_response(password: str, salt: str, challenge: str) -> str:
    """The obs-websocket v5 authentication string for ``password``."""
    secret = base64.b64encode(hashlib.sha256((password + salt).encode()).digest()).decode()
    return base64.b64encode(hashlib.sha256((secret + challenge).encode()).digest()).decode()


class ObsSimulator(HttpSimulator):
    kind = "obs"

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/", self.websocket)]

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(protocols=("obswebsocket.json",))
        await ws.prepare(request)
        salt, challenge = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        hello: dict[str, Any] = {"obsWebSocketVersion": "5.5.2", "rpcVersion": 1}
        if self.state.password:
            hello["authentication"] = {"challenge": challenge, "salt": salt}
        await ws.send_str(json.dumps({"op": 0, "d": hello}))
        session = self.state.session_token()
        identified = False
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                frame = json.loads(msg.data)
            except ValueError:
                await ws.close(code=4002, message=b"not json")
                break
            if frame.get("op") == 1:
                self.state.log("WS", "Identify")
                given = (frame.get("d") or {}).get("authentication")
                if self.state.password and given != auth_response(self.state.password, salt, challenge):
                    await ws.close(code=4009, message=b"Authentication failed.")
                    break
                identified = True
                await ws.send_str(json.dumps({"op": 2, "d": {"negotiatedRpcVersion": 1}}))
            elif frame.get("op") == 6 and identified:
                if not self.state.session_valid(session):
                    await ws.close(code=1001, message=b"session ended")
                    break
                await self._request(ws, frame.get("d") or {})
            else:
                await ws.close(code=4007, message=b"not identified")
                break
        return ws

    async def _request(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> None:
        self.state.log("WS", str(data.get("requestType")), json.dumps(data.get("requestData") or {}))
        await wait_while_hung(self.state)
        if self.state.faults.malformed:
            await ws.send_str('{"op": 7, "d": {"requestType":')
            return
        rtype = data.get("requestType")
        code, payload = self._handle(str(rtype))
        status: dict[str, Any] = {"result": code == CODE_SUCCESS, "code": code}
        reply: dict[str, Any] = {"requestType": rtype, "requestId": data.get("requestId"),
                                 "requestStatus": status}
        if payload is not None:
            reply["responseData"] = payload
        await ws.send_str(json.dumps({"op": 7, "d": reply}))

    def _handle(self, rtype: str) -> tuple[int, dict[str, Any] | None]:
        snap = self.state.snapshot()
        active = snap.streaming and not self.state.faults.stream_stop
        if rtype == "GetStreamStatus":
            if active and self.state.flap_bad():
                active = False
            secs = snap.uptime_s
            return CODE_SUCCESS, {
                "outputActive": active, "outputReconnecting": False,
                "outputTimecode": f"{int(secs // 3600):02d}:{int(secs % 3600 // 60):02d}:{secs % 60:06.3f}",
                "outputDuration": int(secs * 1000),
                "outputCongestion": 0.4 if self.state.faults.link_errors else 0.0,
                "outputBytes": int(snap.frames_total * snap.bitrate_kbps * 125 / 30) if active else 0,
                "outputSkippedFrames": snap.frames_dropped, "outputTotalFrames": snap.frames_total,
            }
        if rtype == "GetStats":
            return CODE_SUCCESS, {
                "cpuUsage": snap.cpu_percent, "memoryUsage": 812.5, "availableDiskSpace": snap.disk_free_mb,
                "activeFps": 30.0 if active else 0.0, "averageFrameRenderTime": 2.1,
                "renderSkippedFrames": 0, "renderTotalFrames": snap.frames_total,
                "outputSkippedFrames": snap.frames_dropped, "outputTotalFrames": snap.frames_total,
            }
        if rtype == "GetRecordStatus":
            secs = snap.uptime_s if snap.recording else 0.0
            return CODE_SUCCESS, {"outputActive": snap.recording, "outputPaused": False,
                                  "outputTimecode": f"{int(secs // 3600):02d}:{int(secs % 3600 // 60):02d}:"
                                                    f"{secs % 60:06.3f}",
                                  "outputDuration": int(secs * 1000), "outputBytes": int(secs * 750_000)}
        if rtype == "StartRecord":
            if snap.recording:
                return CODE_OUTPUT_RUNNING, None
            return (CODE_SUCCESS if self.state.record_start() else 702), None
        if rtype == "StopRecord":
            if not snap.recording:
                return CODE_OUTPUT_NOT_RUNNING, None
            self.state.record_stop()
            return CODE_SUCCESS, {"outputPath": f"/recordings/{self.state.name}.mkv"}
        if rtype == "StartStream":
            if snap.streaming:
                return CODE_OUTPUT_RUNNING, None
            return (CODE_SUCCESS if self.state.start() else 702), None
        if rtype == "StopStream":
            if not snap.streaming:
                return CODE_OUTPUT_NOT_RUNNING, None
            self.state.stop()
            return CODE_SUCCESS, None
        return CODE_UNKNOWN_REQUEST, None
