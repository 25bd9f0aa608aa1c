"""Haivision Makito X4 encoder: the ``/apis/`` REST API (session cookie, 401 when expired).

One poll reads ``/apis/status`` (CPU, memory, temperature), ``/apis/videnc`` (frame and drop
counters, resets) and ``/apis/streams`` (output state, SRT RTT/lost/retransmitted) concurrently.
Option ``stream_id`` selects the output to start/stop (default: every stream listed).
"""

from __future__ import annotations

import asyncio
from typing import Any

from castwatch.encoder_manager.drivers.base import DriverError, DriverProtocolError, HttpDriver
from castwatch.encoder_manager.sample import (
    HealthSample,
    LinkStats,
    OutputStream,
    parse_int,
    parse_number,
)

STREAM_STATES = {"STREAMING": "live", "CONNECTING": "starting", "LISTENING": "starting",
                 "STOPPED": "idle", "FAILED": "failed", "PAUSED": "idle"}


def _list(data: Any, what: str) -> list[dict[str, Any]]:
    if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
        raise DriverProtocolError(f"{what}: expected a list of objects")
    return data


def _sum(values: list[int | None]) -> int | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


class HaivisionMakitoDriver(HttpDriver):
    kind = "haivision_makito"
    capabilities = frozenset({"start_stop", "temperature", "cpu", "memory", "bitrate", "frames",
                              "link_stats", "multi_output"})

    async def _login(self) -> None:
        await self.request_json("POST", "/apis/authentication", json={
            "username": self.config.username or "admin", "password": self.config.password or "",
        })

    async def _poll(self) -> HealthSample:
        status, videnc, streams = await asyncio.gather(
            self.request_json("GET", "/apis/status"), self.request_json("GET", "/apis/videnc"),
            self.request_json("GET", "/apis/streams"),
        )
        if not isinstance(status, dict):
            raise DriverProtocolError("/apis/status: expected an object")
        encoders = _list(videnc, "/apis/videnc")
        outputs = _list(streams, "/apis/streams")
        enc_stats = [e.get("stats") or {} for e in encoders]
        out_streams = tuple(
            OutputStream(name=str(s.get("name", s.get("id"))),
                         state=STREAM_STATES.get(str(s.get("state", "")).upper(), "unknown"),
                         bitrate_kbps=parse_number((s.get("stats") or {}).get("bitrate")))
            for s in outputs
        )
        srts = [((s.get("stats") or {}).get("srt") or {}) for s in outputs]
        link = LinkStats(
            rtt_ms=max((v for v in (parse_number(x.get("rtt")) for x in srts) if v is not None),
                       default=None),
            lost=_sum([parse_int(x.get("lostPackets")) for x in srts]),
            retransmitted=_sum([parse_int(x.get("retransmittedPackets")) for x in srts]),
            reconnections=_sum([parse_int(x.get("reconnections")) for x in srts]),
        ) if srts else None
        states = {s.state for s in out_streams}
        state = "live" if states == {"live"} else "degraded" if "live" in states else (
            "starting" if "starting" in states else "failed" if "failed" in states else "idle")
        bitrates = [s.bitrate_kbps for s in out_streams if s.bitrate_kbps is not None]
        return HealthSample(
            reachable=True, state=state if out_streams else "unknown",
            vendor_state=",".join(str(s.get("state")) for s in outputs) or None,
            temperature_c=parse_number(status.get("temperature")),
            cpu_percent=parse_number(status.get("cpuUsage")),
            memory_percent=parse_number(status.get("memoryUsage")),
            bitrate_kbps=sum(bitrates) if bitrates else None,
            frames_total=_sum([parse_int(s.get("encodedFrames")) for s in enc_stats]),
            frames_dropped=_sum([parse_int(s.get("droppedFrames")) for s in enc_stats]),
            encoder_resets=_sum([parse_int(s.get("resets")) for s in enc_stats]),
            link=link, streams=out_streams,
            raw={"status": status, "videnc": encoders, "streams": outputs},
        )

    async def _stream_ids(self, output: str | None) -> list[str]:
        wanted = output or self.config.options.get("stream_id")
        if wanted is not None:
            return [str(wanted)]
        streams = _list(await self.request_json("GET", "/apis/streams"), "/apis/streams")
        return [str(s["id"]) for s in streams]

    async def _act(self, action: str, output: str | None) -> None:
        for sid in await self._stream_ids(output):
            data = await self.request_json("POST", f"/apis/streams/{sid}/{action}")
            if not isinstance(data, dict) or (data.get("response") or {}).get("type") != "success":
                raise DriverError(f"stream {sid} {action} refused")

    async def _start(self, output: str | None) -> None:
        await self._act("start", output)

    async def _stop(self, output: str | None) -> None:
        await self._act("stop", output)
