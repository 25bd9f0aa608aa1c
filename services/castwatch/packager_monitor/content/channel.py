"""One channel's content layer on the event loop: what to decode, and what it found.

:class:`ChannelContent` is owned by a :class:`~castwatch.packager_monitor.worker.ChannelWorker`.
For every downloaded segment (:meth:`on_segment`) it measures the rendition's bitrate, scores
the rendition's video MOS (P.1203.1 mode 0, from metadata only), judges QUALITY_LOW on the
top rendition, and decides whether the segment goes to the worker processes:

- the *chosen* rendition (template ``content_rendition``: lowest by default) on the channel's
  mode: ``continuous`` every segment, ``sampled`` one every ``content_sample_interval_s``;
- every other video rendition once per ``OTHERS_FACTOR`` sample intervals (60 s by default),
  so a picture black on every rendition is seen on every rendition, and each rendition's MOS
  rests on what its decoder confirmed;
- every separate audio rendition (HLS ``EXT-X-MEDIA TYPE=AUDIO`` / audio-only variant, DASH
  audio representation) on the chosen rendition's schedule: it carries the sound the video
  segments lack, so silence per track and loudness are judged on it (subject: its name);
- ``off``: nothing is decoded (bitrate and MOS still are).

Results come back on the event loop (:meth:`_on_result`) as verdicts, InfluxDB points,
Prometheus gauges, a thumbnail for the database and figures for the status row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from castwatch.packager_monitor.content.analyze import SegmentAnalysis
from castwatch.packager_monitor.content.p1203 import VideoMos, video_mos
from castwatch.packager_monitor.content.pool import ContentJob
from castwatch.packager_monitor.content.state import BitrateMeter, RenditionContent
from castwatch.packager_monitor.rules.base import QUALITY_LOW, Verdict, ok
from castwatch.packager_monitor.rules.content import ContentLimits, quality_verdict

if TYPE_CHECKING:
    from castwatch.packager_monitor.worker import ChannelWorker

logger = logging.getLogger(__name__)

#: the other video renditions are decoded once per this many sample intervals (60 s by default)
OTHERS_FACTOR = 6


@dataclass(frozen=True, slots=True)
class RenditionMeta:
    """What the playlist says of a rendition (HLS STREAM-INF / DASH Representation)."""

    bandwidth: int
    codecs: str | None = None
    width: int | None = None
    height: int | None = None
    frame_rate: float | None = None
    kind: str = "video"


@dataclass(frozen=True, slots=True)
class ThumbnailUpdate:
    """The newest thumbnail of a channel, for the database writer."""

    channel_id: int
    jpeg: bytes
    taken_at: datetime
    rendition: str


class ChannelContent:
    def __init__(self, worker: ChannelWorker) -> None:
        self.worker = worker
        self.meta: dict[str, RenditionMeta] = {}
        self.bitrate: dict[str, BitrateMeter] = {}
        self.mos: dict[str, VideoMos] = {}
        self.decoded: dict[str, RenditionContent] = {}
        self.last_submit: dict[str, float] = {}
        #: rendition -> why its newest analysed segment did not decode (cleared by the next success)
        self.decode_errors: dict[str, str] = {}
        self.last_thumb_request = float("-inf")
        self.thumbnail_at: datetime | None = None

    @property
    def limits(self) -> ContentLimits:
        tpl = self.worker.cfg.template
        return tpl.content if tpl is not None else ContentLimits()

    def set_meta(self, rendition: str, meta: RenditionMeta) -> None:
        self.meta[rendition] = meta

    def forget(self, rendition: str) -> None:
        for table in (self.meta, self.bitrate, self.mos, self.decoded, self.last_submit,
                      self.decode_errors):
            table.pop(rendition, None)  # type: ignore[attr-defined]

    def _video(self) -> list[tuple[str, RenditionMeta]]:
        return sorted(((n, m) for n, m in self.meta.items() if m.kind == "video"),
                      key=lambda item: item[1].bandwidth)

    def chosen(self) -> str | None:
        """The rendition decoded continuously (or sampled): by name, lowest or highest."""
        video = self._video()
        want = self.limits.rendition
        if any(n == want for n, _ in video):
            return want
        if not video:
            return None
        return video[-1][0] if want == "highest" else video[0][0]

    def sound(self) -> str | None:
        """The rendition whose first audio track is the channel's sound (the loudness gauges,
        ``summary()["sound"]``): the chosen video rendition's muxed audio, else the first
        separate audio rendition by name that has been decoded with sound."""
        audio = sorted(n for n, m in self.meta.items() if m.kind == "audio")
        for name in [self.chosen(), *audio]:
            st = self.decoded.get(name) if name is not None else None
            if st is not None and st.figures.get("audio"):
                return name
        return None

    def top(self) -> str | None:
        video = self._video()
        return video[-1][0] if video else None

    def on_segment(self, rendition: str, data: bytes, duration_s: float,
                   sequence: int | None, init: bytes = b"") -> list[Verdict]:
        """A segment of ``rendition`` was downloaded intact; returns QUALITY_LOW's verdict.
        ``init`` (fMP4 initialization segment, DASH) is prepended to what is decoded; the
        measured bitrate counts the media segment only."""
        meter = self.bitrate.setdefault(rendition, BitrateMeter())
        meter.add(len(data), duration_s)
        verdicts = self._score(rendition)
        self._maybe_decode(rendition, init + data if init else data, duration_s, sequence)
        return verdicts

    def _score(self, rendition: str) -> list[Verdict]:
        """The rendition's MOS from its measured bitrate and what the decoder confirmed (codec,
        coding resolution, frame rate, video share of the segment bytes); QUALITY_LOW's verdict
        on the top rendition. A rendition not decoded yet has no MOS: playlist metadata alone
        does not prove what the segments carry."""
        meta, decoded = self.meta.get(rendition), self.decoded.get(rendition)
        meter = self.bitrate.get(rendition)
        f = decoded.figures if decoded is not None else {}
        if meta is None or meta.kind != "video" or not f.get("width") or meter is None:
            return []
        self.mos[rendition] = video_mos(f.get("codec"), (meter.bps or 0) * f.get("video_share", 1.0) / 1000,
                                        f.get("width"), f.get("height"), f.get("fps") or meta.frame_rate)
        if self.worker.cfg.template is None:
            return []  # QUALITY_LOW judges against a template's threshold; none here
        if rendition == self.top():
            return [quality_verdict(self.worker.cfg.code, rendition, self.mos[rendition].mos, self.limits)]
        if (rendition, QUALITY_LOW) in self.worker.book.active:
            return [ok(QUALITY_LOW, rendition)]  # it was the top before a ladder change
        return []

    def _maybe_decode(self, rendition: str, data: bytes, duration_s: float,
                      sequence: int | None) -> None:
        ctx, lim = self.worker.ctx, self.limits
        if ctx.content is None:
            return
        mode = lim.effective_mode(self.worker.cfg.tier)
        if mode == "off":
            return
        now = ctx.clock()
        meta = self.meta.get(rendition)
        chosen = self.chosen()
        if rendition == chosen or (chosen is None and meta is None):
            interval = 0.0 if mode == "continuous" else lim.sample_interval_s
        elif meta is not None and meta.kind == "video":
            interval = max(OTHERS_FACTOR * lim.sample_interval_s, 1.0)
        elif meta is not None and meta.kind == "audio":
            # a separate audio rendition carries the sound the chosen video rendition lacks
            interval = 0.0 if mode == "continuous" else lim.sample_interval_s
        else:
            return
        if now - self.last_submit.get(rendition, float("-inf")) < interval - 0.01:
            return
        self.last_submit[rendition] = now
        thumb = (rendition == chosen or chosen is None) and (
            now - self.last_thumb_request >= ctx.settings.thumbnail_interval_s)
        if thumb:
            self.last_thumb_request = now
        job = ContentJob(self.worker.cfg.code, rendition, data, duration_s, thumb)
        ctx.content.submit(job, lambda res: self._on_result(rendition, sequence, res))

    def _on_result(self, rendition: str, sequence: int | None, res: SegmentAnalysis) -> None:
        w = self.worker
        if w.stopped:
            return
        if res.error is not None:
            logger.info("channel=%s rendition=%s segment not decodable: %s", w.cfg.code, rendition,
                        res.error)
            self.decode_errors[rendition] = res.error
            return
        self.decode_errors.pop(rendition, None)
        state = self.decoded.setdefault(rendition, RenditionContent(rendition))
        verdicts = state.observe(w.cfg.code, res, self.limits, sequence, w.ctx.clock())
        v = res.video
        if v is not None and v.frames and v.width:
            total_bps = res.size_bytes * 8 / res.duration_s if res.duration_s > 0 else 0
            state.figures.update(fps=v.fps, video_share=round(min(1.0, (v.bitrate_bps or 0) / total_bps), 3)
                                 if total_bps else 1.0)
        else:
            state.figures["width"] = None  # nothing decodable: no MOS from this rendition
        w.apply(verdicts + self._score(rendition))
        self._write_points(rendition, state, res)
        if res.thumbnail and w.cfg.id is not None:
            self.thumbnail_at = datetime.now(UTC)
            w.ctx.emit([ThumbnailUpdate(w.cfg.id, res.thumbnail, self.thumbnail_at, rendition)])  # type: ignore[list-item]
        elif res.thumbnail:
            self.thumbnail_at = datetime.now(UTC)

    def _write_points(self, rendition: str, state: RenditionContent, res: SegmentAnalysis) -> None:
        w = self.worker
        tags = dict(w.tags, rendition=rendition)
        f = state.figures
        if res.video is not None:
            w.ctx.points.write("content_video", tags, {
                "black_s": f["black_s"], "frozen_s": f["frozen_s"], "mean_luma": f["mean_luma"]})
        for a in f.get("audio", []):  # None fields are left out by the sink
            w.ctx.points.write("content_audio", dict(tags, track=str(a["track"])), {
                "momentary_lufs": a["momentary_lufs"], "short_term_lufs": a["short_term_lufs"],
                "integrated_lufs": a["integrated_lufs"], "true_peak_dbtp": a["true_peak_dbtp"],
                "silent_s": a["silent_s"]})
        gauges = w.ctx.metrics.content_gauges
        if gauges is not None and rendition == self.sound():  # one sound per channel: no flapping
            gauges.observe_audio(w.cfg.code, f.get("audio", []))

    def write_quality_point(self, rendition: str, advertised_bps: int) -> None:
        """The video_quality point of a downloaded segment: MOS and measured bitrate."""
        w = self.worker
        mos = self.mos.get(rendition)
        bps = self.bitrate[rendition].bps if rendition in self.bitrate else None
        w.ctx.points.write("video_quality", dict(w.tags, rendition=rendition), {
            "advertised_bps": advertised_bps, "measured_bps": round(bps) if bps is not None else None,
            "mos": mos.mos if mos else None, "model": mos.model if mos else None})
        gauges = w.ctx.metrics.content_gauges
        if gauges is not None:
            gauges.observe_rendition(w.cfg.code, rendition, mos.mos if mos else None, bps)

    def summary(self) -> dict[str, Any]:
        """The ``content`` block of the channel's status row."""
        renditions: dict[str, Any] = {}
        for name in sorted(set(self.bitrate) | set(self.mos)):
            meter, mos = self.bitrate.get(name), self.mos.get(name)
            meta = self.meta.get(name)
            renditions[name] = {
                "measured_bps": round(meter.bps) if meter and meter.bps else None,
                "advertised_bps": meta.bandwidth if meta else None,
                "mos": mos.mos if mos else None, "mos_model": mos.model if mos else None}
        decoded = {name: {k: v for k, v in st.figures.items() if k != "analysed_at"}
                   for name, st in self.decoded.items()}
        for name, error in self.decode_errors.items():
            decoded.setdefault(name, {})["decode_error"] = error
        return {"mode": self.limits.effective_mode(self.worker.cfg.tier), "chosen": self.chosen(),
                "sound": self.sound(),
                "renditions": renditions, "decoded": decoded,
                "thumbnail_at": self.thumbnail_at.isoformat() if self.thumbnail_at else None}
