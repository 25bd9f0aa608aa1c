"""The channel detail page's content charts (issue #14): MOS, loudness with its target band and
bitrate measured vs advertised, from GET /api/v1/series for that channel (real VictoriaMetrics
behind a real API process, real PostgreSQL, Chromium)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import expect
from prometheus_client import CollectorRegistry

from castwatch.common.env import InfluxSettings
from castwatch.common.influx import InfluxSink
from tests.support.victoria import victoria_metrics

from .browser import shoot
from .server import ApiServer, free_port

pytestmark = pytest.mark.slow

_DATASETS = ("(canvas) => Chart.getChart(canvas).data.datasets"
             ".map((d) => [d.label, d.data.length, d.data.map((p) => p.y)])")


def test_the_channel_page_charts_its_mos_loudness_and_bitrate_history(
        page: Any, admin_key: str, database_url: str, rest: Any, tmp_path: Path) -> None:
    made = rest.post("/channels", {"channel_code": "CH_CONTENT", "channel_name": "Content",
                                   "input_url": "https://origin.example/live/master.m3u8", "tier": 1},
                     expect=201)
    with victoria_metrics(tmp_path / "vm") as vm_url:
        sink = InfluxSink(InfluxSettings(url=vm_url, token="t", flush_interval_ms=50), CollectorRegistry())
        now = datetime.now(UTC)
        for i in range(30):  # 15 minutes, one point every 30 s, as the probe writes them
            when = now - timedelta(seconds=900 - 30 * i)
            for channel, mos in (("CH_CONTENT", 3.9), ("CH_OTHER", 1.5)):
                tags = {"channel": channel, "rendition": "360p", "probe": "p1"}
                sink.write("video_quality", tags, {"mos": mos, "measured_bps": 812_000 + 1000 * (i % 3),
                                                   "advertised_bps": 800_000}, when)
                sink.write("content_audio", {**tags, "track": "1"}, {"short_term_lufs": -22.5 - i % 2}, when)
        sink.close()
        requests.get(f"{vm_url}/internal/force_flush", timeout=5)
        server = ApiServer(database_url, free_port(), env={
            "INFLUXDB_URL": vm_url, "INFLUXDB_QUERY_LANGUAGE": "victoriametrics"})
        server.start()
        try:
            page.goto(f"{server.url}/#/channels/{made['id']}")
            page.fill("#signin-key", admin_key)
            page.click("#signin-form button[type=submit]")
            page.wait_for_selector("body[data-ready]")
            charts = page.locator("#content-charts")
            for chart in ("#chart-mos", "#chart-loudness", "#chart-measured"):
                expect(charts.locator(f"{chart} canvas")).to_be_visible()
            for metric in ("mos", "loudness", "measured"):
                expect(charts.locator(f'[data-metric="{metric}"] .chart-source')).to_have_attribute(
                    "data-source", "influx")

            mos = charts.locator("#chart-mos canvas").evaluate(_DATASETS)
            assert [label for label, _, _ in mos] == ["360p"]  # this channel only, not CH_OTHER
            assert mos[0][1] >= 10 and all(abs(y - 3.9) < 1e-6 for y in mos[0][2])

            loud = {label: ys for label, _, ys in
                    charts.locator("#chart-loudness canvas").evaluate(_DATASETS)}
            assert loud["target low"] == [-28, -28] and loud["target high"] == [-18, -18]  # the R128 band
            assert len(loud["1"]) >= 10 and all(-23.6 < y < -22.4 for y in loud["1"])

            bitrate = {label: ys for label, _, ys in
                       charts.locator("#chart-measured canvas").evaluate(_DATASETS)}
            assert set(bitrate) == {"360p", "360p advertised"}
            assert all(abs(y - 0.8) < 1e-9 for y in bitrate["360p advertised"])
            assert all(0.811 < y < 0.815 for y in bitrate["360p"]) and len(bitrate["360p"]) >= 10
            shoot(page, "channel-detail-content")
        finally:
            server.stop()
