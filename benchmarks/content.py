"""Content-layer benchmark (a script, not a test): ``python benchmarks/content.py``.

Prints, with this process pinned to one CPU (``--cpu``):
1. analysis CPU per 2 s H.264/AAC segment at 360p and 1080p with PyAV (black + freeze +
   silence + loudness + true peak, as the probe's worker processes do it), and the real-time
   factor — goal at 360p >= 50x, i.e. <= 40 ms CPU per 2 s segment;
2. the same work done by one ``ffmpeg`` CLI call per segment (blackdetect, freezedetect,
   silencedetect, ebur128 with true peak), CPU of the child processes, in the same run;
3. how many channels one core can watch continuously at 2 s segments (360p chosen rendition);
4. the poll loop's schedule-lag p99 while content analysis is saturated: the origin simulator
   (real media, separate process on the other CPU) with more channels than one worker can
   decode, the probe's real scheduler, a 1-process pool — goal < 500 ms — and the jobs dropped.
Segments are encoded once with ``-preset veryfast`` (B-frames, as broadcast encoders do).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from prometheus_client import CollectorRegistry

from castwatch.common.egress import EgressPolicy
from castwatch.packager_monitor.content.analyze import analyze_segment
from castwatch.packager_monitor.context import ChannelConfig, TemplateSpec
from castwatch.packager_monitor.rules.content import ContentLimits
from castwatch.packager_monitor.service import ProbeService, StaticSource, tune_gc
from castwatch.packager_monitor.settings import ProbeSettings


def _pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and cpu < (os.cpu_count() or 1):
        os.sched_setaffinity(0, {cpu})


def encode(out: Path, size: str) -> bytes:
    subprocess.run([shutil.which("ffmpeg") or "ffmpeg", "-v", "error", "-y",
                    "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25",
                    "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000,volume=-1.9dB",
                    "-t", "2", "-c:v", "libx264", "-preset", "veryfast", "-g", "50", "-bf", "3",
                    "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "2", "-b:a", "128k",
                    "-f", "mpegts", str(out)], check=True, timeout=120)
    return out.read_bytes()


def pyav_ms(data: bytes, runs: int) -> float:
    analyze_segment(data, 2.0)  # warm-up: codec tables, filter design
    return statistics.median(analyze_segment(data, 2.0).cpu_s for _ in range(runs)) * 1000


def ffmpeg_ms(path: Path, runs: int) -> float:
    cmd = [shutil.which("ffmpeg") or "ffmpeg", "-v", "error", "-nostats", "-threads", "1",
           "-filter_threads", "1", "-i", str(path),
           "-vf", "blackdetect=d=0.1,freezedetect", "-af", "silencedetect,ebur128=peak=true",
           "-f", "null", "-"]
    out = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(cmd, check=True, timeout=120, capture_output=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        out.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return statistics.median(out) * 1000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def saturated_lag(channels: int, seconds: float, other_cpu: int) -> tuple[list[float], int, int]:
    """Schedule lags, jobs dropped, jobs analysed with more channels than one worker decodes."""
    port = _free_port()
    sim = subprocess.Popen(
        ["taskset", "-c", str(other_cpu), sys.executable, "-m", "castwatch.cli", "sim", "origin",
         "--port", str(port), "--channels", str(channels), "--segment-seconds", "2", "--real-media"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        lags: list[float] = []
        registry = CollectorRegistry()
        # the 1080p rendition decoded continuously: more work than one worker process can do
        limits = ContentLimits(mode="continuous", rendition="highest")
        spec = TemplateSpec(2.0, 0.5, 5000, 1.0, content=limits)
        configs = [ChannelConfig(i, f"CH_SIM_{i:03d}", f"{base}/live/CH_SIM_{i:03d}/master.m3u8", "HLS",
                                 spec, tier=1) for i in range(1, channels + 1)]
        settings = ProbeSettings(egress=EgressPolicy.parse("127.0.0.1/32"), name="bench-content",
                                 content_workers=1, content_queue=8,
                                 thumbnail_interval_s=10)
        service = ProbeService(settings, registry, StaticSource(configs), lambda ops: None,
                               lag_samples=lags)
        deadline = time.monotonic() + 60
        while True:  # the simulator starts, and has encoded its media once
            try:
                url = f"{base}/live/CH_SIM_001/1080p/index.m3u8"
                text = urllib.request.urlopen(url, timeout=5).read().decode()
                seg = next(line for line in text.splitlines() if line.endswith(".ts"))
                for rung in ("1080p", "720p", "480p", "360p"):
                    urllib.request.urlopen(f"{base}/live/CH_SIM_001/{rung}/{seg}", timeout=60).read()
                break
            except (OSError, StopIteration):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)
        # the worker process decodes on the other CPU, as a deployment gives it cores of its own
        service.content_initializer = functools.partial(os.sched_setaffinity, 0, {other_cpu})
        stop = asyncio.Event()
        task = asyncio.create_task(service.run(stop))
        await asyncio.sleep(seconds)
        stop.set()
        await task
        dropped = registry.get_sample_value("castwatch_probe_content_dropped_total") or 0
        analysed = registry.get_sample_value("castwatch_probe_content_analysed_total",
                                             {"result": "ok"}) or 0
        cpu = registry.get_sample_value("castwatch_probe_content_cpu_seconds_total") or 0
        print(f"   (worker CPU {cpu:.1f} s; {analysed and cpu / analysed * 1000:.0f} ms per 1080p segment)")
        return lags, int(dropped), int(analysed)
    finally:
        sim.terminate()
        sim.wait(10)


def main(args: argparse.Namespace) -> int:
    _pin(args.cpu)
    tune_gc()
    other = 1 - args.cpu if (os.cpu_count() or 1) > 1 else args.cpu
    print(f"pinned to CPU {args.cpu}; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs (shared machine: figures are upper bounds)")
    with tempfile.TemporaryDirectory() as tmp:
        results = {}
        for label, size in (("360p", "640x360"), ("1080p", "1920x1080")):
            path = Path(tmp) / f"{label}.ts"
            data = encode(path, size)
            results[label] = (pyav_ms(data, args.runs), ffmpeg_ms(path, args.runs))
    for label, (ours, cli) in results.items():
        print(f"1/2. {label}: PyAV {ours:.1f} ms CPU per 2 s segment ({2000 / ours:.0f}x real time); "
              f"one ffmpeg CLI call {cli:.1f} ms ({2000 / cli:.0f}x)")
    per_seg = results["360p"][0]
    print(f"3. channels one core can watch continuously at 2 s segments (360p): {2000 / per_seg:.0f}")
    lags, dropped, analysed = asyncio.run(saturated_lag(args.channels, args.lag_seconds, other))
    lags.sort()
    p99 = lags[int(len(lags) * 0.99) - 1] if lags else float("nan")
    print(f"4. schedule lag with analysis saturated ({args.channels} channels x 4 renditions, "
          f"continuous, 1 worker): p99 {p99 * 1000:.0f} ms over {len(lags)} polls; "
          f"{analysed} segments analysed, {dropped} jobs dropped (counted)")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cpu", type=int, default=0)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--lag-seconds", type=float, default=25.0)
    sys.exit(main(parser.parse_args()))
