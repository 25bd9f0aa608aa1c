"""Grafana: provisioning parses, the dashboards are what grafana/generate.py writes, and every
query asks only for what castwatch really stores.

* Flux queries → the InfluxDB schema of docs/influx-schema.md, which is itself checked against
  the ``InfluxSink.write(...)`` calls in the probe and encoder-manager code (see
  test_stack_influx_schema.py).
* SQL queries → run against the real, migrated PostgreSQL schema.
* PromQL → metric names the processes expose (the contract) or our recording rules.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from _stack_support import REPO
from influx_schema import documented_schema
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from castwatch.common.models import Channel, Encoder

GRAFANA = REPO / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))

#: Metric names the processes must expose (the brief's contract); test_stack_metrics.py
#: checks these against the real /metrics of each process.
CONTRACT_METRICS = {
    "castwatch_probe_polls_total", "castwatch_probe_errors_total", "castwatch_probe_fetch_seconds",
    "castwatch_probe_schedule_lag_seconds", "castwatch_probe_channels_assigned",
    "castwatch_probe_open_alerts", "castwatch_encoders_polls_total",
    "castwatch_encoders_poll_lag_seconds", "castwatch_encoders_controller_active",
    "castwatch_encoders_failovers_total", "castwatch_encoders_temperature_celsius",
    "castwatch_notify_deliveries_total", "castwatch_notify_queue_depth",
    "castwatch_notify_send_seconds", "castwatch_influx_points_dropped_total",
    "castwatch_influx_write_errors_total",
}


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("grafana_generate", GRAFANA / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _targets() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                yield path.name, panel["title"], target
        for variable in board["templating"]["list"]:
            yield path.name, f"variable {variable['name']}", {
                "datasource": variable["datasource"], "rawSql": variable["query"]}


def _kind(target: dict[str, Any]) -> str:
    return str(target["datasource"]["uid"]).removeprefix("castwatch-")


def test_the_four_dashboards_are_exactly_what_generate_py_writes() -> None:
    rendered = _generator().render()
    assert sorted(rendered) == ["channel.json", "encoders.json", "overview.json", "wall.json"]
    for name, text_ in rendered.items():
        assert (GRAFANA / "dashboards" / name).read_text() == text_, (
            f"grafana/dashboards/{name} is stale: run python grafana/generate.py")


def test_provisioning_files_parse_and_name_every_data_source_the_dashboards_use() -> None:
    sources = yaml.safe_load((GRAFANA / "provisioning/datasources/castwatch.yml").read_text())
    uids = {d["uid"]: d for d in sources["datasources"]}
    assert uids["castwatch-influxdb"]["jsonData"]["version"] == "Flux"
    assert uids["castwatch-prometheus"]["type"] == "prometheus"
    used = {t["datasource"]["uid"] for _, _, t in _targets()}
    assert used <= set(uids)
    providers = yaml.safe_load((GRAFANA / "provisioning/dashboards/castwatch.yml").read_text())
    assert providers["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards/castwatch"


def test_the_channel_dashboard_has_a_channel_variable_used_by_every_influx_query() -> None:
    board = json.loads((GRAFANA / "dashboards/channel.json").read_text())
    assert [v["name"] for v in board["templating"]["list"]] == ["channel"]
    for panel in board["panels"]:
        for target in panel["targets"]:
            if _kind(target) == "influxdb":
                assert 'r.channel == "${channel}"' in target["query"], panel["title"]


def test_the_wall_fits_one_screen_refreshes_itself_and_colours_tiles_red_amber_green() -> None:
    board = json.loads((GRAFANA / "dashboards/wall.json").read_text())
    bottom = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in board["panels"])
    assert bottom <= 26, "a kiosk cannot scroll"
    assert board["refresh"] == "10s"
    tiles = [p for p in board["panels"] if p["title"] in ("Channels", "Encoders")]
    assert len(tiles) == 2
    for tile in tiles:
        assert tile["options"]["colorMode"] == "background"
        assert tile["options"]["reduceOptions"]["values"] is True  # one tile per row
        colours = {o["text"]: o["color"]
                   for m in tile["fieldConfig"]["defaults"]["mappings"] for o in m["options"].values()}
        assert {"OK", "WARN", "DOWN"} <= set(colours)
        assert len({colours["OK"], colours["WARN"], colours["DOWN"]}) == 3


def test_every_flux_query_asks_for_measurements_fields_and_tags_the_writers_write() -> None:
    schema = documented_schema()
    checked = 0
    for board, title, target in _targets():
        if _kind(target) != "influxdb":
            continue
        query = target["query"]
        where = f"{board} / {title}"
        measurements = re.findall(r'r\._measurement == "(\w+)"', query)
        assert measurements, f"{where}: no measurement filter"
        fields = set(re.findall(r'r\._field == "(\w+)"', query))
        assert fields, f"{where}: no field filter"
        for measurement in measurements:
            assert measurement in schema, f"{where}: no writer writes {measurement}"
            tags, known_fields = schema[measurement]
            assert fields <= known_fields, f"{where}: {sorted(fields - known_fields)} not in {measurement}"
            for column in set(re.findall(r"\br\.([a-z]\w*)", query)):
                assert column in tags or column in known_fields, (
                    f"{where}: column {column!r} is neither a tag nor a field of {measurement}")
        checked += 1
    assert checked >= 15


def _prom_names(expr: str) -> set[str]:
    without_labels = re.sub(r"\{[^}]*\}", "", expr)
    without_ranges = re.sub(r"\[[^\]]*\]", "", without_labels)
    words = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", without_ranges))
    return {w for w in words if w.startswith("castwatch") or w == "up"}


def _recorded() -> set[str]:
    rules = yaml.safe_load((REPO / "prometheus/rules/castwatch-recording.yml").read_text())
    return {r["record"] for g in rules["groups"] for r in g["rules"]}


def _base(name: str) -> str:
    return re.sub(r"_(bucket|count|sum)$", "", name)


def test_every_promql_query_uses_contract_metrics_or_our_recording_rules() -> None:
    known = CONTRACT_METRICS | _recorded() | {"up"}
    for board, title, target in _targets():
        if _kind(target) == "prometheus":
            for name in _prom_names(target["expr"]):
                assert _base(name) in known, f"{board} / {title}: unknown metric {name}"


def test_every_prometheus_rule_uses_contract_metrics_or_our_recording_rules() -> None:
    known = CONTRACT_METRICS | _recorded() | {"up"}
    for path in (REPO / "prometheus/rules").glob("*.yml"):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                for name in _prom_names(rule["expr"]):
                    assert _base(name) in known, f"{path.name}: unknown metric {name}"


def _grafana_sql(sql: str) -> str:
    """A panel's SQL with Grafana's macros and variables replaced by literal SQL."""
    sql = re.sub(r"\$__timeFilter\(([^)]+)\)", r"(\1 BETWEEN now() - interval '6 hours' AND now())", sql)
    return re.sub(r"\$\{?(channel|encoder)(:\w+)?\}?", "TV_001", sql)


def test_every_sql_query_runs_on_the_real_schema(engine: Engine) -> None:
    ran = 0
    with engine.connect() as conn:
        for board, title, target in _targets():
            if _kind(target) != "postgres":
                continue
            try:
                conn.execute(text(_grafana_sql(target["rawSql"]).replace(":", r"\:"))).fetchall()
            except Exception as exc:
                pytest.fail(f"{board} / {title}: {exc}")
            ran += 1
    assert ran >= 10


def test_wall_tiles_turn_red_for_a_critical_channel_and_an_unreachable_encoder(db: Session) -> None:
    db.add_all([
        Channel(code="TV_001", name="One", input_url="http://o/1.m3u8", status="critical", tier=1),
        Channel(code="TV_002", name="Two", input_url="http://o/2.m3u8", status="ok", tier=1),
        Channel(code="TV_003", name="Three", input_url="http://o/3.m3u8", status="warning", tier=2),
        Encoder(name="enc-a", driver_kind="obs", address="127.0.0.1:1", state="live", reachable=True),
        Encoder(name="enc-b", driver_kind="obs", address="127.0.0.1:2", state="live", reachable=False),
    ])
    db.commit()
    board = json.loads((GRAFANA / "dashboards/wall.json").read_text())
    by_title = {p["title"]: p["targets"][0].get("rawSql") for p in board["panels"]}
    channels = dict(db.execute(text(by_title["Channels"])).all())
    encoders = dict(db.execute(text(by_title["Encoders"])).all())
    assert channels == {"TV_001": 2, "TV_002": 0, "TV_003": 1}
    assert encoders == {"enc-a": 0, "enc-b": 2}
