"""DASH channel monitoring: the MPD, each representation's live edge, its newest segment."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from datetime import UTC, datetime

from castwatch.packager_monitor.content.channel import RenditionMeta
from castwatch.packager_monitor.dash import (
    Edge,
    Mpd,
    MpdError,
    Representation,
    live_edge,
    parse_mpd,
    segment_url,
)
from castwatch.packager_monitor.fetcher import error_kind
from castwatch.packager_monitor.master import Badges
from castwatch.packager_monitor.rules import fetch as fetch_rules
from castwatch.packager_monitor.rules.base import (
    MEDIA_SEQUENCE_REGRESSION,
    MPD_INVALID,
    MPD_STALE,
    Verdict,
    ok,
)
from castwatch.packager_monitor.rules.freshness import playlist_stale, stale_deadline
from castwatch.packager_monitor.rules.ladder import Rung, ladder_verdicts
from castwatch.packager_monitor.worker import ChannelWorker, Sampler, next_poll


@dataclass
class _RepState:
    edge: Edge | None
    changed_at: float
    sampler: Sampler


class DashChannelWorker(ChannelWorker):
    protocol = "DASH"

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.mpd: Mpd | None = None
        self.etag: str | None = None
        self.reps: dict[str, _RepState] = {}
        self.due = 0.0

    async def run(self) -> None:
        self.start_side_tasks()
        try:
            await self._poll_forever()
        finally:
            self.stop()

    async def _poll_forever(self) -> None:
        tpl = self.cfg.template
        await asyncio.sleep(random.uniform(0, min(tpl.segment_target_s if tpl else 1.0, 6.0)))
        self.due = self.ctx.clock()
        while True:
            self.ctx.observe_lag(self.ctx.clock() - self.due)
            await self.poll_once()
            delay = self.due - self.ctx.clock()
            if delay > 0:
                await asyncio.sleep(delay)

    async def poll_once(self) -> None:
        ctx, code = self.ctx, self.cfg.code
        tpl = self.cfg.template
        base = tpl.poll_interval_s if tpl and tpl.poll_interval_s else (
            tpl.segment_target_s if tpl else 2.0)
        res = await ctx.fetcher.get(self.cfg.url, "mpd", etag=self.etag)
        now = ctx.clock()
        reach = fetch_rules.reachability(code, None, res.status, res.error, "MPD")
        if reach.bad:
            ctx.metrics.poll("dash", "error")
            ctx.metrics.error(error_kind(res))
            self.apply([reach])
            self.error_point(None, reach.summary)
            self.due = now + base / 2
            return
        if res.status != 304 or self.mpd is None:
            try:
                if res.too_large is not None:  # the body passed the cap: invalid, not unreachable
                    raise MpdError(res.too_large)
                self.mpd = parse_mpd(res.body or b"", self.cfg.url)
                self.etag = res.etag
            except MpdError as exc:
                ctx.metrics.poll("dash", "invalid")
                ctx.metrics.error("invalid")
                self.apply([reach, fetch_rules.validity(code, None, str(exc), MPD_INVALID)])
                self.error_point(None, str(exc))
                self.due = now + base / 2
                return
        mpd = self.mpd
        verdicts: list[Verdict] = [reach, ok(MPD_INVALID, None)]
        changed_any, stale_at = self._judge_edges(mpd, now, verdicts)
        if mpd.minimum_update_period:
            base = min(base, max(mpd.minimum_update_period, 0.1))
        self.apply(verdicts)
        self._judge_ladder(mpd)
        ctx.metrics.poll("dash", "ok" if changed_any else "unchanged")
        self.due = next_poll(now, base, changed_any, stale_at)

    def _judge_edges(self, mpd: Mpd, now: float, verdicts: list[Verdict]) -> tuple[bool, float | None]:
        code = self.cfg.code
        wall = datetime.now(UTC)
        changed_any, stale_at = False, None
        seen = set()
        for rep in mpd.representations:
            name = rep.name
            seen.add(name)
            edge = live_edge(rep, mpd, wall)
            st = self.reps.get(name)
            if st is None:
                st = self.reps[name] = _RepState(None, now, Sampler(self.ctx.settings.segment_sampling))
            self.content.set_meta(name, RenditionMeta(
                rep.bandwidth, rep.codecs, rep.width, rep.height, None,
                "audio" if rep.content_type == "audio" else "video"))
            new = edge is not None and (st.edge is None or edge.number != st.edge.number)
            if new and st.edge is not None and edge is not None and edge.number < st.edge.number:
                verdicts.append(Verdict(MEDIA_SEQUENCE_REGRESSION, name, True,
                                        f"{code} {name}: segment number went back from "
                                        f"{st.edge.number} to {edge.number}",
                                        {"previous": st.edge.number, "current": edge.number}))
            elif new:
                verdicts.append(ok(MEDIA_SEQUENCE_REGRESSION, name))
            if new:
                st.changed_at = now
                changed_any = True
                if st.sampler.take() and edge is not None:
                    self.ctx.spawn(self._check_media(rep, edge))
            st.edge = edge or st.edge
            if edge is not None:
                target, grace = edge.duration_s, mpd.minimum_update_period or 0.0
                verdicts.append(playlist_stale(code, name, last_change_at=st.changed_at,
                                               target_s=target, now=now, ended=mpd.type == "static",
                                               alert_type=MPD_STALE, grace_s=grace))
                deadline = stale_deadline(st.changed_at, target, grace)
                stale_at = deadline if stale_at is None else min(stale_at, deadline)
                self.facts[name] = {"segment_number": edge.number, "segment_duration_s": target,
                                    "changed_at": st.changed_at}
        for name in [n for n in self.reps if n not in seen]:
            del self.reps[name]
            self.drop(name)
        return changed_any, stale_at

    async def _check_media(self, rep: Representation, edge: Edge) -> None:
        """Checks the edge segment; it reaches the content layer with its representation's
        initialization segment in front (fMP4 media segments do not decode alone)."""
        tpl = rep.template
        init = (await self.init_segment(rep.name, segment_url(rep, tpl.initialization, None, None))
                if tpl is not None and tpl.initialization else b"")
        await self.check_segment(rep.name, edge.url, edge.duration_s, rep.bandwidth,
                                 sequence=edge.number, init=init)

    def _judge_ladder(self, mpd: Mpd) -> None:
        video = [r for r in mpd.representations if r.content_type != "audio"]
        if video:
            rates = [r.bandwidth for r in video]
            self.ctx.points.write("abr_ladder", dict(self.tags, rendition=""), {
                "rung_count": len(video), "min_bitrate": min(rates), "max_bitrate": max(rates)})
        self.badges = Badges(
            is_4k=any((r.height or 0) >= 2160 or (r.width or 0) >= 3840 for r in video),
            is_hdr=any(r.hdr for r in video) or any(
                c.strip().lower().startswith(("dvh1", "dvhe")) for r in video
                for c in (r.codecs or "").split(",")),
            is_atmos=any(r.atmos for r in mpd.representations if r.content_type == "audio"))
        tpl = self.cfg.template
        if tpl is None or not tpl.rungs:
            return
        offered = [Rung(r.name, r.bandwidth, f"{r.width}x{r.height}" if r.width and r.height else None,
                        r.codecs) for r in video]
        self.apply(ladder_verdicts(self.cfg.code, tpl.rungs, offered,
                                   self.ctx.settings.ladder_bandwidth_tolerance))
