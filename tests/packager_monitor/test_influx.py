"""Probe time series land in a real server speaking the InfluxDB v2 write protocol.

VictoriaMetrics (Debian's ``victoria-metrics``) accepts ``/api/v2/write`` and stores each
field as ``<measurement>_<field>`` with the tags as labels; ``/api/v1/export`` reads them back.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from prometheus_client import CollectorRegistry

from castwatch.common.env import InfluxSettings
from castwatch.common.influx import InfluxSink
from castwatch.packager_monitor.context import ChannelConfig, TemplateSpec
from castwatch.packager_monitor.service import StaticSource
from castwatch.packager_monitor.settings import ProbeSettings
from castwatch.simulators.origin.model import SimConfig
from castwatch.simulators.origin.server import SimulatorThread
from tests.support.egress import LOOPBACK
from tests.support.victoria import victoria_metrics

from .conftest import ProbeThread, wait_for


@pytest.fixture()
def victoria(tmp_path: Path) -> Iterator[str]:
    with victoria_metrics(tmp_path / "vm") as url:
        yield url


def _export(url: str, metric: str) -> list[dict]:
    requests.get(f"{url}/internal/force_flush", timeout=5)
    resp = requests.get(f"{url}/api/v1/export", params={"match[]": metric}, timeout=5)
    resp.raise_for_status()
    return [json.loads(line) for line in resp.text.splitlines() if line.strip()]


def test_segment_playlist_and_ladder_points_reach_the_v2_write_endpoint(victoria):
    registry = CollectorRegistry()
    sink = InfluxSink(InfluxSettings(url=victoria, token="t", org="castwatch", bucket="castwatch",
                                     batch_size=50, flush_interval_ms=200), registry)
    try:
        with SimulatorThread(SimConfig(channels=1, segment_s=1.0)) as sim:
            cfg = ChannelConfig(None, "CH_SIM_001", sim.master_url("CH_SIM_001"), "HLS",
                                TemplateSpec(1.0, 0.25, 800, 1.0))
            settings = ProbeSettings(egress=LOOPBACK, name="probe-influx", clear_hold_s=2)
            with ProbeThread(settings, source=StaticSource([cfg]), points=sink):
                series = wait_for(lambda: _export(victoria, "segment_metric_download_time_ms"), 20,
                                  "segment_metric points in victoria-metrics")
    finally:
        sink.close()
    labels = series[0]["metric"]
    assert labels["channel"] == "CH_SIM_001" and labels["probe"] == "probe-influx"
    assert labels["rendition"] in {"1080p", "720p", "480p", "360p"}
    assert all(v >= 0 for v in series[0]["values"])
    sizes = _export(victoria, "segment_metric_size_bytes")
    assert sizes and set(sizes[0]["values"]) == {188 * 6}  # PAT + PMT + 4 PES packets
    counts = _export(victoria, "playlist_validation_segment_count")
    assert counts and set(counts[0]["values"]) == {6}
    rungs = _export(victoria, "abr_ladder_rung_count")
    assert rungs and rungs[0]["metric"]["channel"] == "CH_SIM_001" and set(rungs[0]["values"]) == {4}
    assert sink.metrics.written._value.get() > 0
    assert time.time() - series[0]["timestamps"][-1] / 1000 < 120
