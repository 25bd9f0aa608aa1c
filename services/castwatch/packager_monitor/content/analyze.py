"""Decode one segment and measure it (runs in a worker process; pure bytes in, numbers out).

:func:`analyze_segment` opens the segment bytes with PyAV (libavformat/libavcodec bundled in
the ``av`` wheel) and returns a picklable :class:`SegmentAnalysis`:

- video: only reference frames are decoded (``skip_frame=NONREF``; I and P frames, about
  half the work of a full decode) without the loop filter. Each decoded frame's luma
  plane is read sub-sampled (every 4th row and column): *black* when at least 98 % of the
  sampled pixels are darker than ``black_luma`` (the threshold of ffmpeg's blackdetect,
  10 % above limited-range black), *unchanged* when the mean absolute difference to the
  previous decoded frame is below ``freeze_mad`` (out of 255). The segment's first frame has
  no predecessor here: its flag is False, and the sub-sampled luma of the first and last frames
  goes back with the result so that the event loop compares the first frame with the previous
  segment's last one (:func:`still_across`), which times a freeze that begins exactly at a
  segment boundary to the frame. Each frame stands for the time until the next decoded frame.
- audio: every audio stream (track) is decoded to float samples; per 100 ms sub-block the
  K-weighted power (see :mod:`.loudness`) and the loudest channel's RMS in dBFS; the
  segment's true peak.
- optionally a thumbnail: the first key frame scaled to ``THUMB_WIDTH`` px, as JPEG
  (the ``mjpeg`` encoder of the same library, so no imaging dependency).

A segment that cannot be decoded gives ``error`` (type and a short reason, never remote
bytes) instead of raising.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from fractions import Fraction

import av
import numpy as np

from castwatch.packager_monitor.content.loudness import (
    subblock_powers,
    subblock_rms_dbfs,
    true_peak_dbtp,
)

THUMB_WIDTH = 320
#: luma below this (0..255, limited range: 16 is black) counts as a black pixel
BLACK_LUMA = 16 + 0.10 * (235 - 16)
BLACK_RATIO = 0.98
#: mean absolute luma difference (0..255) under which two frames are "the same picture"
FREEZE_MAD = 0.5


@dataclass(frozen=True, slots=True)
class VideoFacts:
    codec: str
    width: int
    height: int
    fps: float | None
    #: bits per second of the video stream's packets over the segment's duration
    bitrate_bps: float | None
    #: (seconds, is_black, is_unchanged) per decoded frame, in presentation order
    frames: tuple[tuple[float, bool, bool], ...]
    mean_luma: float
    #: the sub-sampled luma (see :func:`_luma`) of the first and last frames in presentation
    #: order, for the comparison across segment boundaries; None without decoded frames
    first_luma: np.ndarray | None = None
    last_luma: np.ndarray | None = None


@dataclass(frozen=True, slots=True)
class AudioFacts:
    index: int
    codec: str
    rate: int
    channels: int
    powers: tuple[float, ...]
    rms_dbfs: tuple[float, ...]
    true_peak_dbtp: float


@dataclass(frozen=True, slots=True)
class SegmentAnalysis:
    duration_s: float
    video: VideoFacts | None = None
    audio: tuple[AudioFacts, ...] = ()
    thumbnail: bytes | None = None
    error: str | None = None
    cpu_s: float = 0.0
    #: the whole segment's size (video share = video.bitrate_bps / (size_bytes * 8 / duration))
    size_bytes: int = 0
    extra: dict[str, float] = field(default_factory=dict)


def _luma(frame: av.VideoFrame) -> np.ndarray:
    """The luma plane, every 4th row and column, as uint8 (no copy of the full plane)."""
    plane = frame.planes[0]
    buf = np.frombuffer(memoryview(plane), np.uint8).reshape(  # type: ignore[arg-type]
        plane.height, plane.line_size)
    return buf[::4, : frame.width : 4]


def still_across(last: np.ndarray | None, first: np.ndarray | None) -> bool:
    """Does a segment's first frame show the picture of the previous segment's last frame
    (the same test as between two frames inside a segment)? False when either is unknown
    or their sizes differ (a resolution change is a change)."""
    if last is None or first is None or last.shape != first.shape:
        return False
    return float(np.abs(first.astype(np.int16) - last.astype(np.int16)).mean()) < FREEZE_MAD


def _jpeg(frame: av.VideoFrame) -> bytes:
    height = max(2, int(round(frame.height * THUMB_WIDTH / max(frame.width, 1) / 2)) * 2)
    small = frame.reformat(width=THUMB_WIDTH, height=height, format="yuvj420p")
    enc = av.CodecContext.create("mjpeg", "w")
    enc.width, enc.height, enc.pix_fmt = THUMB_WIDTH, height, "yuvj420p"
    enc.time_base = Fraction(1, 25)
    enc.qscale = True
    enc.global_quality = 5 * 118  # FF_QP2LAMBDA x q 5: a mid-quality JPEG (~10-20 kB)
    packets = enc.encode(small) + enc.encode(None)
    return b"".join(bytes(p) for p in packets)


def _video(stream: av.VideoStream, packets: list[av.Packet], duration_s: float,
           want_thumb: bool) -> tuple[VideoFacts, bytes | None]:
    ctx = stream.codec_context
    ctx.skip_frame = "NONREF"
    ctx.options = {"skip_loop_filter": "all"}
    ctx.thread_type = "NONE"  # one core per worker: threads only add overhead here
    times: list[float] = []
    black: list[bool] = []
    same: list[bool] = []
    lumas: list[float] = []
    prev: np.ndarray | None = None
    edges: list[np.ndarray] = []
    thumb: bytes | None = None
    for packet in [*packets, None]:
        for frame in ctx.decode(packet):
            y = _luma(frame)
            black.append(bool(np.count_nonzero(y < BLACK_LUMA) >= BLACK_RATIO * y.size))
            lumas.append(float(y.mean()))
            cur = y.astype(np.int16)
            same.append(prev is not None and float(np.abs(cur - prev).mean()) < FREEZE_MAD)
            if prev is None:
                edges.append(np.array(y))  # a copy: the frame's plane is reused by the decoder
            prev = cur
            base = stream.time_base
            times.append(float(frame.pts * base) if frame.pts is not None and base is not None
                         else len(times) / 25.0)
            if want_thumb and thumb is None and frame.key_frame:
                thumb = _jpeg(frame)
    if prev is not None:
        edges.append(prev.astype(np.uint8))
    if len(times) > 1:
        order = np.argsort(times)
        t = np.asarray(times)[order]
        step = float(np.median(np.diff(t)))
        spans = np.diff(t, append=t[-1] + max(duration_s - (t[-1] - t[0]) - step, step))
        black = [black[i] for i in order]
        same = [same[i] for i in order]
    else:
        spans = np.full(len(times), duration_s)
    frames = tuple((round(float(s), 4), bool(b), bool(f)) for s, b, f in zip(spans, black, same, strict=True))
    rate = stream.average_rate or stream.guessed_rate
    size = sum(p.size for p in packets)
    bitrate = size * 8 / duration_s if duration_s > 0 and size else None
    facts = VideoFacts(ctx.name, ctx.width, ctx.height, float(rate) if rate else None, bitrate,
                       frames, round(float(np.mean(lumas)), 2) if lumas else 0.0,
                       edges[0] if edges else None, edges[-1] if edges else None)
    return facts, thumb


def _audio(stream: av.AudioStream, packets: list[av.Packet]) -> AudioFacts | None:
    ctx = stream.codec_context
    chunks: list[np.ndarray] = []
    for packet in [*packets, None]:
        for frame in ctx.decode(packet):
            arr = frame.to_ndarray()
            if not frame.format.is_planar:
                arr = arr.reshape(-1, len(frame.layout.channels)).T
            if arr.dtype.kind == "i":
                arr = arr.astype(np.float32) / float(np.iinfo(arr.dtype).max)  # type: ignore[type-var]
            chunks.append(arr)
    if not chunks:
        return None
    x = np.concatenate(chunks, axis=1)
    rate = ctx.sample_rate
    return AudioFacts(stream.index, ctx.name, rate, x.shape[0],
                      tuple(round(float(p), 9) for p in subblock_powers(x, rate)),
                      tuple(round(float(r), 2) for r in subblock_rms_dbfs(x, rate)),
                      round(true_peak_dbtp(x, rate), 2))


def _container_format(data: bytes) -> str | None:
    """Name the demuxer when the bytes say it: probing costs more than the analysis."""
    if data[:1] == b"G" and len(data) >= 376 and data[188:189] == b"G":
        return "mpegts"
    if data[4:8] in (b"ftyp", b"styp", b"moof", b"moov", b"sidx"):
        return "mp4"
    return None


def analyze_segment(data: bytes, duration_s: float, *, video: bool = True, audio: bool = True,
                    thumbnail: bool = False) -> SegmentAnalysis:
    """Measure one segment (MPEG-TS or fMP4 with its init prepended); never raises."""
    start = time.process_time()
    try:
        with av.open(io.BytesIO(data), format=_container_format(data), mode="r") as container:
            vstream = container.streams.video[0] if video and container.streams.video else None
            astreams = list(container.streams.audio) if audio else []
            wanted = {s.index: s for s in [vstream, *astreams] if s is not None}
            packets: dict[int, list[av.Packet]] = {i: [] for i in wanted}
            for packet in container.demux(list(wanted.values())):
                if packet.stream.index in packets and packet.size:
                    packets[packet.stream.index].append(packet)
            vfacts, thumb = (_video(vstream, packets[vstream.index], duration_s, thumbnail)
                             if vstream is not None else (None, None))
            afacts = [a for s in astreams if (a := _audio(s, packets[s.index])) is not None]
        if vfacts is None and not afacts:
            return SegmentAnalysis(duration_s, error="no decodable video or audio stream",
                                   cpu_s=time.process_time() - start, size_bytes=len(data))
        return SegmentAnalysis(duration_s, vfacts, tuple(afacts), thumb,
                               cpu_s=time.process_time() - start, size_bytes=len(data))
    except (av.FFmpegError, ValueError, IndexError, MemoryError) as exc:
        return SegmentAnalysis(duration_s, error=f"{type(exc).__name__}: {str(exc)[:120]}",
                               cpu_s=time.process_time() - start)
