"""Matrox Monarch HD / HDX: the ``sdk.aspx`` command API (Basic auth, plain-text replies).

``GetStatus`` replies are comma/colon lists whose shape differs by model:
HD ``RECORD:READY, STREAM:RTMP,ON, NAME:X``; HDX ``ENC1:RECORD,READY, ENC2:RTMP,ON, NAME:X``.
Commands answer ``SUCCESS``, ``FAILED`` or ``RETRY`` (busy → :class:`DriverBusy`, retried by
the base class). The SDK reports no temperature, CPU or counters: those stay ``None``.
Option ``stream_encoder`` (HDX): ``"2"`` uses ``StartEncoder2``/``StopEncoder2``.
Local recording: ``StartRecording`` / ``StopRecording``; its status is the ``RECORD`` section
(HD) or the encoder whose first field is ``RECORD`` (HDX): ``ON`` is recording, ``READY`` idle,
anything else (``DISABLED``: no usable media) is reported as the device's reason.
"""

from __future__ import annotations

import re

import aiohttp

from castwatch.encoder_manager.drivers.base import (
    DriverBusy,
    DriverError,
    DriverProtocolError,
    HttpDriver,
)
from castwatch.encoder_manager.sample import HealthSample, OutputStream

PATH = "/Monarch/syncconnect/sdk.aspx"
#: Monarch stream status words → common state
STATE_MAP = {"ON": "live", "READY": "idle", "DISABLED": "idle", "OFF": "idle"}
_TOKEN = re.compile(r"(STREAM|ENC\d)\s*:\s*([A-Z0-9]+)\s*,\s*([A-Z]+)", re.IGNORECASE)
_RECORD_HD = re.compile(r"(?:^|,)\s*RECORD\s*:\s*([A-Z]+)", re.IGNORECASE)


def record_status(text: str) -> str | None:
    """The RECORD status word of a GetStatus reply (HD or HDX), or None when there is none."""
    match = _RECORD_HD.search(text)
    if match is not None:
        return match.group(1).upper()
    for token in _TOKEN.finditer(text):
        if token.group(1).upper().startswith("ENC") and token.group(2).upper() == "RECORD":
            return token.group(3).upper()
    return None


def parse_status(text: str) -> tuple[str, dict[str, str]]:
    """``(stream status word, {section: status})`` from a GetStatus reply; raises on garbage."""
    sections = {m.group(1).upper(): m.group(3).upper() for m in _TOKEN.finditer(text)}
    if "STREAM" in sections:
        return sections["STREAM"], sections
    # HDX: the streaming encoder is the one whose first field is not RECORD
    for match in _TOKEN.finditer(text):
        if match.group(1).upper().startswith("ENC") and match.group(2).upper() not in ("RECORD", "NONE"):
            return match.group(3).upper(), sections
    raise DriverProtocolError(f"GetStatus reply without a stream status: {text[:60]!r}")


class MatroxMonarchDriver(HttpDriver):
    kind = "matrox_monarch"
    capabilities = frozenset({"start_stop", "record"})

    async def _login(self) -> None:
        return None  # Basic auth on every request; nothing to open

    async def _command(self, command: str) -> str:
        auth = aiohttp.BasicAuth(self.config.username or "admin", self.config.password or "")
        _status, body = await self.request("GET", PATH, params={"command": command}, auth=auth)
        return body.strip()

    async def _poll(self) -> HealthSample:
        text = await self._command("GetStatus")
        word, sections = parse_status(text)
        state = STATE_MAP.get(word, "unknown")
        record = record_status(text)
        return HealthSample(reachable=True, state=state, vendor_state=word,
                            streams=(OutputStream(name="stream", state=state),),
                            raw={"status": text, "sections": sections},
                            recording=None if record is None else record == "ON",
                            record_reason=None if record in (None, "ON", "READY")
                            else f"device reports RECORD {record}")

    async def _act(self, verb: str, what: str = "Streaming") -> None:
        encoder = str(self.config.options.get("stream_encoder", ""))
        command = f"{verb}Encoder{encoder}" if encoder and what == "Streaming" else f"{verb}{what}"
        reply = (await self._command(command)).upper()
        if reply == "RETRY":
            raise DriverBusy(f"{command}: device answered RETRY")
        if reply != "SUCCESS":
            raise DriverError(f"{command}: device answered {reply[:40]!r}")

    async def _start(self, output: str | None) -> None:
        await self._act("Start")

    async def _stop(self, output: str | None) -> None:
        await self._act("Stop")

    async def _record_start(self) -> None:
        await self._act("Start", "Recording")

    async def _record_stop(self) -> None:
        await self._act("Stop", "Recording")
