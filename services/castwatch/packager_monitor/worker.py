"""What HLS and DASH channel workers share: the alert book, segment checks, the summary."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any
from urllib.parse import urlsplit

from castwatch.common.download import safe_text
from castwatch.packager_monitor.alerting import AlertBook, policies
from castwatch.packager_monitor.certs import check_certificate
from castwatch.packager_monitor.content.channel import ChannelContent
from castwatch.packager_monitor.context import ChannelConfig, ProbeContext
from castwatch.packager_monitor.master import Badges
from castwatch.packager_monitor.rules.base import Verdict
from castwatch.packager_monitor.rules.cert import worst_certificate
from castwatch.packager_monitor.rules.segment import SegmentLimits, SegmentSample, segment_verdicts
from castwatch.packager_monitor.segments import check_segment

logger = logging.getLogger(__name__)


class Sampler:
    """Deterministic sampling: ``fraction`` of the calls to ``take()`` return True."""

    __slots__ = ("fraction", "_acc")

    def __init__(self, fraction: float) -> None:
        self.fraction, self._acc = fraction, 1.0 - 1e-9 if fraction > 0 else 0.0

    def take(self) -> bool:
        self._acc += self.fraction
        if self._acc >= 1.0:
            self._acc -= 1.0
            return True
        return False


class ChannelWorker:
    """Base of a channel's monitoring; ``run()`` is the channel's task until cancelled."""

    protocol = "HLS"

    def __init__(self, ctx: ProbeContext, cfg: ChannelConfig) -> None:
        self.ctx, self.cfg = ctx, cfg
        self.book = AlertBook(cfg.code, cfg.id, policies(ctx.settings.clear_hold_s))
        self.badges: Badges | None = None
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.facts: dict[str, dict[str, Any]] = {}
        #: the newest segment check of each rendition, merged into ``summary()``
        self.segment_facts: dict[str, dict[str, Any]] = {}
        self.tags = {"channel": cfg.code, "probe": ctx.probe_name}
        #: rendition name -> (initialization URL, its bytes): fetched once, again when the URL changes
        self.inits: dict[str, tuple[str, bytes]] = {}
        #: https (host, port) this channel polls → when its certificate is next due
        self.tls_hosts: dict[tuple[str, int], float] = {}
        self._new_tls_host = asyncio.Event()
        #: the content layer: bitrate, MOS, decoded pictures and sound (issue #14)
        self.content = ChannelContent(self)
        self.stopped = False
        now = ctx.clock()
        for subject, alert_type, severity in cfg.adopt:
            _, _, rendition = subject.partition("/")
            self.book.adopt(rendition or None, alert_type, severity, now)

    async def run(self) -> None:
        raise NotImplementedError

    def start_side_tasks(self) -> None:
        """Jobs that live as long as the channel's task: the certificate checks."""
        self.note_origin(self.cfg.url)
        self.tasks["_cert"] = asyncio.ensure_future(self.watch_certificates())

    def note_origin(self, url: str) -> None:
        """Remember an https host this channel polls (master, renditions, segments, CDN)."""
        parts = urlsplit(url)
        key = (parts.hostname or "", parts.port or 443)
        if parts.scheme == "https" and parts.hostname and key not in self.tls_hosts:
            self.tls_hosts[key] = 0.0
            self._new_tls_host.set()

    async def watch_certificates(self) -> None:
        """Check every https host of the channel once per ``cert_interval_s``; the channel's one
        CERT_EXPIRING alert reports the worst certificate (one that does not verify, else the
        one that expires first)."""
        settings = self.ctx.settings
        results: dict[tuple[str, int], tuple[float | None, str | None]] = {}
        while True:
            now = self.ctx.clock()
            due = [hp for hp, at in self.tls_hosts.items() if at <= now]
            for host, port in due:
                self.tls_hosts[(host, port)] = now + settings.cert_interval_s
                result = await asyncio.to_thread(check_certificate, host, port, policy=settings.egress,
                                                 timeout_s=settings.timeout_s, ca_file=settings.ca_file)
                if result is not None:
                    results[(host, port)] = (result.days_left, result.error)
            if due and results:
                self.apply([worst_certificate(self.cfg.code, results, settings.cert_warn_days)])
            self._new_tls_host.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_tls_host.wait(), min(settings.cert_interval_s, 30.0))

    def apply(self, verdicts: list[Verdict]) -> None:
        ops = self.book.observe(verdicts, self.ctx.clock())
        if ops:
            for op in ops:
                logger.info("%s %s %s: %s", op.kind, op.subject, op.alert_type, op.summary or "cleared")
            self.ctx.emit(ops)

    def stop(self) -> None:
        self.stopped = True
        gauges = self.ctx.metrics.content_gauges
        if gauges is not None:
            gauges.forget(self.cfg.code, list(self.content.bitrate))
        for task in self.tasks.values():
            task.cancel()
        self.tasks.clear()

    def drop(self, rendition: str) -> None:
        task = self.tasks.pop(rendition, None)
        if task is not None:
            task.cancel()
        self.facts.pop(rendition, None)
        self.segment_facts.pop(rendition, None)
        self.inits.pop(rendition, None)
        self.content.forget(rendition)
        ops = self.book.drop_rendition(rendition)
        if ops:
            self.ctx.emit(ops)

    def error_point(self, rendition: str | None, message: str) -> None:
        tags = dict(self.tags, rendition=rendition or "")
        self.ctx.points.write("channel_error", tags, {"error": safe_text(message, 200)})

    def summary(self) -> dict[str, Any]:
        """The channels.last_check JSON: renditions' latest facts and open alerts."""
        now = self.ctx.clock()
        renditions = {}
        for name, f in self.facts.items():
            item = {k: v for k, v in f.items() if k != "changed_at"}
            item.update(self.segment_facts.get(name, {}))
            if "changed_at" in f:
                item["last_change_age_s"] = round(now - f["changed_at"], 1)
            renditions[name] = item
        return {"protocol": self.protocol, "probe": self.ctx.probe_name,
                "renditions": renditions, "open_alerts": self.book.open_alerts(),
                "content": self.content.summary()}

    async def init_segment(self, rendition: str, url: str) -> bytes:
        """A rendition's initialization segment (DASH ``initialization``, HLS ``EXT-X-MAP``),
        through the fetcher (egress policy, segment byte cap, deadline); cached per rendition
        until its URL changes. Empty when it could not be fetched (retried with the next segment):
        the media segment is then checked as usual and its decoding reports the error."""
        cached = self.inits.get(rendition)
        if cached is not None and cached[0] == url:
            return cached[1]
        self.note_origin(url)
        res = await self.ctx.fetcher.get(url, "segment")
        if res.status != 200 or res.error is not None or res.too_large is not None or not res.body:
            return b""
        self.inits[rendition] = (url, res.body)
        return res.body

    async def check_segment(self, rendition: str, url: str, duration_s: float,
                            declared_bps: int, sequence: int | None = None, init: bytes = b"") -> None:
        """Download one segment, time it, check its bytes; verdicts go to the alert book.
        An intact segment then feeds the content layer (bitrate, MOS, decoding off the loop);
        ``init`` (the rendition's initialization segment, DASH or HLS EXT-X-MAP) is prepended for
        decoding only."""
        self.note_origin(url)
        res = await self.ctx.fetcher.get(url, "segment")
        body = res.body or b""
        invalid = res.too_large or (
            check_segment(body, url) if res.status == 200 and res.error is None else None)
        sample = SegmentSample(url, res.status, res.error, res.elapsed, len(body), duration_s, invalid)
        tpl = self.cfg.template
        limits = SegmentLimits(
            max_download_ms=tpl.max_download_ms if tpl else 2000.0,
            min_download_ratio=tpl.min_download_ratio if tpl else 1.0,
            declared_bps=declared_bps)
        verdicts = segment_verdicts(self.cfg.code, rendition, sample, limits)
        if any(v.bad for v in verdicts):
            self.ctx.metrics.error("segment")
        if res.status == 200 and res.error is None and invalid is None and body:
            verdicts += self.content.on_segment(rendition, body, duration_s, sequence, init=init)
            self.content.write_quality_point(rendition, declared_bps)
        self.apply(verdicts)
        self.segment_facts[rendition] = {
            "download_time_ms": round(res.elapsed * 1000, 1), "segment_bytes": len(body),
            "segment_status": res.status, "segment_error": res.error or invalid}
        self.ctx.points.write("segment_metric", dict(self.tags, rendition=rendition), {
            "download_time_ms": round(res.elapsed * 1000, 2), "size_bytes": len(body),
            "http_status": res.status or 0, "duration": duration_s})


def next_poll(now: float, base_s: float, changed: bool, stale_at: float | None) -> float:
    """RFC 8216 §6.3.4: reload after the target duration, after half of it when the last
    reload was unchanged; never later than the moment the playlist would become stale."""
    due = now + (base_s if changed else base_s / 2)
    if stale_at is not None and now < stale_at + 0.02 < due:
        due = stale_at + 0.02
    return due
