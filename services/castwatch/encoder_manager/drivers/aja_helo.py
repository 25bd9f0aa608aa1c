"""AJA HELO / HELO Plus: the ``/config`` parameter API with session login.

Reads ``eParamID_ReplicatorStreamState``, ``eParamID_ReplicatorRecordState`` and
``eParamID_Temperature``; starts/stops with ``eParamID_ReplicatorCommand`` (1 = start recording,
2 = stop recording, 3 = start streaming, 4 = stop streaming). Record states follow the stream
enumeration (1 Idle, 2 Recording, 3 Failing (Idle), 4 Failing (Record), 5 Shutdown); when the
recorder is failing, ``eParamID_CurrentMediaAvailable`` (percent free) gives the reason.
A 404 on ``/config`` means the session expired (the device answers so), which the base class
turns into a re-login. The HELO API does not report CPU, frames or link statistics: those stay ``None``.
"""

from __future__ import annotations

from typing import Any

from castwatch.encoder_manager.drivers.base import (
    DriverAuthExpired,
    DriverError,
    DriverProtocolError,
    HttpDriver,
)
from castwatch.encoder_manager.sample import HealthSample, OutputStream, parse_int, parse_number

#: ReplicatorStreamState → common state
STATE_MAP = {0: "unknown", 1: "idle", 2: "live", 3: "failed", 4: "failed", 5: "idle"}
RECORD_START, RECORD_STOP, START, STOP = 1, 2, 3, 4
RECORDING, RECORD_FAILING = 2, (3, 4)
_SESSION_EXPIRED = frozenset({401, 403, 404})


class AjaHeloDriver(HttpDriver):
    kind = "aja_helo"
    capabilities = frozenset({"start_stop", "temperature", "record"})

    async def _login(self) -> None:
        if not self.config.password:
            return  # authentication disabled on the device
        data = await self.request_json(
            "POST", "/authenticator/login", data={"password_provided": self.config.password},
            expired_statuses=frozenset(),
        )
        if not isinstance(data, dict) or data.get("login") != "success":
            raise DriverAuthExpired("login refused")

    async def _param(self, action: str, paramid: str, value: int | None = None) -> dict[str, Any]:
        query = {"action": action, "paramid": paramid}
        if value is not None:
            query["value"] = str(value)
        data = await self.request_json("GET", "/config", params=query,
                                       expired_statuses=_SESSION_EXPIRED)
        if not isinstance(data, dict) or "value" not in data:
            raise DriverProtocolError(f"{paramid}: reply without a value")
        return data

    async def _poll(self) -> HealthSample:
        stream = await self._param("get", "eParamID_ReplicatorStreamState")
        temp = await self._param("get", "eParamID_Temperature")
        recording, record_reason = await self._record_state()
        code = parse_int(stream.get("value"))
        if code is None:
            raise DriverProtocolError(f"stream state {stream.get('value')!r} is not a number")
        state = STATE_MAP.get(code, "unknown")
        vendor = str(stream.get("value_name") or code)
        return HealthSample(
            reachable=True, state=state, vendor_state=vendor,
            temperature_c=parse_number(temp.get("value")),
            streams=(OutputStream(name="stream", state=state),),
            raw={"stream": stream, "temperature": temp},
            recording=recording, record_reason=record_reason,
        )

    async def _record_state(self) -> tuple[bool | None, str | None]:
        record = await self._param("get", "eParamID_ReplicatorRecordState")
        code = parse_int(record.get("value"))
        if code is None:
            return None, None
        if code not in RECORD_FAILING:
            return code == RECORDING, None
        reason = str(record.get("value_name") or f"record state {code}")[:80]
        media = await self._param("get", "eParamID_CurrentMediaAvailable")
        free = parse_number(media.get("value"))
        if free is not None and free < 1:
            reason = f"media full ({free:g}% available); device says {reason}"
        return False, reason

    async def _command(self, value: int) -> None:
        reply = await self._param("set", "eParamID_ReplicatorCommand", value)
        if reply.get("value_name") == "failed":
            raise DriverError(f"device refused ReplicatorCommand {value}")

    async def _start(self, output: str | None) -> None:
        await self._command(START)

    async def _stop(self, output: str | None) -> None:
        await self._command(STOP)

    async def _record_start(self) -> None:
        await self._command(RECORD_START)

    async def _record_stop(self) -> None:
        await self._command(RECORD_STOP)
