"""``GET /api/v1/series``: points our InfluxSink wrote into a real VictoriaMetrics come back as
chartable series; the schema, the limits and the "not configured" answer; the Flux text (there is
no InfluxDB 2.x server here, so the Flux reader is checked by the query it sends)."""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from prometheus_client import CollectorRegistry

from castwatch.cms_api import create_app
from castwatch.cms_api.series import SCHEMA, flux_query, plan, promql_query
from castwatch.common.env import InfluxSettings
from castwatch.common.influx import InfluxSink
from tests.support.victoria import free_port, victoria_metrics

from .support import api_settings

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def victoria(tmp_path_factory) -> Iterator[str]:
    """VictoriaMetrics holding 10 minutes of probe and encoder points written by InfluxSink."""
    with victoria_metrics(tmp_path_factory.mktemp("vm")) as url:
        sink = InfluxSink(InfluxSettings(url=url, token="t", batch_size=500, flush_interval_ms=50),
                          CollectorRegistry())
        for i in range(60):  # one point every 10 s
            when = NOW - timedelta(seconds=600 - 10 * i)
            for rendition, ms in (("1080p", 200.0), ("720p", 120.0)):
                sink.write("segment_metric", {"channel": "CH_NEWS", "rendition": rendition,
                                              "probe": "probe-1"},
                           {"download_time_ms": ms, "size_bytes": 1_000_000, "http_status": 200}, when)
            sink.write("segment_metric", {"channel": "CH_SPORT", "rendition": "1080p", "probe": "probe-1"},
                       {"download_time_ms": 900.0}, when)
            sink.write("encoder_metric", {"encoder": "enc-a", "group": "news", "kind": "obs"},
                       {"temperature_c": 60.0 + (i % 2) * 10, "reachable": 1}, when)
        sink.close()
        requests.get(f"{url}/internal/force_flush", timeout=5)
        yield url


def _app(session_factory, url: str | None, language: str = "victoriametrics"):
    settings = api_settings(influx_query_language=language)
    settings = dataclasses.replace(settings, influx=InfluxSettings(url=url))
    return create_app(settings, session_factory=session_factory, start_listener=False).test_client()


def _wait_for_series(client, headers, query: str, want: int) -> dict:
    deadline = time.monotonic() + 20
    while True:
        resp = client.get(f"/api/v1/series?{query}", headers=headers)
        assert resp.status_code == 200, resp.json
        if len(resp.json["series"]) >= want or time.monotonic() > deadline:
            return resp.json
        time.sleep(0.2)


def test_segment_download_times_written_by_the_sink_come_back_per_rendition(
        victoria, session_factory, reader):
    client = _app(session_factory, victoria)
    body = _wait_for_series(client, reader, "measurement=segment_metric&field=download_time_ms"
                            "&channel=CH_NEWS&since=15m&every=60s", 2)
    assert body["source"] == "victoriametrics" and body["every_s"] == 60
    by_rendition = {s["tags"]["rendition"]: s for s in body["series"]}
    assert set(by_rendition) == {"1080p", "720p"}  # CH_SPORT is filtered out
    assert all(s["tags"]["channel"] == "CH_NEWS" for s in body["series"])
    values = {r: {round(v, 3) for _, v in s["points"]} for r, s in by_rendition.items()}
    assert values == {"1080p": {200.0}, "720p": {120.0}}
    times = [t for t, _ in by_rendition["1080p"]["points"]]
    assert len(times) >= 8 and times == sorted(times)
    assert (NOW - timedelta(minutes=16)).timestamp() * 1000 <= times[0] <= NOW.timestamp() * 1000 + 60_000


def test_encoder_temperature_is_averaged_per_bucket_for_one_encoder(victoria, session_factory, reader):
    client = _app(session_factory, victoria)
    body = _wait_for_series(client, reader, "measurement=encoder_metric&field=temperature_c"
                            "&encoder=enc-a&since=15m&every=60s", 1)
    [series] = body["series"]
    assert series["tags"] == {"encoder": "enc-a"}
    full = [v for _, v in series["points"][1:-1]]  # whole minutes: six samples alternating 60/70
    assert full and all(abs(v - 65.0) < 0.01 for v in full)
    none = client.get("/api/v1/series?measurement=encoder_metric&field=temperature_c&encoder=nope",
                      headers=reader)
    assert none.status_code == 200 and none.json["series"] == []


@pytest.mark.parametrize(("query", "field"), [
    ("measurement=cpu&field=usage", "measurement"),
    ("measurement=segment_metric&field=bogus", "field"),
    ("measurement=channel_error&field=error", "field"),
    ("measurement=encoder_metric&field=temperature_c&channel=CH_NEWS", "channel"),
    ("measurement=segment_metric&field=download_time_ms&since=40d", "since"),
    ("measurement=segment_metric&field=download_time_ms&since=7d&every=10s", "every"),
    ("measurement=segment_metric&field=download_time_ms&every=soon", "every"),
    ("measurement=segment_metric", "field"),
])
def test_only_the_writers_schema_can_be_queried(session_factory, reader, query, field):
    resp = _app(session_factory, "http://127.0.0.1:9").get(f"/api/v1/series?{query}", headers=reader)
    assert resp.status_code == 400, resp.json
    assert resp.json["error"]["field"] == field


def test_without_influxdb_the_answer_is_503_saying_so(session_factory, reader):
    resp = _app(session_factory, None).get(
        "/api/v1/series?measurement=segment_metric&field=download_time_ms", headers=reader)
    assert resp.status_code == 503
    assert resp.json["error"]["code"] == "influx_not_configured"
    assert "INFLUXDB_URL" in resp.json["error"]["message"]


def test_an_unreachable_server_is_a_503_not_a_500(session_factory, reader):
    resp = _app(session_factory, f"http://127.0.0.1:{free_port()}").get(
        "/api/v1/series?measurement=encoder_metric&field=cpu_percent", headers=reader)
    assert resp.status_code == 503 and resp.json["error"]["code"] == "influx_unavailable"


def test_the_flux_text_filters_groups_and_escapes():
    now = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
    q = plan("segment_metric", "download_time_ms", {"channel": 'CH "X" ${x}', "rendition": "720p",
                                                    "encoder": None}, "2h", None, "5m", now=now)
    assert flux_query(q, "castwatch") == "\n".join([
        'from(bucket: "castwatch")',
        "  |> range(start: 2026-11-21T06:00:00Z, stop: 2026-11-21T08:00:00Z)",
        '  |> filter(fn: (r) => r._measurement == "segment_metric" and r._field == "download_time_ms"'
        ' and r["channel"] == "CH \\"X\\" \\${x}" and r["rendition"] == "720p")',
        "  |> toFloat()",
        '  |> group(columns: ["channel", "rendition"])',
        "  |> aggregateWindow(every: 300s, fn: mean, createEmpty: false)",
        '  |> keep(columns: ["_time", "_value", "channel", "rendition"])',
    ])
    assert promql_query(q) == ('avg by (channel, rendition) (avg_over_time(segment_metric_download_time_ms'
                               '{channel="CH \\"X\\" ${x}",rendition="720p"}[300s]))')


def test_the_flux_reader_is_chosen_by_default_and_reports_an_unreachable_server(session_factory, reader):
    client = _app(session_factory, f"http://127.0.0.1:{free_port()}", language="flux")
    resp = client.get("/api/v1/series?measurement=abr_ladder&field=rung_count", headers=reader)
    assert resp.status_code == 503 and "InfluxDB query failed" in resp.json["error"]["message"]


def test_the_allowed_schema_is_the_documented_one():
    documented = {}
    for line in (ROOT / "docs/influx-schema.md").read_text().splitlines():
        match = re.match(r"\|\s*`(\w+)`\s*\|\s*\w+\s*\|([^|]*)\|([^|]*)\|", line)
        if match:
            documented[match.group(1)] = ({t.strip() for t in match.group(2).split(",")},
                                          {f.strip() for f in match.group(3).split(",")})
    ours = {m: (set(s.tags), set(s.fields) | set(s.text_fields)) for m, s in SCHEMA.items()}
    assert ours == documented
