"""A hostile HTTP origin on loopback: endless bodies, a gzip bomb, a slowloris, lies.

Raw asyncio streams (not a web framework) so it can say and do what a real framework would
refuse to: announce ten terabytes, trickle a byte a second, chunk forever. One request per
connection. Run it in a thread (:class:`HostileOrigin`) or as a process
(``python -m tests.support.hostile PORT``) for tests that measure another process.

Paths:
- ``/endless.m3u8`` — 200, chunked, playlist-looking lines for ever;
- ``/bomb.m3u8`` — 200, ``Content-Encoding: gzip``, ~1 MB that inflates to 1 GiB;
- ``/slow.m3u8`` — 200, ``Content-Length: 4096``, then one byte per second;
- ``/liar.m3u8`` — 200, ``Content-Length: 10000000000000``, then endless bytes;
- ``/secret`` and ``/secret.m3u8`` — 200 / 500 with an HTML body holding :data:`SECRET`
  (``/cablecastapi/v1/scheduleitems`` too, 200: a Cablecast server answering HTML);
- ``/bigseg.m3u8`` — a live media playlist (a new 2 s segment every 2 s) whose segments never end;
- ``/redirect/<n>?to=<url>`` — ``n`` redirects in a row, then to ``to``;
- ``/ok`` — 200 ``ok``.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import zlib
from urllib.parse import parse_qs, unquote, urlsplit

SECRET = "TOPSECRET-remote-body-4f2a"
BOMB_BYTES = 1 << 30
_bomb: bytes | None = None
_LINE = b"#EXTINF:6.0,\nsegment-0000000000.ts\n" * 1000


def gzip_bomb() -> bytes:
    """Gzip that inflates to :data:`BOMB_BYTES` zero bytes (~1 MB): 64 identical members of
    16 MiB each (a gzip stream may hold several members; decoders concatenate them)."""
    global _bomb
    if _bomb is None:
        comp = zlib.compressobj(9, zlib.DEFLATED, 31)
        member = comp.compress(bytes(BOMB_BYTES // 64)) + comp.flush()
        _bomb = member * 64
    return _bomb


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        request = await reader.readuntil(b"\r\n\r\n")
        target = request.split(b" ", 2)[1].decode()
        parts = urlsplit(target)
        await _respond(parts.path, parse_qs(parts.query), writer)
    except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, IndexError):
        pass
    finally:
        writer.close()


def _head(status: str, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status}"] + [f"{k}: {v}" for k, v in {**headers, "Connection": "close"}.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _respond(path: str, query: dict[str, list[str]], w: asyncio.StreamWriter) -> None:
    playlist = {"Content-Type": "application/vnd.apple.mpegurl"}
    if path == "/endless.m3u8":
        w.write(_head("200 OK", {**playlist, "Transfer-Encoding": "chunked"}))
        w.write(b"%x\r\n#EXTM3U\n\r\n" % len(b"#EXTM3U\n"))
        while True:
            w.write(b"%x\r\n%s\r\n" % (len(_LINE), _LINE))
            await w.drain()
    elif path == "/bomb.m3u8":
        bomb = gzip_bomb()
        w.write(_head("200 OK", {**playlist, "Content-Encoding": "gzip", "Content-Length": str(len(bomb))}))
        w.write(bomb)
    elif path == "/slow.m3u8":
        w.write(_head("200 OK", {**playlist, "Content-Length": "4096"}))
        await w.drain()
        for _ in range(4096):
            w.write(b"#")
            await w.drain()
            await asyncio.sleep(1.0)
    elif path == "/liar.m3u8":
        w.write(_head("200 OK", {**playlist, "Content-Length": "10000000000000"}))
        while True:
            w.write(_LINE)
            await w.drain()
    elif path in ("/secret", "/secret.m3u8", "/cablecastapi/v1/scheduleitems"):
        body = f"<html>{SECRET} stack trace: password=hunter2</html>".encode()
        w.write(_head("500 Internal Server Error" if path == "/secret.m3u8" else "200 OK",
                      {"Content-Type": "text/html", "Content-Length": str(len(body))}) + body)
    elif path.startswith("/redirect/"):
        n = int(path.rsplit("/", 1)[1])
        to = unquote(query.get("to", ["/ok"])[0])
        location = f"/redirect/{n - 1}?to={to}" if n > 1 else to
        w.write(_head("302 Found", {"Location": location, "Content-Length": "0"}))
    elif path == "/bigseg.m3u8":
        seq = int(time.time() / 2)  # a live window: a new 2 s segment every 2 s
        body = (f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:{seq}\n"
                + "".join(f"#EXTINF:2.0,\n/endless.ts?n={n}\n" for n in range(seq, seq + 3))).encode()
        w.write(_head("200 OK", {**playlist, "Content-Length": str(len(body))}) + body)
    elif path == "/endless.ts":
        w.write(_head("200 OK", {"Content-Type": "video/mp2t", "Transfer-Encoding": "chunked"}))
        packet = b"G" + bytes(187)
        chunk = packet * 348
        while True:
            w.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await w.drain()
    elif path == "/ok":
        w.write(_head("200 OK", {"Content-Type": "text/plain", "Content-Length": "2"}) + b"ok")
    else:
        w.write(_head("404 Not Found", {"Content-Length": "0"}))
    await w.drain()


class HostileOrigin:
    """The hostile origin in a daemon thread on 127.0.0.1 (an ephemeral port)."""

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hostile-origin", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(_handle, "127.0.0.1", self.port))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()
        tasks = asyncio.all_tasks(self._loop)
        for task in tasks:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        self._loop.close()

    def __enter__(self) -> HostileOrigin:
        gzip_bomb()
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


async def _serve(port: int) -> None:
    server = await asyncio.start_server(_handle, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    gzip_bomb()
    asyncio.run(_serve(int(sys.argv[1])))
