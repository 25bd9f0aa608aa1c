"""Real media for the simulated origin: H.264 + AAC MPEG-TS segments made by the ffmpeg
binary from lavfi sources, one per (size, content state), cached in memory.

Content states are the origin's content faults: ``black`` (color=black), ``frozen`` (a still
SMPTE bars picture), ``silence`` (anullsrc), ``loud`` (a 1 kHz sine near full scale, about
-2 LUFS), ``starved`` (video only at ``kbps``, default 24 kbit/s), else ``normal`` (a moving
test pattern with a sine at about -23 LUFS). ``width`` 0 makes an audio-only segment (a separate
audio rendition; picture states do not apply), ``sound=False`` a video-only one (the video of a
demuxed ladder; sound states do not apply). Encoding costs tens to hundreds of ms, so the
server calls :meth:`MediaCache.get` in a thread.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

CONTENT_FAULTS = ("black", "frozen", "silence", "loud", "starved")

_VIDEO = {"black": "color=black:size={w}x{h}:rate=25", "frozen": "smptebars=size={w}x{h}:rate=25"}
_AUDIO = {"silence": "anullsrc=channel_layout=stereo:sample_rate=48000",
          "loud": "sine=frequency=1000:sample_rate=48000,volume=19dB"}
_NORMAL_VIDEO = "testsrc2=size={w}x{h}:rate=25"
_NORMAL_AUDIO = "sine=frequency=1000:sample_rate=48000,volume=-1.9dB"


class MediaError(RuntimeError):
    """ffmpeg is missing or failed."""


def encode(width: int, height: int, seconds: float, state: str = "normal",
           kbps: int | None = None, sound: bool = True) -> bytes:
    """One MPEG-TS segment of ``seconds`` in content ``state`` (see the module docstring);
    ``kbps`` is the starved rate, or for the other states the video bitrate to hold to."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise MediaError("the ffmpeg binary is needed for real media")
    cmd = [ffmpeg, "-v", "error", "-nostdin", "-y"]
    if width:
        cmd += ["-f", "lavfi", "-i", _VIDEO.get(state, _NORMAL_VIDEO).format(w=width, h=height)]
    sound = sound and state != "starved"
    if sound:
        cmd += ["-f", "lavfi", "-i", _AUDIO.get(state, _NORMAL_AUDIO)]
    cmd += ["-t", f"{seconds:.3f}"]
    if width:
        cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p",
                "-threads", "1"]
    if width and state == "starved":
        rate = f"{kbps or 24}k"
        cmd += ["-b:v", rate, "-maxrate", rate, "-bufsize", rate]
    elif width and kbps:  # the rung's video budget, so segments fit its declared BANDWIDTH
        cmd += ["-b:v", f"{kbps}k", "-maxrate", f"{kbps}k", "-bufsize", f"{2 * kbps}k"]
    cmd += ["-c:a", "aac", "-ac", "2", "-b:a", "64k"] if sound else ["-an"]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "seg.ts"
        try:
            subprocess.run([*cmd, "-f", "mpegts", str(out)], check=True, timeout=60,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            raise MediaError(f"ffmpeg failed: {exc}") from None
        return out.read_bytes()


class MediaCache:
    """Encoded segments by (width, height, seconds, state, kbps, sound); thread-safe."""

    def __init__(self, max_height: int = 1080) -> None:
        self.max_height = max_height
        self._items: dict[tuple[int, int, float, str, int | None, bool], bytes] = {}
        self._lock = threading.Lock()

    def get(self, width: int, height: int, seconds: float, state: str = "normal",
            kbps: int | None = None, sound: bool = True) -> bytes:
        if height > self.max_height:  # keep encoding cheap: scale tall rungs down
            width, height = width * self.max_height // height // 2 * 2, self.max_height
        key = (width, height, round(seconds, 3), state, kbps, sound)
        with self._lock:
            cached = self._items.get(key)
        if cached is None:
            cached = encode(width, height, seconds, state, kbps, sound)
            with self._lock:
                self._items[key] = cached
        return cached
