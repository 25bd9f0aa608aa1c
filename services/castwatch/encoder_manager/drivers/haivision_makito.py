"""Haivision Makito X4 encoder: the ``/apis/`` REST API behind the web UI (session cookie).

Written from public references, not from our simulator:

- the Bitfocus Companion module ``bitfocus/companion-module-haivision-makito-x4-encoder``
  (``index.js``, ``src/actions.js``): cookie login on ``POST /apis/authentication``, lists
  wrapped as ``{"data": [...]}``, streams as ``{"info": {id, name, ...}, "stats": {state,
  bitrate, srt: {...}}}`` with numeric states (0 stopped, 1 streaming, 2 failed, 3 connecting,
  4 securing, 5 listening, 6 paused, 7 publishing, 8 resolving, 9 scrambled), video encoder
  states (0 stopped, 3 awaiting framing, 5 not encoding, 7 working, 8 resetting, 128 failed),
  ``PUT /apis/streams/{id}/start|stop``, ``PUT /apis/videnc/{id}/start|stop`` and
  ``POST /apis/reboot`` (used by remediation only where the operator allowed reboots);
- the AVI-SPL control driver ``AVISPL/dal-avdevices-encoderdecoder-haivision-x4encoder`` and
  its recorded device answers (``src/test/resources/mappings/multi.json``): the login answers
  the text ``OK`` with a ``SessionID`` cookie; ``/apis/status`` carries ``chipsetLoad`` and
  ``temperature`` as strings and no memory figure; encoder counters are UI-formatted strings
  (``"23,093,165"``) with ``encoderResets``; SRT statistics carry ``resentPackets``,
  ``lostPackets``, ``reconnections`` and ``rtt`` in **microseconds** (155193 on a stream with
  250 ms latency); names come HTML-escaped (``Stream&#32;Output&#32;0``); start/stop answer
  the stream object.

One poll reads ``/apis/status``, ``/apis/videnc`` and ``/apis/streams`` concurrently. Option
``stream_id`` selects the output that is watched and started/stopped (default: every stream).
``start_output(output)`` / ``stop_output(output)`` with an output act on the one stream whose
id or (unescaped) name is ``output`` — how a pool starts the output it assigned here (the
device must have a stream of that name); no such stream is a :class:`DriverError`.
"""

from __future__ import annotations

import asyncio
import html
from typing import Any

from castwatch.encoder_manager.drivers.base import DriverError, DriverProtocolError, HttpDriver
from castwatch.encoder_manager.sample import (
    HealthSample,
    LinkStats,
    OutputStream,
    parse_int,
    parse_number,
)

STREAM_STATES = {0: "idle", 1: "live", 2: "failed", 3: "starting", 4: "starting", 5: "starting",
                 6: "idle", 7: "live", 8: "starting", 9: "failed"}
STREAM_WORDS = {0: "stopped", 1: "streaming", 2: "failed", 3: "connecting", 4: "securing",
                5: "listening", 6: "paused", 7: "publishing", 8: "resolving", 9: "scrambled"}


def items(data: Any, what: str) -> list[dict[str, Any]]:
    """The objects of a list reply: ``{"data": [...]}`` as the device sends it (a bare list is
    accepted too); anything else is a protocol error."""
    if isinstance(data, dict) and "data" in data:
        data = data["data"]
    if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
        raise DriverProtocolError(f"{what}: expected a list of objects")
    return data


def _sum(values: list[int | None]) -> int | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def _part(obj: dict[str, Any], key: str) -> dict[str, Any]:
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def stream_id(stream: dict[str, Any]) -> str:
    return str(_part(stream, "info").get("id", stream.get("id", "")))


def stream_state(stream: dict[str, Any]) -> tuple[str, str]:
    """``(common state, device word)`` of one stream object."""
    code = parse_int(_part(stream, "stats").get("state"))
    if code is None:
        return "unknown", "no state"
    return STREAM_STATES.get(code, "unknown"), STREAM_WORDS.get(code, f"state {code}")


class HaivisionMakitoDriver(HttpDriver):
    kind = "haivision_makito"
    capabilities = frozenset({"start_stop", "temperature", "cpu", "bitrate", "frames",
                              "link_stats", "multi_output", "reboot"})

    async def _login(self) -> None:
        # the device answers the text "OK" and sets SessionID; a refusal is a 401
        await self.request("POST", "/apis/authentication", json={
            "username": self.config.username or "admin", "password": self.config.password or "",
        })

    def _watched(self, streams: list[dict[str, Any]]) -> list[dict[str, Any]]:
        wanted = self.config.options.get("stream_id")
        if wanted is None:
            return streams
        return [s for s in streams if stream_id(s) == str(wanted)]

    async def _poll(self) -> HealthSample:
        status, videnc, streams = await asyncio.gather(
            self.request_json("GET", "/apis/status"), self.request_json("GET", "/apis/videnc"),
            self.request_json("GET", "/apis/streams"),
        )
        if not isinstance(status, dict):
            raise DriverProtocolError("/apis/status: expected an object")
        encoders = items(videnc, "/apis/videnc")
        outputs = self._watched(items(streams, "/apis/streams"))
        enc_stats = [_part(e, "stats") for e in encoders]
        states = [stream_state(s) for s in outputs]
        out_streams = tuple(
            OutputStream(name=html.unescape(str(_part(s, "info").get("name", stream_id(s)))),
                         state=st, bitrate_kbps=parse_number(_part(s, "stats").get("bitrate")))
            for s, (st, _word) in zip(outputs, states, strict=True)
        )
        srts = [_part(_part(s, "stats"), "srt") for s in outputs]
        srts = [x for x in srts if x]
        rtts = [v / 1000.0 for v in (parse_number(x.get("rtt")) for x in srts) if v is not None]
        link = LinkStats(
            rtt_ms=max(rtts) if rtts else None,  # the device reports microseconds
            lost=_sum([parse_int(x.get("lostPackets")) for x in srts]),
            retransmitted=_sum([parse_int(x.get("resentPackets")) for x in srts]),
            reconnections=_sum([parse_int(x.get("reconnections")) for x in srts]),
        ) if srts else None
        common = {st for st, _ in states}
        state = "live" if common == {"live"} else "degraded" if "live" in common else (
            "starting" if "starting" in common else "failed" if "failed" in common else "idle")
        bitrates = [s.bitrate_kbps for s in out_streams if s.bitrate_kbps is not None]
        return HealthSample(
            reachable=True, state=state if out_streams else "unknown",
            vendor_state=",".join(word for _, word in states) or None,
            temperature_c=parse_number(status.get("temperature")),
            cpu_percent=parse_number(status.get("chipsetLoad")),
            memory_percent=None,  # not reported by the device
            bitrate_kbps=sum(bitrates) if bitrates else None,
            frames_total=_sum([parse_int(s.get("encodedFrames")) for s in enc_stats]),
            frames_dropped=_sum([parse_int(s.get("droppedFrames")) for s in enc_stats]),
            encoder_resets=_sum([parse_int(s.get("encoderResets")) for s in enc_stats]),
            link=link, streams=out_streams,
            raw={"status": status, "videnc": encoders, "streams": outputs},
        )

    async def _stream_ids(self, output: str | None) -> list[str]:
        if output is None and self.config.options.get("stream_id") is not None:
            return [str(self.config.options["stream_id"])]
        streams = items(await self.request_json("GET", "/apis/streams"), "/apis/streams")
        if output is None:
            return [stream_id(s) for s in streams]
        for s in streams:
            if output in (stream_id(s), html.unescape(str(_part(s, "info").get("name", "")))):
                return [stream_id(s)]
        raise DriverError(f"no stream {output!r} on the device")

    async def _act(self, action: str, output: str | None) -> None:
        for sid in await self._stream_ids(output):
            # a refusal is an HTTP error status; success answers the stream object
            data = await self.request_json("PUT", f"/apis/streams/{sid}/{action}")
            if isinstance(data, dict) and "data" in data and isinstance(data["data"], dict):
                data = data["data"]
            if not isinstance(data, dict) or "info" not in data:
                raise DriverError(f"stream {sid} {action}: unexpected answer")

    async def _start(self, output: str | None) -> None:
        await self._act("start", output)

    async def _stop(self, output: str | None) -> None:
        await self._act("stop", output)

    async def _reboot(self) -> None:
        await self.request("POST", "/apis/reboot")
