"""The content pool: real worker processes, a bounded queue that drops the oldest and counts."""

from __future__ import annotations

import asyncio
import time

from prometheus_client import CollectorRegistry

from castwatch.packager_monitor.content.analyze import SegmentAnalysis
from castwatch.packager_monitor.content.pool import ContentJob, ContentMetrics, ContentPool
from tests.packager_monitor.lavfi import make_segment


def slow_analysis(data: bytes, duration_s: float, *, thumbnail: bool = False) -> SegmentAnalysis:
    """Stands in for a decoder that is slower than real time (module level: picklable)."""
    time.sleep(0.3)
    return SegmentAnalysis(duration_s, extra={"tag": float(data[0])})


def test_a_full_queue_drops_the_oldest_jobs_and_counts_them():
    registry = CollectorRegistry()
    done: list[float] = []

    async def scenario() -> ContentPool:
        pool = ContentPool(1, 3, ContentMetrics(registry), analyse=slow_analysis)
        try:
            for i in range(10):
                pool.submit(ContentJob("CH", "360p", bytes([i]), 2.0), lambda r: done.append(r.extra["tag"]))
            # the loop is free while the process works: a poll-sized task runs at once
            t0 = time.perf_counter()
            await asyncio.sleep(0.01)
            assert time.perf_counter() - t0 < 0.1
            for _ in range(600):  # a spawned process starts slowly on a busy machine
                if len(done) == 4:
                    break
                await asyncio.sleep(0.1)
            return pool
        finally:
            pool.close()

    pool = asyncio.run(scenario())
    # job 0 went to the process at once; 1..6 were pushed out by 7, 8, 9
    assert done == [0, 7, 8, 9]
    assert pool.dropped == 6
    assert registry.get_sample_value("castwatch_probe_content_dropped_total") == 6
    assert registry.get_sample_value("castwatch_probe_content_analysed_total", {"result": "ok"}) == 4


def test_real_segments_are_decoded_in_worker_processes(tmp_path):
    data = make_segment(tmp_path / "black.ts", video="black")
    registry = CollectorRegistry()
    results: list[SegmentAnalysis] = []

    async def scenario() -> None:
        pool = ContentPool(2, 8, ContentMetrics(registry))
        try:
            for _ in range(3):
                pool.submit(ContentJob("CH", "360p", data, 2.0, thumbnail=True), results.append)
            for _ in range(900):
                if len(results) == 3:
                    break
                await asyncio.sleep(0.1)
        finally:
            pool.close()

    asyncio.run(scenario())
    assert len(results) == 3
    assert all(r.video is not None and all(b for _, b, _ in r.video.frames) for r in results)
    assert all(r.thumbnail for r in results)
    assert registry.get_sample_value("castwatch_probe_content_cpu_seconds_total") > 0
