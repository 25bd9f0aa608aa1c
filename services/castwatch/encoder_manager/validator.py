"""Validation of an encoder's stream output configuration (pure; the API calls it).

``validate_output(output) -> list[FieldError]`` — empty when valid. An empty ``output`` is
valid (no output configured yet). Fields, all optional but checked when present:

- ``protocol``: ``rtmp`` | ``rtmps`` | ``srt`` (inferred from ``url`` when absent);
- ``url``: ``rtmp[s]://host[:port]/app[/key]`` or ``srt://host:port[?mode=…&latency=…&passphrase=…]``;
- ``stream_key``: RTMP only; 1–256 printable characters without spaces or slashes;
- ``resolution``: ``"1920x1080"`` (even sizes, 160×90 up to 7680×4320);
- ``frame_rate``: one of the broadcast rates (23.976 … 60; 120 only up to 1080p);
- ``codec``: ``h264`` | ``hevc`` | ``av1`` (h264 tops out at 4096×2304);
- ``bitrate_kbps``: 100–100000 and sane for resolution × frame rate × codec (bits per pixel);
- ``audio_bitrate_kbps``: 32–512.

``validate_driver_options(options) -> list[FieldError]`` checks what the encoder manager itself
reads from ``driver_options`` (the rest belongs to the driver): ``capabilities``, a list of short
strings (``assignment.parse_capabilities``), e.g. ``["hevc", "multi_output"]``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from castwatch.encoder_manager.assignment import CAPABILITIES_MAX, CAPABILITY_MAX_CHARS, parse_capabilities


@dataclass(frozen=True)
class FieldError:
    """One problem with one field of the output configuration (``field`` is a dotted path)."""

    field: str
    message: str


KNOWN_FIELDS = frozenset({"protocol", "url", "stream_key", "resolution", "frame_rate", "codec",
                          "bitrate_kbps", "audio_bitrate_kbps"})
PROTOCOLS = ("rtmp", "rtmps", "srt")
CODECS = ("h264", "hevc", "av1")
FRAME_RATES = (23.976, 24.0, 25.0, 29.97, 30.0, 48.0, 50.0, 59.94, 60.0, 100.0, 119.88, 120.0)
#: usable bits per pixel per frame for live streaming, by codec (below: blocky; above: wasteful)
BPP_RANGE = {"h264": (0.02, 0.5), "hevc": (0.012, 0.35), "av1": (0.01, 0.3)}
_RESOLUTION = re.compile(r"^\s*(\d{2,5})\s*[xX×]\s*(\d{2,5})\s*$")
_STREAM_KEY = re.compile(r"^[\x21-\x7e]{1,256}$")
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$|^\[[0-9a-fA-F:]+\]$")


def _number(output: dict[str, Any], name: str, errors: list[FieldError]) -> float | None:
    value = output.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        errors.append(FieldError(name, "must be a number"))
        return None
    return float(value)


def parse_resolution(value: Any) -> tuple[int, int] | None:
    if not isinstance(value, str):
        return None
    match = _RESOLUTION.match(value)
    return (int(match.group(1)), int(match.group(2))) if match else None


def validate_driver_options(options: dict[str, Any]) -> list[FieldError]:
    """Problems with the parts of ``driver_options`` the encoder manager reads; empty when valid."""
    if not isinstance(options, dict):
        return [FieldError("", "must be an object")]
    if parse_capabilities(options.get("capabilities")) is None:
        return [FieldError("capabilities", f"must be a list of at most {CAPABILITIES_MAX} short strings "
                                           f"(1-{CAPABILITY_MAX_CHARS} characters each), e.g. [\"hevc\"]")]
    return []


def validate_output(output: dict[str, Any]) -> list[FieldError]:
    """Problems with an encoder ``output`` dict; empty when it is valid."""
    if not isinstance(output, dict):
        return [FieldError("", "must be an object")]
    errors = [FieldError(k, "unknown field; expected one of " + ", ".join(sorted(KNOWN_FIELDS)))
              for k in sorted(output) if k not in KNOWN_FIELDS]
    _check_destination(output, errors)
    size = _check_resolution(output, errors)
    fps = _check_frame_rate(output, size, errors)
    codec = _check_codec(output, size, errors)
    _check_bitrate(output, size, fps, codec, errors)
    audio = _number(output, "audio_bitrate_kbps", errors)
    if audio is not None and not 32 <= audio <= 512:
        errors.append(FieldError("audio_bitrate_kbps", "must be between 32 and 512 kbps"))
    return errors


def _check_destination(output: dict[str, Any], errors: list[FieldError]) -> str | None:
    protocol = output.get("protocol")
    if protocol is not None and protocol not in PROTOCOLS:
        errors.append(FieldError("protocol", f"must be one of {', '.join(PROTOCOLS)}"))
        protocol = None
    url = output.get("url")
    key = output.get("stream_key")
    if url is not None:
        if not isinstance(url, str):
            errors.append(FieldError("url", "must be a string"))
            return protocol
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in PROTOCOLS:
            errors.append(FieldError("url", "must start with rtmp://, rtmps:// or srt://"))
            return protocol
        if protocol is not None and scheme != protocol:
            errors.append(FieldError("url", f"is {scheme}:// but protocol is {protocol}"))
        protocol = protocol or scheme
        if not parts.hostname or not _HOST.match(parts.hostname if ":" not in parts.hostname
                                                 else f"[{parts.hostname}]"):
            errors.append(FieldError("url", "has no valid host"))
        try:
            port = parts.port
        except ValueError:
            errors.append(FieldError("url", "has an invalid port"))
            port = None
        if scheme == "srt":
            _check_srt(parts.query, port, errors)
        elif not parts.path.strip("/"):
            errors.append(FieldError("url", "needs an application path, e.g. rtmp://host/live"))
        elif key is None and parts.path.strip("/").count("/") == 0:
            errors.append(FieldError("stream_key", "is required: the URL holds only the application"))
    if key is not None:
        if protocol == "srt":
            errors.append(FieldError("stream_key", "SRT has no stream key; put streamid in the URL"))
        elif not isinstance(key, str) or not _STREAM_KEY.match(key) or "/" in key:
            errors.append(FieldError("stream_key", "must be 1–256 printable characters without "
                                                   "spaces or slashes"))
    return protocol


def _check_srt(query: str, port: int | None, errors: list[FieldError]) -> None:
    if port is None:
        errors.append(FieldError("url", "SRT needs a port, e.g. srt://host:9000"))
    params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    mode = params.get("mode")
    if mode is not None and mode not in ("caller", "listener", "rendezvous"):
        errors.append(FieldError("url", "SRT mode must be caller, listener or rendezvous"))
    latency = params.get("latency")
    if latency is not None and (not latency.isdigit() or not 20 <= int(latency) <= 8000):
        errors.append(FieldError("url", "SRT latency must be 20–8000 ms"))
    passphrase = params.get("passphrase")
    if passphrase is not None and not 10 <= len(passphrase) <= 79:
        errors.append(FieldError("url", "SRT passphrase must be 10–79 characters"))


def _check_resolution(output: dict[str, Any], errors: list[FieldError]) -> tuple[int, int] | None:
    raw = output.get("resolution")
    if raw is None:
        return None
    size = parse_resolution(raw)
    if size is None:
        errors.append(FieldError("resolution", "must look like 1920x1080"))
        return None
    w, h = size
    if not (160 <= w <= 7680 and 90 <= h <= 4320):
        errors.append(FieldError("resolution", "must be between 160x90 and 7680x4320"))
        return None
    if w % 2 or h % 2:
        errors.append(FieldError("resolution", "width and height must be even (4:2:0 chroma)"))
        return None
    return size


def _check_frame_rate(output: dict[str, Any], size: tuple[int, int] | None,
                      errors: list[FieldError]) -> float | None:
    fps = _number(output, "frame_rate", errors)
    if fps is None:
        return None
    if not any(abs(fps - r) < 0.01 for r in FRAME_RATES):
        errors.append(FieldError("frame_rate", "must be a broadcast rate: "
                                 + ", ".join(f"{r:g}" for r in FRAME_RATES)))
        return None
    if size is not None:
        h = size[1]
        limit = 120.0 if h <= 1080 else 60.0 if h <= 2160 else 30.0
        if fps > limit + 0.01:
            errors.append(FieldError("frame_rate", f"{fps:g} fps is not supported at {size[0]}x{h} "
                                                   f"(at most {limit:g})"))
            return None
    return fps


def _check_codec(output: dict[str, Any], size: tuple[int, int] | None,
                 errors: list[FieldError]) -> str | None:
    codec = output.get("codec")
    if codec is None:
        return None
    if codec not in CODECS:
        errors.append(FieldError("codec", f"must be one of {', '.join(CODECS)}"))
        return None
    if codec == "h264" and size is not None and (size[0] > 4096 or size[1] > 2304):
        errors.append(FieldError("codec", "h264 cannot encode above 4096x2304; use hevc or av1"))
    return str(codec)


def _check_bitrate(output: dict[str, Any], size: tuple[int, int] | None, fps: float | None,
                   codec: str | None, errors: list[FieldError]) -> None:
    kbps = _number(output, "bitrate_kbps", errors)
    if kbps is None:
        return
    if not 100 <= kbps <= 100_000:
        errors.append(FieldError("bitrate_kbps", "must be between 100 and 100000 kbps"))
        return
    if size is None or fps is None:
        return
    low, high = BPP_RANGE[codec or "h264"]
    pixels = size[0] * size[1] * fps
    lowest, highest = math.ceil(low * pixels / 1000), math.floor(high * pixels / 1000)
    label = f"{size[0]}x{size[1]}@{fps:g} {codec or 'h264'}"
    if kbps < lowest:
        errors.append(FieldError("bitrate_kbps", f"{kbps:g} kbps is too low for {label}: "
                                                 f"use at least {lowest} kbps"))
    elif kbps > highest:
        errors.append(FieldError("bitrate_kbps", f"{kbps:g} kbps is wasteful for {label}: "
                                                 f"use at most {highest} kbps"))
