"""Blackmagic Web Presenter / Streaming Encoder: the Ethernet text protocol on TCP 9977.

Per the "Web Presenter Ethernet Protocol" section of Blackmagic's manuals: on connection the
device dumps its state blocks (``PROTOCOL PREAMBLE:``, ``IDENTITY:``, ``STREAM SETTINGS:``,
``STREAM STATE:``, …) and nothing marks their end (``END PRELUDE:`` belongs to the Videohub
protocol, not this one). So connecting only opens the socket; every exchange skips whatever
blocks arrive before its answer. A poll sends ``STREAM STATE:`` and reads ``ACK`` then the
``STREAM STATE:`` block; start/stop send ``Action: Start|Stop`` and expect ``ACK``; a refusal is
``NACK`` (``NAK`` is accepted too). Status words: Idle, Connecting, Streaming, Interrupted.
Bitrate is in bit/s; ``Cache Used`` is an integer percentage of the stream cache, stored as a
0–1 congestion fraction. The protocol has no temperature, CPU, frame counters or local
recording (None / no capability).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from castwatch.encoder_manager.drivers.base import (
    DriverConnectionError,
    DriverError,
    DriverProtocolError,
    EncoderDriver,
)
from castwatch.encoder_manager.sample import HealthSample, LinkStats, OutputStream, parse_number

STATE_MAP = {"idle": "idle", "connecting": "starting", "streaming": "live", "interrupted": "failed"}
MAX_BLOCK_LINES = 200
MAX_SKIPPED_BLOCKS = 60  # the connection dump plus unsolicited updates before an answer
REFUSALS = ("NACK", "NAK")


class BlackmagicDriver(EncoderDriver):
    kind = "blackmagic"
    capabilities = frozenset({"start_stop", "bitrate"})

    def __init__(self, config: Any, **_: Any) -> None:
        super().__init__(config)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._lock = asyncio.Lock()
        self.identity: dict[str, str] = {}

    async def _login(self) -> None:
        await self._close()
        host, port = self.config.host_port
        self._reader, self._writer = await self.open_tcp(host, port)
        # the state dump that follows is read (and skipped) by the first exchange

    async def _read_block(self) -> tuple[str, dict[str, str]]:
        if self._reader is None:
            raise DriverConnectionError("not connected")
        lines: list[str] = []
        while len(lines) < MAX_BLOCK_LINES:
            raw = await self._reader.readline()
            if not raw:
                self._connected = False
                raise DriverConnectionError("device closed the connection")
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as exc:
                await self._close()
                raise DriverProtocolError("undecodable bytes from the device") from exc
            if line == "":
                if lines:
                    break
                continue
            lines.append(line)
        else:
            raise DriverProtocolError("block too long")
        header = lines[0]
        if not header.endswith(":") and header not in ("ACK", *REFUSALS):
            await self._close()
            raise DriverProtocolError(f"unexpected line {header[:40]!r}")
        return header, dict(line.split(": ", 1) for line in lines[1:] if ": " in line)

    async def _exchange(self, block: str, *, want: str | None) -> dict[str, str]:
        """Send ``block``; expect ACK, then (if ``want``) the block with that header."""
        async with self._lock:
            if self._writer is None:
                raise DriverConnectionError("not connected")
            self._writer.write(block.encode())
            await self._writer.drain()
            acked = False
            for _ in range(MAX_SKIPPED_BLOCKS):
                header, fields = await self._read_block()
                if header == "IDENTITY:":
                    self.identity = fields
                if header in REFUSALS:
                    raise DriverError(f"device answered {header} to {block.splitlines()[0]}")
                if header == "ACK":
                    acked = True
                    if want is None:
                        return {}
                elif acked and header == want:
                    return fields
            raise DriverProtocolError("no answer block after ACK")

    async def _poll(self) -> HealthSample:
        fields = await self._exchange("STREAM STATE:\n\n", want="STREAM STATE:")
        status = fields.get("Status", "")
        state = STATE_MAP.get(status.strip().lower(), "unknown")
        bps = parse_number(fields.get("Bitrate"))
        cache = parse_number(fields.get("Cache Used"))  # percent
        congestion = None if cache is None else min(1.0, max(0.0, cache / 100.0))
        return HealthSample(
            reachable=True, state=state, vendor_state=status or None,
            bitrate_kbps=None if bps is None else bps / 1000,
            link=LinkStats(congestion=congestion),
            streams=(OutputStream(name="stream", state=state,
                                  bitrate_kbps=None if bps is None else bps / 1000),),
            raw={"stream_state": fields, "identity": self.identity},
        )

    async def _start(self, output: str | None) -> None:
        await self._exchange("STREAM STATE:\nAction: Start\n\n", want=None)

    async def _stop(self, output: str | None) -> None:
        await self._exchange("STREAM STATE:\nAction: Stop\n\n", want=None)

    async def _close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(TimeoutError, OSError, ConnectionError):
                await asyncio.wait_for(writer.wait_closed(), 0.5)
