"""Encoder samples land in a real server speaking the InfluxDB v2 write protocol.

VictoriaMetrics accepts ``/api/v2/write`` and stores each field as ``<measurement>_<field>``
with the tags as labels; ``/api/v1/export`` reads them back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from prometheus_client import CollectorRegistry

from castwatch.common.env import InfluxSettings
from castwatch.common.influx import InfluxSink
from tests.encoder_manager.helpers import encoder_row, wait_for
from tests.support.victoria import victoria_metrics


@pytest.fixture()
def victoria(tmp_path: Path) -> Iterator[str]:
    with victoria_metrics(tmp_path / "vm") as url:
        yield url


def export(url: str, metric: str) -> list[dict]:
    requests.get(f"{url}/internal/force_flush", timeout=10)
    resp = requests.get(f"{url}/api/v1/export", params={"match[]": metric}, timeout=10)
    resp.raise_for_status()
    return [json.loads(line) for line in resp.text.splitlines() if line.strip()]


def test_encoder_samples_are_written_as_encoder_metric(victoria, db, make_sim, start_manager):
    sim = make_sim("haivision_makito", streaming=True)
    encoder_row(db, sim, "makito-influx")
    db.commit()
    sink = InfluxSink(InfluxSettings(url=victoria, token="t", batch_size=20, flush_interval_ms=100),
                      CollectorRegistry())
    try:
        start_manager(influx=sink)
        series = wait_for(lambda: export(victoria, "encoder_metric_temperature_c"), timeout=25)
        labels = series[0]["metric"]
        assert labels["encoder"] == "makito-influx" and labels["kind"] == "haivision_makito"
        assert series[0]["values"][0] == 45.0
        state = wait_for(lambda: export(victoria, "encoder_metric_state_code"), timeout=20)
        assert state[0]["values"][0] == 2  # live
    finally:
        sink.close()
