"""A live HLS channel over loopback from ffmpeg-made segment files, for the content tests.

Segments are made once by the ffmpeg binary (lavfi sources, see :mod:`.lavfi`); the server
presents each rendition as a live media playlist: a sliding window of ``window`` segments that
advances by one every ``segment_s`` of wall time, looping over the rendition's files. The
master playlist is given as text. Per rendition the test may make segments answer an HTTP
status (``status``) or replace their bytes (``body``), to play a broken origin.

URLs: ``/master.m3u8``, ``/NAME/index.m3u8``, ``/NAME/init.mp4`` (fMP4), ``/NAME/seg_N.EXT``.
"""

from __future__ import annotations

import re
import struct
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .lavfi import AUDIO, VIDEO, need_ffmpeg


@dataclass
class Rendition:
    segments: list[bytes]
    ext: str = "ts"
    init: bytes | None = None
    #: answer segments (not the playlist) with this HTTP status instead
    status: int | None = None
    #: serve these bytes instead of the real segments
    body: bytes | None = None


@dataclass
class LiveHls:
    master: str
    renditions: dict[str, Rendition]
    segment_s: float = 1.0
    window: int = 4
    t0: float = field(default_factory=time.monotonic)
    requests: list[str] = field(default_factory=list)

    def edge(self) -> int:
        return self.window + int((time.monotonic() - self.t0) / self.segment_s)

    def media(self, name: str) -> str:
        r = self.renditions[name]
        first = self.edge() - self.window
        lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-TARGETDURATION:1",
                 f"#EXT-X-MEDIA-SEQUENCE:{first}"]
        if r.init is not None:
            lines.append('#EXT-X-MAP:URI="init.mp4"')
        for seq in range(first, first + self.window):
            lines += [f"#EXTINF:{self.segment_s:.3f},", f"seg_{seq}.{r.ext}"]
        return "\n".join(lines) + "\n"

    def answer(self, path: str) -> tuple[int, bytes]:
        self.requests.append(path)
        if path == "/master.m3u8":
            return 200, self.master.encode()
        m = re.fullmatch(r"/([\w-]+)/(index\.m3u8|init\.mp4|seg_(\d+)\.\w+)", path)
        r = self.renditions.get(m.group(1)) if m else None
        if m is None or r is None:
            return 404, b"not found\n"
        if m.group(2) == "index.m3u8":
            return 200, self.media(m.group(1)).encode()
        if m.group(2) == "init.mp4":
            return (200, r.init) if r.init is not None else (404, b"no init\n")
        if r.status is not None:
            return r.status, b"simulated failure\n"
        return 200, r.body if r.body is not None else r.segments[int(m.group(3)) % len(r.segments)]

    def serve(self) -> tuple[ThreadingHTTPServer, str]:
        """Start serving on a loopback port in a daemon thread; returns the server and the
        master playlist's URL (``server.shutdown()`` stops it)."""
        live = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the base class's name
                status, body = live.answer(self.path)
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server, f"http://127.0.0.1:{server.server_address[1]}/master.m3u8"


def hls_files(out: Path, inputs: list[str], codec: list[str], seconds: float,
              fmp4: bool = False, segment_s: int = 1) -> tuple[list[bytes], bytes | None]:
    """Run ffmpeg's hls muxer (``segment_s`` segments, VOD list) on ``seconds`` + 1 s of the
    lavfi sources and read back its first ``seconds / segment_s`` segments in order (never the
    short remainder); with ``fmp4`` also the initialization section."""
    out.mkdir(parents=True, exist_ok=True)
    ext = "m4s" if fmp4 else "ts"
    cmd = [need_ffmpeg(), "-v", "error", "-y"]
    for source in inputs:
        cmd += ["-f", "lavfi", "-i", source]
    cmd += ["-t", str(seconds + 1), *codec, "-f", "hls", "-hls_time", str(segment_s), "-hls_list_size", "0",
            "-hls_segment_filename", str(out / f"s%d.{ext}")]
    if fmp4:
        cmd += ["-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4"]
    subprocess.run([*cmd, str(out / "index.m3u8")], check=True, timeout=120)
    names = [ln for ln in (out / "index.m3u8").read_text().splitlines() if ln and ln[0] != "#"]
    init = (out / "init.mp4").read_bytes() if fmp4 else None
    return [(out / n).read_bytes() for n in names[:int(seconds) // segment_s]], init


_AAC = ["-c:a", "aac", "-ac", "2", "-b:a", "96k"]


def video_only(out: Path, video: str = "normal", seconds: float = 4.0) -> list[bytes]:
    """320x180 H.264 MPEG-TS segments without audio (the video variant of a demuxed ladder)."""
    codec = ["-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p", "-an"]
    return hls_files(out, [VIDEO[video].format(size="320x180")], codec, seconds)[0]


def audio_ts(out: Path, audio: str, seconds: float = 4.0) -> list[bytes]:
    """AAC stereo in MPEG-TS segments (an audio rendition's media playlist)."""
    return hls_files(out, [AUDIO[audio]], _AAC, seconds)[0]


def audio_fmp4(out: Path, audio: str, seconds: float = 4.0) -> tuple[list[bytes], bytes]:
    """AAC stereo in fMP4/CMAF media segments and their initialization section (EXT-X-MAP)."""
    segments, init = hls_files(out, [AUDIO[audio]], _AAC, seconds, fmp4=True)
    assert init is not None
    return segments, init


def id3_timestamp(pts_90khz: int) -> bytes:
    """The ID3v2 tag that starts a packed audio segment (RFC 8216 §3.4): a PRIV frame
    ``com.apple.streaming.transportStreamTimestamp`` with the 33-bit MPEG-2 timestamp."""
    payload = b"com.apple.streaming.transportStreamTimestamp\x00" + struct.pack(">Q", pts_90khz)
    frame = b"PRIV" + struct.pack(">I", len(payload)) + b"\x00\x00" + payload
    n = len(frame)
    size = bytes([(n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F])  # synchsafe
    return b"ID3\x04\x00\x00" + size + frame


def packed_aac(out: Path, audio: str, seconds: float = 4.0) -> list[bytes]:
    """Packed audio segments: raw ADTS AAC, each behind its ID3 timestamp (RFC 8216 §3.4)."""
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run([need_ffmpeg(), "-v", "error", "-y", "-f", "lavfi", "-i", AUDIO[audio],
                    "-t", str(seconds + 1), *_AAC, "-f", "segment", "-segment_time", "1",
                    "-segment_format", "adts", str(out / "s%d.aac")], check=True, timeout=120)
    files = sorted(out.glob("s*.aac"), key=lambda p: int(p.stem[1:]))
    return [id3_timestamp(i * 90000) + f.read_bytes() for i, f in enumerate(files[:int(seconds)])]
