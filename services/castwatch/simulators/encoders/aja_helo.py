"""AJA HELO simulator: ``/config?action=get|set&paramid=eParamID_…`` with session login.

``POST /authenticator/login`` (form field ``password_provided``) sets the ``serenity-session``
cookie. A request with a missing or expired session gets **404**, as the device does.
Stream states follow the HELO ReplicatorStreamState enumeration (1 Idle, 2 Streaming,
3 Failing (Idle), 4 Failing (Stream), 5 Shutdown); ReplicatorCommand 3 starts, 4 stops
streaming; 1 starts and 2 stops recording. ``eParamID_ReplicatorRecordState`` uses the same
enumeration (2 Recording; 3 Failing (Idle) after the disk filled up), and
``eParamID_CurrentMediaAvailable`` is the percentage of recording media still free.
"""

from __future__ import annotations

from aiohttp import web

from castwatch.simulators.encoders.base import HttpSimulator

COOKIE = "serenity-session"
STREAM_STATES = {1: "Idle", 2: "Streaming", 3: "Failing (Idle)", 4: "Failing (Stream)", 5: "Shutdown"}
COMMAND_START_RECORD, COMMAND_STOP_RECORD, COMMAND_START_STREAM, COMMAND_STOP_STREAM = 1, 2, 3, 4
RECORD_STATES = {1: "Idle", 2: "Recording", 3: "Failing (Idle)", 4: "Failing (Record)", 5: "Shutdown"}


class AjaHeloSimulator(HttpSimulator):
    kind = "aja_helo"

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/authenticator/login", self.login), web.get("/config", self.config)]

    async def login(self, request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("password_provided") != self.state.password:
            return web.json_response({"login": "failure"}, status=403)
        resp = web.json_response({"login": "success"})
        resp.set_cookie(COOKIE, self.state.session_token())
        return resp

    async def config(self, request: web.Request) -> web.Response:
        if not self.state.session_valid(request.cookies.get(COOKIE)):
            return web.Response(status=404, text="Not Found")
        if self.state.faults.malformed:
            return web.Response(text="<html><body>eParamID_", content_type="application/json")
        action = request.query.get("action")
        param = request.query.get("paramid", "")
        if action == "set" and param == "eParamID_ReplicatorCommand":
            return self._command(request.query.get("value", ""))
        if action != "get":
            return web.json_response({"error": "bad action"}, status=400)
        snap = self.state.snapshot()
        if param == "eParamID_ReplicatorStreamState":
            code = 2 if snap.streaming else 1
            if self.state.faults.stream_stop or (snap.streaming and self.state.flap_bad()):
                code = 4
            return self._param(param, "Stream State", str(code), STREAM_STATES[code])
        if param == "eParamID_ReplicatorRecordState":
            code = 2 if snap.recording else 3 if self.state.record_stop_reason else 1
            return self._param(param, "Record State", str(code), RECORD_STATES[code])
        if param == "eParamID_CurrentMediaAvailable":
            free = 0 if self.state.faults.disk_full else 87
            return self._param(param, "Media Available", str(free), f"{free}%")
        if param == "eParamID_Temperature":
            temp = f"{snap.temperature_c:.0f}"
            return self._param(param, "Temperature", temp, f"{temp} C")
        return web.json_response({"error": f"unknown paramid {param}"}, status=400)

    def _command(self, value: str) -> web.Response:
        if value == str(COMMAND_START_STREAM):
            ok = self.state.start()
        elif value == str(COMMAND_STOP_STREAM):
            self.state.stop()
            ok = True
        elif value == str(COMMAND_START_RECORD):
            ok = self.state.record_start()
        elif value == str(COMMAND_STOP_RECORD):
            self.state.record_stop()
            ok = True
        else:
            return web.json_response({"error": "unknown command"}, status=400)
        return self._param("eParamID_ReplicatorCommand", "Replicator Command", value,
                           "ok" if ok else "failed")

    @staticmethod
    def _param(paramid: str, name: str, value: str, value_name: str) -> web.Response:
        return web.json_response({"paramid": paramid, "name": name, "value": value,
                                  "value_name": value_name})
