"""A real packager: ffmpeg encodes a live 2-rendition ladder as HLS and as DASH (1 s
segments) into a directory served by a plain static HTTP server; the probe finds it healthy."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from castwatch.packager_monitor.context import ChannelConfig
from castwatch.packager_monitor.service import StaticSource
from castwatch.packager_monitor.settings import ProbeSettings
from tests.support.egress import LOOPBACK

from .conftest import ProbeThread, wait_for

FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"
SOURCE = ["-re", "-f", "lavfi", "-i", "testsrc=size=320x180:rate=25", "-f", "lavfi",
          "-i", "sine=frequency=1000:sample_rate=48000", "-t", "40",
          "-filter_complex", "[0:v]split=2[v1][v2];[v2]scale=160:90[v2o]",
          "-map", "[v1]", "-map", "[v2o]"]
ENCODE = ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25",
          "-keyint_min", "25", "-sc_threshold", "0", "-b:v:0", "300k", "-b:v:1", "100k",
          "-c:a", "aac", "-b:a", "64k"]


def _ffmpeg(args: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([FFMPEG, "-hide_banner", "-loglevel", "error", "-nostdin", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Points:
    def __init__(self) -> None:
        self.items: list[tuple[str, dict[str, str], dict[str, Any]]] = []

    def write(self, measurement: str, tags: dict[str, str], fields: dict[str, Any]) -> None:
        self.items.append((measurement, dict(tags), dict(fields)))


@pytest.fixture()
def ladder(tmp_path: Path) -> Iterator[str]:
    """Live HLS in ``hls/``, live DASH in ``dash/``, served on loopback; yields the base URL."""
    if not Path(FFMPEG).exists():
        pytest.fail("ffmpeg is not installed (Debian package ffmpeg)")
    (tmp_path / "hls").mkdir()
    (tmp_path / "dash").mkdir()
    procs = [
        _ffmpeg([*SOURCE, "-map", "1:a", "-map", "1:a", *ENCODE, "-f", "hls", "-hls_time", "1",
                 "-hls_list_size", "6", "-hls_flags", "delete_segments+independent_segments+temp_file",
                 "-master_pl_name", "master.m3u8", "-var_stream_map", "v:0,a:0 v:1,a:1",
                 str(tmp_path / "hls" / "stream_%v" / "index.m3u8")]),
        _ffmpeg([*SOURCE, "-map", "1:a", *ENCODE, "-f", "dash", "-seg_duration", "1",
                 "-window_size", "6", "-extra_window_size", "2", "-use_template", "1",
                 "-use_timeline", "1", "-streaming", "0",
                 "-adaptation_sets", "id=0,streams=v id=1,streams=a",
                 str(tmp_path / "dash" / "manifest.mpd")]),
    ]
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    app = web.Application()
    app.router.add_static("/", tmp_path)
    runner = web.AppRunner(app)

    async def start() -> int:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]

    port = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    try:
        def enough() -> bool:  # a full 3-segment window in every stream before probing
            hls = [p.read_text().count("#EXTINF")
                   for p in (tmp_path / "hls").glob("stream_*/index.m3u8")]
            dash = list((tmp_path / "dash").glob("chunk-stream2-*.m4s"))
            return len(hls) == 2 and min(hls) >= 4 and len(dash) >= 4
        wait_for(enough, 30, "ffmpeg to write 4 segments of every stream")
        yield f"http://127.0.0.1:{port}"
    finally:
        for p in procs:
            p.terminate()
            p.wait(10)
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


def test_the_probe_finds_an_ffmpeg_hls_and_dash_ladder_healthy(ladder: str):
    points = Points()
    channels = [ChannelConfig(None, "CH_FFMPEG_HLS", f"{ladder}/hls/master.m3u8", "HLS"),
                ChannelConfig(None, "CH_FFMPEG_DASH", f"{ladder}/dash/manifest.mpd", "DASH")]
    settings = ProbeSettings(egress=LOOPBACK, name="probe-ffmpeg", clear_hold_s=2, master_interval_s=2)
    with ProbeThread(settings, source=StaticSource(channels), points=points) as probe:
        def checked(minimum: int) -> bool:
            seen = {(t["channel"], t["rendition"]) for m, t, f in points.items
                    if m == "segment_metric" and f["http_status"] == 200}
            return len(seen) >= minimum
        # HLS: 180p + 90p; DASH: 180p, 90p and the audio representation
        wait_for(lambda: checked(5), 20, "a good segment of every rendition")
        started = time.monotonic()
        wait_for(lambda: time.monotonic() - started > 5, 10, "five more seconds of polling")
        assert probe.service is not None
        workers = {w.cfg.code: w for w, _, _ in probe.service.workers.values()}
    assert [f"{op.subject} {op.alert_type}: {op.summary}" for op in probe.alert_ops()] == []
    hls = workers["CH_FFMPEG_HLS"]
    assert sorted(hls.facts) == ["180p", "90p"]
    assert all(f["target_duration"] == 1 and f["media_sequence"] > 0 for f in hls.facts.values())
    assert sorted(workers["CH_FFMPEG_DASH"].facts) == ["180p", "90p", "audio_2"]
    validations = [f for m, t, f in points.items
                   if m == "playlist_validation" and t["channel"] == "CH_FFMPEG_HLS"]
    assert validations and all(f["is_valid"] and f["segment_count"] >= 3 for f in validations)


@pytest.fixture()
def mixed_targets(tmp_path: Path) -> Iterator[str]:
    """A live 3-rendition HLS ladder from ffmpeg where the third rendition's key frames are
    4 s apart (so its segments and EXT-X-TARGETDURATION are 4 s) while the others are 2 s."""
    if not Path(FFMPEG).exists():
        pytest.fail("ffmpeg is not installed (Debian package ffmpeg)")
    out = tmp_path / "hls"
    out.mkdir()
    proc = _ffmpeg([
        "-re", "-f", "lavfi", "-i", "testsrc=size=320x180:rate=25", "-t", "60",
        "-filter_complex", "[0:v]split=3[a][b][c];[b]scale=160:90[bo];[c]scale=240:136[co]",
        "-map", "[a]", "-map", "[bo]", "-map", "[co]",
        "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-sc_threshold", "0",
        "-g:v:0", "50", "-keyint_min:v:0", "50", "-g:v:1", "50", "-keyint_min:v:1", "50",
        "-g:v:2", "100", "-keyint_min:v:2", "100",
        "-b:v:0", "300k", "-b:v:1", "100k", "-b:v:2", "200k",
        "-f", "hls", "-hls_time", "2", "-hls_list_size", "6",
        "-hls_flags", "delete_segments+independent_segments+temp_file",
        "-master_pl_name", "master.m3u8", "-var_stream_map", "v:0 v:1 v:2",
        str(out / "stream_%v" / "index.m3u8")])
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    app = web.Application()
    app.router.add_static("/", tmp_path)
    runner = web.AppRunner(app)

    async def start() -> int:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]

    port = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    try:
        def ready() -> bool:
            texts = [p.read_text() for p in out.glob("stream_*/index.m3u8")]
            return len(texts) == 3 and all(t.count("#EXTINF") >= 2 for t in texts)
        wait_for(ready, 40, "ffmpeg to write two segments of every rendition")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


def test_variants_out_of_sync_fires_when_one_rendition_has_a_longer_target(mixed_targets: str):
    channel = ChannelConfig(None, "CH_MIXED", f"{mixed_targets}/hls/master.m3u8", "HLS")
    settings = ProbeSettings(egress=LOOPBACK, name="probe-mixed", clear_hold_s=2, master_interval_s=5,
                             content_workers=0)
    with ProbeThread(settings, source=StaticSource([channel])) as probe:
        op = wait_for(lambda: next((o for o in probe.alert_ops()
                                    if o.alert_type == "VARIANTS_OUT_OF_SYNC"), None),
                      30, "VARIANTS_OUT_OF_SYNC")
        assert probe.service is not None
        worker = next(w for w, _, _ in probe.service.workers.values())
        targets = {name: f["target_duration"] for name, f in worker.facts.items()}
    assert sorted(targets.values()) == [2, 2, 4]
    assert op.kind == "fire" and op.subject == "CH_MIXED"
    assert "target durations 2/4" in op.summary
