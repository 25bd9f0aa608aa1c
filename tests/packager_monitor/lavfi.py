"""Real media for the content tests: MPEG-TS segments made by the ffmpeg binary from lavfi
sources (black, a still picture, a moving test pattern; silence, a sine at a given level)."""

from __future__ import annotations

import functools
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

VIDEO = {
    "normal": "testsrc2=size={size}:rate=25",
    "black": "color=black:size={size}:rate=25",
    "frozen": "smptebars=size={size}:rate=25",  # a still picture that is not black
}
#: ffmpeg's sine source reads about -21 LUFS in stereo; volume moves it
AUDIO = {
    "normal": "sine=frequency=1000:sample_rate=48000,volume=-1.9dB",  # ~ -23 LUFS stereo
    "silence": "anullsrc=channel_layout=stereo:sample_rate=48000",
    "loud": "sine=frequency=1000:sample_rate=48000,volume=19dB",      # ~ -2 LUFS, true peak above 0 dBTP
}


def need_ffmpeg() -> str:
    path = shutil.which("ffmpeg")
    if path is None:
        pytest.fail("ffmpeg is required for the content tests (apt-get install ffmpeg)")
    return path


def make_segment(out: Path, video: str = "normal", audio: str = "normal", seconds: float = 2.0,
                 size: str = "640x360", bitrate: str | None = None) -> bytes:
    """An H.264 + AAC stereo MPEG-TS segment; returns its bytes."""
    cmd = [need_ffmpeg(), "-v", "error", "-y",
           "-f", "lavfi", "-i", VIDEO[video].format(size=size),
           "-f", "lavfi", "-i", AUDIO[audio],
           "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-g", "25",
           "-pix_fmt", "yuv420p"]
    if bitrate:
        cmd += ["-b:v", bitrate, "-maxrate", bitrate, "-bufsize", bitrate]
    cmd += ["-c:a", "aac", "-ac", "2", "-b:a", "96k", "-f", "mpegts", str(out)]
    subprocess.run(cmd, check=True, timeout=60)
    return out.read_bytes()


@contextmanager
def ffmpeg_live(cmd: list[str], out: Path, first: str) -> Iterator[tuple[str, list[str]]]:
    """Run ``cmd`` (an ffmpeg writing a live channel into ``out`` in real time) and serve ``out``
    over loopback HTTP; yields (``first``'s URL once ffmpeg has written it, every path asked for).
    ffmpeg is stopped and the server closed on exit."""
    asked: list[str] = []

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            asked.append(self.path)

    ffmpeg = subprocess.Popen(cmd)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(out)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        deadline = time.monotonic() + 20
        while not (out / first).exists():
            if time.monotonic() > deadline or ffmpeg.poll() is not None:
                pytest.fail(f"ffmpeg wrote no {first} within 20 s")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{server.server_address[1]}/{first}", asked
    finally:
        server.shutdown()
        server.server_close()
        ffmpeg.terminate()
        ffmpeg.wait(timeout=10)
