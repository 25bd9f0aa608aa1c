"""Packager-monitor benchmark (a script, not a test): ``python benchmarks/probe.py``.

The probe side runs in this process pinned to one CPU (``--cpu``, default 0). The origin is
nginx (one worker) pinned to the other CPU, so the origin is not what is measured. For the
throughput figures each poller fetches the next of ``--versions`` pre-written versions of its
playlist, so every validated poll sees exactly one new segment (the worst case; a live probe
also sees unchanged polls, which are cheaper). For the schedule-lag figure a writer process
rewrites 12,000 live playlists as segments are published and the real scheduler polls them.
Stale detection uses the castwatch origin simulator and its fault API.

Figures printed:
1. fetch-only ceiling: GETs/s of the 10-segment playlists, nothing parsed;
2. validated polls/s with 10-segment live playlists (fetch + incremental parse + every rule +
   debounce; segment downloads off) — goals >= 4,000/s and >= 0.5 x ceiling;
3. validated polls/s with 1,800-segment DVR windows — goal >= 1,000/s;
4. schedule lag p99 of the real scheduler at 2,000 channels x 6 renditions, 6 s segments
   (segment sampling 5 %) — goal < 500 ms;
5. stale-detection latency after a stall — goal <= 1.5 x target + 1 s.
Every phase is bounded in time (see the --*-seconds options).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client import CollectorRegistry

from castwatch.common import download
from castwatch.common.egress import EgressPolicy
from castwatch.packager_monitor.context import ChannelConfig, ProbeContext, TemplateSpec
from castwatch.packager_monitor.fetcher import Fetcher
from castwatch.packager_monitor.hls_worker import HlsChannelWorker, RenditionPoller
from castwatch.packager_monitor.master import Variant
from castwatch.packager_monitor.metrics import ProbeMetrics
from castwatch.packager_monitor.service import ProbeService, StaticSource, tune_gc
from castwatch.packager_monitor.settings import ProbeSettings
from castwatch.simulators.origin.model import SimConfig
from castwatch.simulators.origin.server import OriginSimulator

#: the benchmark origins listen on loopback
LOOPBACK = EgressPolicy.parse("127.0.0.1/32,::1/128")

NGINX_CONF = """daemon off; worker_processes 1; pid {dir}/nginx.pid; error_log stderr error;
events {{ worker_connections 4096; }}
http {{ access_log off; keepalive_requests 1000000; open_file_cache off;
  types {{ application/vnd.apple.mpegurl m3u8; video/mp2t ts; }}
  server {{ listen 127.0.0.1:{port} backlog=4096; root {dir}/www;
    location ~ \\.ts$ {{ try_files /seg.ts =404; }} }} }}
"""
TS = bytes([0x47, 0x40, 0x00, 0x10]).ljust(188, b"\xff") * 4


def _pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and cpu < (os.cpu_count() or 1):
        os.sched_setaffinity(0, {cpu})


def write_versions(root: str, folder: str, window: int, versions: int) -> list[str]:
    """``versions`` successive versions of one live playlist, each one segment further: a
    poller that fetches them in turn sees exactly one new segment per poll."""
    Path(root, "www", folder).mkdir(parents=True, exist_ok=True)
    lines = [f"#EXTINF:6.000,\nseg_{k}.ts\n" for k in range(window + versions)]
    names = []
    for v in range(versions):
        body = (f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:{v}\n"
                + "".join(lines[v:v + window]))
        Path(root, "www", folder, f"v{v}.m3u8").write_text(body)
        names.append(f"{folder}/v{v}.m3u8")
    return names


def write_live(root: str, paths: list[str], window: int, segment_s: float, stop_at: float, cpu: int) -> None:
    """Writer process: rewrite every playlist in ``paths`` each time a segment is published."""
    _pin(cpu)
    lines: list[str] = []
    last = -1
    while time.time() < stop_at:
        n = int(time.time() / segment_s)
        if n != last:
            lines = [f"#EXTINF:{segment_s:.3f},\nseg_{k}.ts\n" for k in range(n - window + 1, n + 1)] \
                if last < 0 or n - last > window else (lines + [
                    f"#EXTINF:{segment_s:.3f},\nseg_{k}.ts\n" for k in range(last + 1, n + 1)])[-window:]
            body = (f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:{math.ceil(segment_s)}\n"
                    f"#EXT-X-MEDIA-SEQUENCE:{n - window + 1}\n" + "".join(lines))
            for rel in paths:
                path = f"{root}/www/{rel}"
                with open(path + ".tmp", "w") as f:
                    f.write(body)
                os.replace(path + ".tmp", path)
            last = n
        time.sleep(min(0.01, segment_s / 10))


class Origin:
    """nginx + a playlist writer on the other CPU."""

    def __init__(self, cpu: int, port: int) -> None:
        self.cpu, self.port = cpu, port
        shm = "/dev/shm" if Path("/dev/shm").is_dir() else None
        self.dir = tempfile.mkdtemp(prefix="castwatch-bench-", dir=shm)
        os.chmod(self.dir, 0o755)  # nginx workers run as an unprivileged user
        Path(self.dir, "www").mkdir()
        Path(self.dir, "www", "seg.ts").write_bytes(TS)
        Path(self.dir, "nginx.conf").write_text(NGINX_CONF.format(dir=self.dir, port=port))
        self.nginx = subprocess.Popen(["taskset", "-c", str(cpu), "nginx", "-c", f"{self.dir}/nginx.conf",
                                       "-p", self.dir], stderr=subprocess.DEVNULL)
        self.writer: multiprocessing.Process | None = None
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError(f"nginx did not start on port {port}")

    def url(self, rel: str) -> str:
        return f"http://127.0.0.1:{self.port}/{rel}"

    def live(self, paths: list[str], window: int, segment_s: float, seconds: float) -> None:
        for rel in paths:
            Path(self.dir, "www", rel).parent.mkdir(parents=True, exist_ok=True)
        self.stop_writer()
        self.writer = multiprocessing.Process(target=write_live, args=(
            self.dir, paths, window, segment_s, time.time() + seconds, self.cpu), daemon=True)
        self.writer.start()
        deadline = time.time() + 30
        while not all(Path(self.dir, "www", p).exists() for p in paths[-1:]) and time.time() < deadline:
            time.sleep(0.05)

    def stop_writer(self) -> None:
        if self.writer is not None:
            self.writer.terminate()
            self.writer.join(5)
            self.writer = None

    def close(self) -> None:
        self.stop_writer()
        self.nginx.terminate()
        self.nginx.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)


async def fetch_ceiling(urls: list[str], seconds: float, concurrency: int) -> float:
    count = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        async def worker(i: int, stop_at: float) -> None:
            nonlocal count
            while time.perf_counter() < stop_at:
                async with session.get(urls[(i + count) % len(urls)]) as resp:
                    await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"origin answered {resp.status}")
                count += 1
        await asyncio.gather(*(worker(i, time.perf_counter() + 1) for i in range(concurrency)))  # warm
        count, start, cpu = 0, time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker(i, start + seconds) for i in range(concurrency)))
        return count / (time.perf_counter() - start), count / max(time.process_time() - cpu, 1e-9)


async def validated_polls(versions: list[str], playlists: int, seconds: float,
                          concurrency: int) -> dict[str, float]:
    """``playlists`` pollers, each walking through ``versions`` (one new segment per poll)."""
    settings = ProbeSettings(egress=LOOPBACK, name="bench", segment_sampling=0.0, max_per_host=concurrency)
    metrics = ProbeMetrics(CollectorRegistry())
    ops: list[Any] = []
    async with aiohttp.ClientSession(connector=download.connector(LOOPBACK, limit=0)) as session:
        fetcher = Fetcher(session, metrics, policy=LOOPBACK, max_per_host=concurrency)
        ctx = ProbeContext(settings, fetcher, metrics, ops.extend)
        pollers = []
        step = len(versions) // max(playlists, 1)
        for i in range(playlists):
            url = versions[(i * step) % len(versions)]
            cfg = ChannelConfig(i, f"CH_{i:04d}", url, "HLS", TemplateSpec(6.0, 0.5))
            worker = HlsChannelWorker(ctx, cfg)
            poller = RenditionPoller(worker, Variant(name="720p", uri=url, bandwidth=3_000_000))
            worker.pollers["720p"] = poller
            pollers.append(poller)
        position = [(i * step) % len(versions) for i in range(playlists)]
        count = new = 0

        async def worker_loop(i: int, stop_at: float) -> None:
            nonlocal count, new
            k = i
            while time.perf_counter() < stop_at:
                j = k % len(pollers)
                p = pollers[j]
                k += concurrency
                position[j] = (position[j] + 1) % len(versions)  # the origin published one more
                p.url = versions[position[j]]
                p.etag = p.last_modified = None  # validators belong to the previous URL
                await p.poll_once()
                count += 1
                new += bool(p.changed)
        await asyncio.gather(*(worker_loop(i, time.perf_counter() + 1.5) for i in range(concurrency)))
        count = new = 0
        start, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker_loop(i, start + seconds) for i in range(concurrency)))
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        full = sum(p.parser.full_parses for p in pollers)
        inc = sum(p.parser.incremental_parses for p in pollers)
    return {"polls_per_s": count / elapsed, "polls_per_cpu_s": count / max(cpu, 1e-9),
            "changed_fraction": new / max(count, 1),
            "incremental_fraction": inc / max(inc + full, 1)}


async def schedule_lag(origin: Origin, channels: int, renditions: int, seconds: float) -> dict[str, float]:
    configs = []
    for c in range(channels):
        lines = ["#EXTM3U"] + [f"#EXT-X-STREAM-INF:BANDWIDTH={(r + 1) * 500_000},RESOLUTION={(r + 1) * 160}x"
                               f"{(r + 1) * 90}\nr{r}/index.m3u8" for r in range(renditions)]
        Path(origin.dir, "www", f"c{c}").mkdir(parents=True, exist_ok=True)
        Path(origin.dir, "www", f"c{c}", "master.m3u8").write_text("\n".join(lines) + "\n")
        configs.append(ChannelConfig(c, f"CH_{c:04d}", origin.url(f"c{c}/master.m3u8"), "HLS",
                                     TemplateSpec(6.0, 0.5, 2000, 1.5)))
    samples: list[float] = []
    settings = ProbeSettings(egress=LOOPBACK,
                             name="bench", segment_sampling=0.05, max_per_host=256, master_interval_s=60,
                             status_interval_s=60)
    ops: list[Any] = []
    service = ProbeService(settings, CollectorRegistry(), StaticSource(configs), ops.extend,
                           lag_samples=samples)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    await asyncio.sleep(12)  # every rendition started (staggered over one target) and polled
    samples.clear()
    polls_before = _poll_count(service)
    start, cpu = time.perf_counter(), time.process_time()
    await asyncio.sleep(seconds)
    polls = _poll_count(service) - polls_before
    cpu_used = time.process_time() - cpu
    measured = sorted(samples)
    stop.set()
    await task
    fired = {op.alert_type for op in ops if hasattr(op, "alert_type")}
    return {"p50": measured[len(measured) // 2], "p99": measured[int(len(measured) * 0.99)],
            "max": measured[-1], "polls_per_s": polls / (time.perf_counter() - start),
            "samples": len(measured), "alert_types": sorted(fired),  # type: ignore[dict-item]
            "cpu_share": cpu_used / (time.perf_counter() - start), "cpu_per_poll": cpu_used / max(polls, 1)}


def _poll_count(service: ProbeService) -> float:
    return sum(s.value for m in service.metrics.polls.collect() for s in m.samples
               if s.name.endswith("_total"))


async def stale_latency(trials: int) -> list[tuple[float, float]]:
    """(target, seconds from stall to PLAYLIST_STALE) for each trial, 1 s segments."""
    sim = OriginSimulator(SimConfig(channels=trials, segment_s=1.0))
    await sim.start()
    ops: list[Any] = []
    fired: dict[str, float] = {}

    def emit(batch: list[Any]) -> None:
        for op in batch:
            if getattr(op, "alert_type", None) == "PLAYLIST_STALE" and op.kind == "fire":
                fired.setdefault(op.subject, time.monotonic())
        ops.extend(batch)
    configs = [ChannelConfig(i, code, sim.master_url(code), "HLS", TemplateSpec(1.0, 0.25, 800, 1.0))
               for i, code in enumerate(sim.model.channels)]
    stop = asyncio.Event()
    task = asyncio.create_task(ProbeService(ProbeSettings(egress=LOOPBACK, name="bench"), CollectorRegistry(),
                                            StaticSource(configs), emit).run(stop))
    await asyncio.sleep(3)
    results = []
    for i, code in enumerate(sim.model.channels):
        await asyncio.sleep(0.37 * (i % 3))  # land at different points of the segment cycle
        injected = time.monotonic()
        sim.model.set_fault(code, "720p", "stall")
        subject = f"{code}/720p"
        while subject not in fired and time.monotonic() - injected < 10:
            await asyncio.sleep(0.01)
        results.append((1.0, fired.get(subject, math.inf) - injected))
    stop.set()
    await task
    await sim.stop()
    return results


async def main(args: argparse.Namespace) -> None:
    _pin(args.cpu)
    tune_gc()  # as `castwatch probe` does
    other = 1 - args.cpu if (os.cpu_count() or 1) > 1 else args.cpu
    print(f"probe pinned to CPU {args.cpu}, origin (nginx + writer) on CPU {other}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (shared machine)")
    origin = Origin(other, args.port)
    try:
        live = [origin.url(p) for p in write_versions(origin.dir, "live", 10, args.versions)]
        ceiling, ceiling_cpu = await fetch_ceiling(live, args.phase_seconds, args.concurrency)
        print(f"1. fetch-only ceiling (10-segment playlists): {ceiling:,.0f} GETs/s wall-clock, "
              f"{ceiling_cpu:,.0f} GETs per CPU-second of the probe process")
        v = await validated_polls(live, args.playlists, args.phase_seconds, args.concurrency)
        print(f"2. validated polls, 10-segment live playlists: {v['polls_per_s']:,.0f}/s wall-clock "
              f"= {v['polls_per_s'] / ceiling:.2f} x ceiling; {v['polls_per_cpu_s']:,.0f} per CPU-second "
              f"= {v['polls_per_cpu_s'] / ceiling_cpu:.2f} x (goal >= 4,000/s and >= 0.5 x ceiling); "
              f"{v['changed_fraction']:.0%} of polls saw a new segment, "
              f"{v['incremental_fraction']:.0%} parsed incrementally")
        dvr = [origin.url(p) for p in write_versions(origin.dir, "dvr", 1800, args.versions)]
        d = await validated_polls(dvr, args.dvr_playlists, args.phase_seconds, args.concurrency)
        print(f"3. validated polls, 1,800-segment DVR windows: {d['polls_per_s']:,.0f}/s wall-clock, "
              f"{d['polls_per_cpu_s']:,.0f} per CPU-second (goal >= 1,000/s); "
              f"{d['changed_fraction']:.0%} saw a new segment, "
              f"{d['incremental_fraction']:.0%} parsed incrementally")
        media = [f"c{c}/r{r}/index.m3u8" for c in range(args.channels) for r in range(6)]
        origin.live(media, 10, 6.0, args.lag_seconds + 60)
        lag = await schedule_lag(origin, args.channels, 6, args.lag_seconds)
        print(f"4. schedule lag at {args.channels:,} channels x 6 renditions, 6 s segments: "
              f"p50 {lag['p50'] * 1000:.0f} ms, p99 {lag['p99'] * 1000:.0f} ms, "
              f"max {lag['max'] * 1000:.0f} ms "
              f"(goal p99 < 500 ms) over {lag['samples']:,} polls, {lag['polls_per_s']:,.0f} polls/s; "
              f"alert types seen: {lag['alert_types'] or 'none'}; the probe got {lag['cpu_share']:.0%} of "
              f"its CPU and spent {lag['cpu_per_poll'] * 1e6:.0f} µs of CPU per poll "
              f"(a whole core would carry {1 / lag['cpu_per_poll']:,.0f} polls/s)")
    finally:
        origin.close()
    stale = await stale_latency(args.stale_trials)
    latencies = [s for _, s in stale]
    print(f"5. stale-detection latency (1 s segments, {len(stale)} stalls): mean "
          f"{statistics.mean(latencies):.2f} s, max {max(latencies):.2f} s "
          f"(goal <= 1.5 x 1 s + 1 s = 2.5 s)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cpu", type=int, default=0)
    parser.add_argument("--port", type=int, default=18591)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--playlists", type=int, default=200, help="pollers, 10-segment phase")
    parser.add_argument("--dvr-playlists", type=int, default=40)
    parser.add_argument("--versions", type=int, default=400,
                        help="successive versions of the benchmark playlists (one new segment each)")
    parser.add_argument("--phase-seconds", type=float, default=8.0)
    parser.add_argument("--channels", type=int, default=2000)
    parser.add_argument("--lag-seconds", type=float, default=30.0)
    parser.add_argument("--stale-trials", type=int, default=6)
    sys.exit(asyncio.run(main(parser.parse_args())))
