"""Blackmagic Web Presenter simulator: the Ethernet text protocol on a TCP port (9977 on devices).

Checked against the "Web Presenter Ethernet Protocol" section of Blackmagic's manuals. On
connect the device dumps its state blocks (``PROTOCOL PREAMBLE:``, ``IDENTITY:``,
``STREAM SETTINGS:``, ``STREAM STATE:``) with no end marker. Blocks are a header line ending
in ``:``, ``Name: value`` lines and a blank line. A client block is answered ``ACK`` (then, for
a header-only query, the current block) or ``NACK``. ``Cache Used`` is an integer percentage
(a healthy stream shows a few percent; the ``link_errors`` fault fills it).
``STREAM STATE:`` with ``Action: Start`` or ``Action: Stop`` controls the stream. The ``/_sim``
control API is on a side HTTP port.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web

from castwatch.simulators.encoders.base import EncoderSimulator, control_routes, wait_while_hung


class BlackmagicSimulator(EncoderSimulator):
    kind = "blackmagic"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._client, self.host, self._port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        app = web.Application()
        app.add_routes(control_routes(self.state))
        self.control_port = await self._serve(app, self._control_port)

    async def stop(self) -> None:
        self._server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)
        await super().stop()

    def _stream_state_block(self) -> str:
        snap = self.state.snapshot()
        live = snap.streaming and not self.state.faults.stream_stop
        status = "Interrupted" if live and self.state.flap_bad() else "Streaming" if live else "Idle"
        secs = int(snap.uptime_s)
        return (f"STREAM STATE:\nStatus: {status}\nBitrate: {int(snap.bitrate_kbps * 1000) if live else 0}\n"
                f"Duration: {secs // 3600:02d}:{secs % 3600 // 60:02d}:{secs % 60:02d}\n"
                f"Cache Used: {85 if self.state.faults.link_errors else 2 if live else 0}\n\n")

    def _preamble(self) -> str:
        return ("PROTOCOL PREAMBLE:\nVersion: 1.2\n\n"
                f"IDENTITY:\nModel: Blackmagic Web Presenter HD\nLabel: {self.state.name}\n"
                "Unique ID: 7c2e0d000001\n\n"
                "STREAM SETTINGS:\nVideo Mode: Auto\nCurrent Platform: Custom\n"
                "Current Quality: Streaming High\n\n"
                + self._stream_state_block())

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await wait_while_hung(self.state)  # a hung device accepts but says nothing
            writer.write(self._preamble().encode())
            await writer.drain()
            while True:
                block = await self._read_block(reader)
                if block is None:
                    return
                await self._answer(block, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()

    @staticmethod
    async def _read_block(reader: asyncio.StreamReader) -> list[str] | None:
        lines: list[str] = []
        while True:
            raw = await reader.readline()
            if not raw:
                return None
            line = raw.decode(errors="replace").rstrip("\r\n")
            if line == "":
                if lines:
                    return lines
                continue
            lines.append(line)

    async def _answer(self, block: list[str], writer: asyncio.StreamWriter) -> None:
        self.state.log("TCP", block[0], "\n".join(block[1:]))
        await wait_while_hung(self.state)
        if self.state.faults.malformed:
            writer.write(b"\xff\xfeSTRE\x00AM\n")
            await writer.drain()
            return
        header = block[0]
        fields = dict(line.split(": ", 1) for line in block[1:] if ": " in line)
        if header != "STREAM STATE:":
            writer.write(b"NACK\n\n")
        elif "Action" in fields:
            action = fields["Action"]
            if action == "Stop":
                self.state.stop()
            ok = self.state.start() if action == "Start" else action == "Stop"
            writer.write(b"ACK\n\n" if ok else b"NACK\n\n")
        else:
            writer.write(b"ACK\n\n" + self._stream_state_block().encode())
        await writer.drain()
