"""HLS channel monitoring: the master playlist, one poller per media playlist, the ladder."""

from __future__ import annotations

import asyncio
import logging
import random
from urllib.parse import urljoin

from castwatch.packager_monitor.content.channel import RenditionMeta
from castwatch.packager_monitor.fetcher import error_kind
from castwatch.packager_monitor.hls import IncrementalMediaParser, MediaPlaylist, PlaylistError, Segment
from castwatch.packager_monitor.master import MasterPlaylist, Variant, badges, is_master, parse_master
from castwatch.packager_monitor.rules import fetch as fetch_rules
from castwatch.packager_monitor.rules.base import Verdict
from castwatch.packager_monitor.rules.freshness import playlist_stale, stale_deadline
from castwatch.packager_monitor.rules.ladder import Rung, ladder_verdicts
from castwatch.packager_monitor.rules.sequence import sequence_verdicts
from castwatch.packager_monitor.rules.sync import EdgeView, variants_sync
from castwatch.packager_monitor.rules.timing import duration_drift, target_exceeded, window_short
from castwatch.packager_monitor.worker import ChannelWorker, Sampler, next_poll

logger = logging.getLogger(__name__)


class RenditionPoller:
    """Polls one media playlist on the RFC schedule and judges every version of it."""

    def __init__(self, worker: HlsChannelWorker, variant: Variant) -> None:
        self.worker, self.variant = worker, variant
        self.name, self.url = variant.name, variant.uri
        self.parser = IncrementalMediaParser()
        self.prev: MediaPlaylist | None = None
        self.etag: str | None = None
        self.last_modified: str | None = None
        self.last_change = worker.ctx.clock()
        self.polled_at = 0.0
        self.changed = True
        self.sampler = Sampler(worker.ctx.settings.segment_sampling)
        self.due = 0.0

    def base_interval(self, target: float) -> float:
        tpl = self.worker.cfg.template
        return tpl.poll_interval_s if tpl and tpl.poll_interval_s else max(target, 0.1)

    async def run(self) -> None:
        ctx = self.worker.ctx
        tpl = self.worker.cfg.template
        await asyncio.sleep(random.uniform(0, min(tpl.segment_target_s if tpl else 1.0, 6.0)))
        self.due = ctx.clock()
        while True:
            now = ctx.clock()
            ctx.observe_lag(now - self.due)
            try:
                await self.poll_once()
            except Exception:  # a bug must not silence this rendition: log, retry later
                logger.exception("channel=%s rendition=%s poll failed", self.worker.cfg.code, self.name)
                self.due = ctx.clock() + 5.0
            delay = self.due - ctx.clock()
            if delay > 0:
                await asyncio.sleep(delay)

    async def poll_once(self) -> None:
        w, ctx = self.worker, self.worker.ctx
        code = w.cfg.code
        res = await ctx.fetcher.get(self.url, "playlist", etag=self.etag, last_modified=self.last_modified)
        now = self.polled_at = ctx.clock()
        target = float(self.prev.target_duration) if self.prev else (
            w.cfg.template.segment_target_s if w.cfg.template else 6.0)
        reach = fetch_rules.reachability(code, self.name, res.status, res.error)
        if reach.bad:
            ctx.metrics.poll("hls", "error")
            ctx.metrics.error(error_kind(res))
            w.apply([reach])
            w.error_point(self.name, reach.summary)
            self.due = now + self.base_interval(target) / 2
            return
        if res.status == 304 and self.prev is not None:
            cur = self.parser.parse(self.parser_text())
        else:
            self.etag, self.last_modified = res.etag, res.last_modified
            try:
                if res.too_large is not None:  # the body passed the cap: invalid, not unreachable
                    raise PlaylistError(res.too_large)
                cur = self.parser.parse((res.body or b"").decode("utf-8", "replace"))
            except PlaylistError as exc:
                ctx.metrics.poll("hls", "invalid")
                ctx.metrics.error("invalid")
                w.apply([reach, fetch_rules.validity(code, self.name, str(exc))])
                w.error_point(self.name, str(exc))
                self.due = now + self.base_interval(target) / 2
                return
        self.judge(cur, now, reach)

    async def check_newest(self, seg: Segment, sequence: int) -> None:
        """Check the newest segment; an fMP4/CMAF one reaches the content layer behind its
        EXT-X-MAP initialization section (fetched once per rendition, like DASH's)."""
        init = await self.worker.init_segment(self.name, urljoin(self.url, seg.init)) if seg.init else b""
        await self.worker.check_segment(self.name, urljoin(self.url, seg.uri), seg.duration,
                                        self.variant.bandwidth, sequence, init=init)

    def parser_text(self) -> str:
        return self.parser._last_text or ""

    def judge(self, cur: MediaPlaylist, now: float, reach: Verdict) -> None:
        w, ctx = self.worker, self.worker.ctx
        code, name, prev = w.cfg.code, self.name, self.prev
        changed = prev is None or cur.last_sequence != prev.last_sequence or (
            cur.media_sequence != prev.media_sequence)
        if changed:
            self.last_change = now
        verdicts = [reach, fetch_rules.validity(code, name, None)]
        verdicts += sequence_verdicts(code, name, prev, cur)
        exceeded = target_exceeded(code, name, cur)
        if exceeded is not None:
            verdicts.append(exceeded)
        tpl = w.cfg.template
        if tpl is not None:
            drift = duration_drift(code, name, cur, tpl.segment_target_s, tpl.tolerance_s)
            if drift is not None:
                verdicts.append(drift)
        verdicts.append(window_short(code, name, cur))
        target = float(cur.target_duration or (tpl.segment_target_s if tpl else 6.0))
        verdicts.append(playlist_stale(code, name, last_change_at=self.last_change,
                                       target_s=target, now=now, ended=not cur.is_live))
        w.apply(verdicts)
        self.prev, self.changed = cur, changed
        ctx.metrics.poll("hls", "ok" if changed else "unchanged")
        if cur.new_segments and cur.segments and self.sampler.take():
            seg = cur.segments[-1]
            ctx.spawn(self.check_newest(seg, cur.last_sequence))
        if changed:
            w.facts[name] = {"media_sequence": cur.media_sequence, "segments": len(cur.segments),
                             "target_duration": cur.target_duration,
                             "discontinuity_sequence": cur.discontinuity_sequence,
                             "changed_at": now}
            ctx.points.write("playlist_validation", dict(w.tags, rendition=name), {
                "is_valid": True, "segment_count": len(cur.segments), "duration": round(cur.duration, 3)})
        stale_at = stale_deadline(self.last_change, target) if cur.is_live else None
        self.due = next_poll(now, self.base_interval(target), changed, stale_at)
        w.after_poll(now, target)


class HlsChannelWorker(ChannelWorker):
    protocol = "HLS"

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.pollers: dict[str, RenditionPoller] = {}
        self.master_text: str | None = None
        self._last_sync = 0.0

    async def run(self) -> None:
        self.start_side_tasks()
        try:
            while True:
                await asyncio.sleep(await self.refresh_master())
        finally:
            self.stop()

    async def refresh_master(self) -> float:
        """Fetch and judge the master playlist; returns seconds until the next refresh."""
        ctx, code = self.ctx, self.cfg.code
        tpl = self.cfg.template
        retry = min(tpl.segment_target_s if tpl else 6.0, ctx.settings.master_interval_s)
        res = await ctx.fetcher.get(self.cfg.url, "playlist")
        reach = fetch_rules.reachability(code, None, res.status, res.error, "master playlist")
        if reach.bad:
            ctx.metrics.poll("hls", "error")
            ctx.metrics.error(error_kind(res))
            self.apply([reach])
            self.error_point(None, reach.summary)
            return retry
        if res.too_large is not None:  # the body passed the cap: invalid, not unreachable
            ctx.metrics.error("invalid")
            self.apply([reach, fetch_rules.validity(code, None, f"master playlist: {res.too_large}")])
            self.error_point(None, res.too_large)
            return retry
        text = (res.body or b"").decode("utf-8", "replace")
        if not is_master(text):  # the channel URL is a media playlist: one rendition
            self.apply([reach, fetch_rules.validity(code, None, None)])
            self._sync_pollers([Variant(name="main", uri=self.cfg.url, bandwidth=0)])
            return ctx.settings.master_interval_s
        try:
            master = parse_master(text, self.cfg.url)
        except PlaylistError as exc:
            ctx.metrics.error("invalid")
            self.apply([reach, fetch_rules.validity(code, None, f"master playlist: {exc}")])
            self.error_point(None, str(exc))
            return retry
        self.apply([reach, fetch_rules.validity(code, None, None)])
        self._sync_pollers(master.renditions())
        return retry if self._judge_ladder(master) else ctx.settings.master_interval_s

    def _judge_ladder(self, master: MasterPlaylist) -> bool:
        """Ladder verdicts, badges and the abr_ladder point; True when something is wrong."""
        self.badges = badges(master)
        video = [v for v in master.variants if v.kind == "video"]
        rates = [v.bandwidth for v in video]
        self.ctx.points.write("abr_ladder", dict(self.tags, rendition=""), {
            "rung_count": len(video), "min_bitrate": min(rates), "max_bitrate": max(rates)})
        tpl = self.cfg.template
        if tpl is None or not tpl.rungs:
            return False
        offered = [Rung(v.name, v.bandwidth, v.resolution, v.codecs) for v in video]
        verdicts = ladder_verdicts(self.cfg.code, tpl.rungs, offered,
                                   self.ctx.settings.ladder_bandwidth_tolerance)
        self.apply(verdicts)
        return any(v.bad for v in verdicts)

    def _sync_pollers(self, renditions: list[Variant]) -> None:
        wanted = {v.name: v for v in renditions}
        for name in [n for n in self.pollers if n not in wanted or wanted[n].uri != self.pollers[n].url]:
            del self.pollers[name]
            self.drop(name)
        for name, variant in wanted.items():
            if name not in self.pollers:
                self.note_origin(variant.uri)
                self.content.set_meta(name, RenditionMeta(
                    variant.bandwidth, variant.codecs, variant.width, variant.height,
                    variant.frame_rate, "video" if variant.kind == "video" else "audio"))
                poller = self.pollers[name] = RenditionPoller(self, variant)
                self.tasks[name] = asyncio.ensure_future(poller.run())

    def after_poll(self, now: float, target: float) -> None:
        """Judge the renditions' agreement at most once per target duration."""
        if now - self._last_sync < target or len(self.pollers) < 2:
            return
        self._last_sync = now
        polled = [p for p in self.pollers.values() if p.prev is not None and p.variant.kind == "video"]
        views = {p.name: EdgeView(p.prev.target_duration, p.prev.discontinuity_sequence,
                                  p.prev.last_sequence) for p in polled if p.prev is not None}
        # each rendition is fresh within its *own* target: one with a longer target is polled
        # less often and must still be compared (RFC 8216 §6.2.4)
        fresh = {p.name for p in polled if p.prev is not None
                 and now - p.polled_at <= max(float(p.prev.target_duration), target)}
        verdict = variants_sync(self.cfg.code, views, fresh=fresh)
        if verdict is not None:
            self.apply([verdict])
