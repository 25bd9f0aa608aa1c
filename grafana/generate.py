"""Write castwatch's Grafana dashboards (grafana/dashboards/*.json) from this one description.

Run ``python grafana/generate.py`` after editing; a test fails when the JSON files and this
script disagree. Queries use only what castwatch really stores: the InfluxDB measurements of
docs/influx-schema.md, the PostgreSQL tables of castwatch.common.models and the Prometheus
metrics of the processes (tests/stack/test_stack_dashboards.py checks all three).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "dashboards"
INFLUX = {"type": "influxdb", "uid": "castwatch-influxdb"}
PROM = {"type": "prometheus", "uid": "castwatch-prometheus"}
PG = {"type": "grafana-postgresql-datasource", "uid": "castwatch-postgres"}

# red / amber / green, readable across a room
GREEN, AMBER, RED, GREY = "#1a9e3f", "#f2a900", "#d62d20", "#6e7079"
STATE_MAPPING = [{"type": "value", "options": {
    "0": {"text": "OK", "color": GREEN, "index": 0},
    "1": {"text": "WARN", "color": AMBER, "index": 1},
    "2": {"text": "DOWN", "color": RED, "index": 2},
    "3": {"text": "?", "color": GREY, "index": 3},
}}]


def flux(measurement: str, fields: list[str], *, filters: str = "", tail: str = "") -> str:
    """A Flux query on one measurement and some of its fields, windowed to the panel."""
    field_test = " or ".join(f'r._field == "{f}"' for f in fields)
    return (
        "from(bucket: v.defaultBucket)\n"
        "  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)\n"
        f'  |> filter(fn: (r) => r._measurement == "{measurement}")\n'
        f"  |> filter(fn: (r) => {field_test})\n"
        + (f"  |> filter(fn: (r) => {filters})\n" if filters else "")
        + (tail or "  |> aggregateWindow(every: v.windowPeriod, fn: mean, createEmpty: false)\n")
    )


class Board:
    """Collects panels on Grafana's 24-column grid, left to right, top to bottom."""

    def __init__(self) -> None:
        self.panels: list[dict[str, Any]] = []
        self._x = 0
        self._y = 0
        self._row_h = 0

    def add(self, panel: dict[str, Any], w: int, h: int) -> None:
        if self._x + w > 24:
            self._x, self._y, self._row_h = 0, self._y + self._row_h, 0
        panel["id"] = len(self.panels) + 1
        panel["gridPos"] = {"x": self._x, "y": self._y, "w": w, "h": h}
        self.panels.append(panel)
        self._x += w
        self._row_h = max(self._row_h, h)

    @property
    def height(self) -> int:
        return self._y + self._row_h


def timeseries(title: str, ds: dict[str, str], targets: list[dict[str, Any]], *, unit: str = "short",
               **defaults: Any) -> dict[str, Any]:
    return {"type": "timeseries", "title": title, "datasource": ds, "targets": targets,
            "fieldConfig": {"defaults": {"unit": unit, **defaults}, "overrides": []},
            "options": {"legend": {"displayMode": "list", "placement": "bottom"},
                        "tooltip": {"mode": "multi"}}}


def ftarget(query: str, ref: str = "A") -> dict[str, Any]:
    return {"refId": ref, "datasource": INFLUX, "query": query}


def ptarget(expr: str, legend: str = "", ref: str = "A") -> dict[str, Any]:
    return {"refId": ref, "datasource": PROM, "expr": expr, "legendFormat": legend}


def sqltarget(sql: str, ref: str = "A", fmt: str = "table") -> dict[str, Any]:
    return {"refId": ref, "datasource": PG, "rawQuery": True, "editorMode": "code",
            "rawSql": sql, "format": fmt}


def stat(title: str, ds: dict[str, str], targets: list[dict[str, Any]], **opts: Any) -> dict[str, Any]:
    panel: dict[str, Any] = {"type": "stat", "title": title, "datasource": ds, "targets": targets,
             "fieldConfig": {"defaults": {"unit": "short", "mappings": [],
                                          "thresholds": {"mode": "absolute", "steps": [
                                              {"color": GREEN, "value": None}]}},
                             "overrides": []},
             "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                         "colorMode": "background", "graphMode": "none", "textMode": "value_and_name",
                         "justifyMode": "center", "orientation": "auto"}}
    panel["options"].update(opts.pop("options", {}))
    panel["fieldConfig"]["defaults"].update(opts.pop("defaults", {}))
    panel.update(opts)
    return panel


def table(title: str, ds: dict[str, str], targets: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "table", "title": title, "datasource": ds, "targets": targets,
            "fieldConfig": {"defaults": {}, "overrides": []}, "options": {"showHeader": True}}


def dashboard(uid: str, title: str, board: Board, *, refresh: str = "30s", time_from: str = "now-6h",
              variables: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {"uid": uid, "title": title, "tags": ["castwatch"], "timezone": "browser",
            "schemaVersion": 39, "version": 1, "editable": False, "graphTooltip": 1,
            "refresh": refresh, "time": {"from": time_from, "to": "now"},
            "templating": {"list": variables or []}, "annotations": {"list": []},
            "panels": board.panels, **extra}


def sql_variable(name: str, sql: str, *, multi: bool = False) -> dict[str, Any]:
    return {"name": name, "label": name.capitalize(), "type": "query", "datasource": PG,
            "query": sql, "definition": sql, "refresh": 1, "sort": 1, "multi": multi,
            "includeAll": multi, "current": {}, "options": [], "hide": 0}


#: encoder_metric.state_code as the encoder manager writes it (docs/influx-schema.md)
ENCODER_STATE_CODES = [{"type": "value", "options": {
    "0": {"text": "idle", "color": GREY}, "1": {"text": "starting", "color": AMBER},
    "2": {"text": "live", "color": GREEN}, "3": {"text": "degraded", "color": AMBER},
    "4": {"text": "failed", "color": RED}, "5": {"text": "unknown", "color": GREY}}}]


# --- Overview ----------------------------------------------------------------------------------
CHANNEL_STATE_VALUE = ("CASE status WHEN 'ok' THEN 0 WHEN 'warning' THEN 1 WHEN 'critical' THEN 2 "
                       "ELSE 3 END")
ENCODER_STATE_VALUE = ("CASE WHEN reachable IS FALSE OR state = 'failed' THEN 2 "
                       "WHEN state IN ('degraded', 'starting') THEN 1 "
                       "WHEN state IN ('live', 'idle') THEN 0 ELSE 3 END")


def overview() -> dict[str, Any]:
    b = Board()
    b.add(stat("Channels by state", PG, [sqltarget(
        "SELECT status AS metric, count(*) AS value FROM channels WHERE enabled "
        "GROUP BY status ORDER BY status")], options={"reduceOptions": {
            "calcs": [], "fields": "/^value$/", "values": True}}), 8, 5)
    b.add(stat("Open alerts by severity", PG, [sqltarget(
        "SELECT severity AS metric, count(*) AS value FROM alerts WHERE state <> 'resolved' "
        "GROUP BY severity ORDER BY min(CASE severity WHEN 'critical' THEN 0 WHEN 'major' THEN 1 "
        "WHEN 'minor' THEN 2 ELSE 3 END)")], options={"reduceOptions": {
            "calcs": [], "fields": "/^value$/", "values": True}},
        defaults={"thresholds": {"mode": "absolute", "steps": [
            {"color": GREEN, "value": None}, {"color": AMBER, "value": 1}]}}), 8, 5)
    b.add(stat("castwatch processes up", PROM, [ptarget(
        'sum by (job) (up{job=~"castwatch_.*"})', "{{job}}")],
        defaults={"thresholds": {"mode": "absolute", "steps": [
            {"color": RED, "value": None}, {"color": GREEN, "value": 1}]}}), 8, 5)
    b.add(table("Channels by tier and state", PG, [sqltarget(
        "SELECT tier, count(*) FILTER (WHERE status = 'ok') AS ok, "
        "count(*) FILTER (WHERE status = 'warning') AS warning, "
        "count(*) FILTER (WHERE status = 'critical') AS critical, "
        "count(*) FILTER (WHERE status NOT IN ('ok', 'warning', 'critical')) AS other "
        "FROM channels WHERE enabled GROUP BY tier ORDER BY tier")]), 8, 7)
    b.add(table("Open alerts", PG, [sqltarget(
        "SELECT opened_at AS \"time\", severity, state, source, subject, alert_type, summary "
        "FROM alerts WHERE state <> 'resolved' ORDER BY opened_at DESC LIMIT 50")]), 16, 7)
    b.add(timeseries("Probe polls / s", PROM, [ptarget(
        "castwatch:probe_polls:rate5m", "{{protocol}} {{result}}")], unit="reqps"), 8, 7)
    b.add(timeseries("Probe schedule lag (p95)", PROM, [ptarget(
        "castwatch:probe_schedule_lag_seconds:p95_5m", "p95 lag")], unit="s"), 8, 7)
    b.add(table("Probe replicas", PG, [sqltarget(
        "SELECT name, status, hostname, last_heartbeat_at FROM probes ORDER BY name")]), 8, 7)
    b.add(timeseries("Channels per probe replica", PROM, [ptarget(
        "castwatch_probe_channels_assigned", "{{instance}}")]), 8, 7)
    b.add(timeseries("Notifications / s", PROM, [ptarget(
        "castwatch:notify_deliveries:rate5m", "{{transport}} {{status}}")], unit="reqps"), 8, 7)
    b.add(timeseries("Time-series points dropped / s", PROM, [ptarget(
        "castwatch:influx_points_dropped:rate5m", "{{job}} {{reason}}")], unit="reqps"), 8, 7)
    return dashboard("castwatch-overview", "castwatch — Overview", b)


# --- Channel -----------------------------------------------------------------------------------
def channel() -> dict[str, Any]:
    ch = 'r.channel == "${channel}"'
    by_rendition = ('  |> aggregateWindow(every: v.windowPeriod, fn: mean, createEmpty: false)\n'
                    '  |> group(columns: ["rendition", "_field"])\n')
    b = Board()
    b.add(timeseries("Segment download time", INFLUX, [ftarget(flux(
        "segment_metric", ["download_time_ms"], filters=ch, tail=by_rendition))], unit="ms"), 12, 8)
    b.add(timeseries("Download ratio (segment duration / download time)", INFLUX, [ftarget(flux(
        "segment_metric", ["download_time_ms", "duration"], filters=ch, tail=(
            '  |> pivot(rowKey: ["_time", "rendition"], columnKey: ["_field"], valueColumn: "_value")\n'
            "  |> filter(fn: (r) => r.download_time_ms > 0)\n"
            "  |> map(fn: (r) => ({ _time: r._time, rendition: r.rendition,"
            " _value: r.duration * 1000.0 / float(v: r.download_time_ms) }))\n"
            '  |> group(columns: ["rendition"])\n'
            "  |> aggregateWindow(every: v.windowPeriod, fn: min, createEmpty: false)\n")))],
        unit="x", thresholds={"mode": "absolute", "steps": [
            {"color": RED, "value": None}, {"color": AMBER, "value": 1}, {"color": GREEN, "value": 1.5}]},
        custom={"thresholdsStyle": {"mode": "line"}}), 12, 8)
    b.add(timeseries("Playlist valid", INFLUX, [ftarget(flux(
        "playlist_validation", ["is_valid"], filters=ch, tail=(
            '  |> map(fn: (r) => ({ r with _value: if r._value then 1 else 0 }))\n'
            "  |> aggregateWindow(every: v.windowPeriod, fn: min, createEmpty: false)\n"
            '  |> group(columns: ["rendition"])\n')))],
        min=0, max=1, mappings=[{"type": "value", "options": {
            "0": {"text": "INVALID", "color": RED}, "1": {"text": "valid", "color": GREEN}}}]), 12, 7)
    b.add(timeseries("Segments in playlist / playlist duration", INFLUX, [ftarget(flux(
        "playlist_validation", ["segment_count", "duration"], filters=ch, tail=by_rendition))]), 12, 7)
    b.add(timeseries("ABR ladder", INFLUX, [ftarget(flux(
        "abr_ladder", ["rung_count", "min_bitrate", "max_bitrate"], filters=ch,
        tail="  |> aggregateWindow(every: v.windowPeriod, fn: last, createEmpty: false)\n"))]), 12, 7)
    b.add(timeseries("Segment size and HTTP errors", INFLUX, [
        ftarget(flux("segment_metric", ["size_bytes"], filters=ch, tail=by_rendition), "A"),
        ftarget(flux("segment_metric", ["http_status"], filters=f"{ch} and r._value >= 400", tail=(
            "  |> aggregateWindow(every: v.windowPeriod, fn: count, createEmpty: false)\n")), "B")],
        unit="bytes"), 12, 7)
    b.add(table("Errors", INFLUX, [ftarget(flux("channel_error", ["error"], filters=ch, tail=(
        '  |> group()\n  |> sort(columns: ["_time"], desc: true)\n  |> limit(n: 100)\n')))]), 12, 8)
    b.add(table("Alerts of this channel", PG, [sqltarget(
        "SELECT a.opened_at AS \"time\", a.severity, a.state, a.alert_type, a.subject, a.summary, "
        "a.resolved_at FROM alerts a JOIN channels c ON c.id = a.channel_id "
        "WHERE c.code = '${channel}' AND ($__timeFilter(a.opened_at) OR a.state <> 'resolved') "
        "ORDER BY a.opened_at DESC LIMIT 100")]), 12, 8)
    return dashboard("castwatch-channel", "castwatch — Channel", b, variables=[
        sql_variable("channel", "SELECT code FROM channels WHERE enabled ORDER BY code")])


# --- Encoders ----------------------------------------------------------------------------------
def encoders() -> dict[str, Any]:
    enc = "r.encoder =~ /^${encoder:regex}$/"
    by_encoder = ('  |> aggregateWindow(every: v.windowPeriod, fn: mean, createEmpty: false)\n'
                  '  |> group(columns: ["encoder", "_field"])\n')
    b = Board()
    b.add(timeseries("Temperature", INFLUX, [ftarget(flux(
        "encoder_metric", ["temperature_c"], filters=enc, tail=by_encoder))], unit="celsius",
        thresholds={"mode": "absolute", "steps": [
            {"color": GREEN, "value": None}, {"color": AMBER, "value": 70}, {"color": RED, "value": 85}]},
        custom={"thresholdsStyle": {"mode": "line"}}), 12, 8)
    b.add(timeseries("CPU and memory", INFLUX, [ftarget(flux(
        "encoder_metric", ["cpu_percent", "memory_percent"], filters=enc, tail=by_encoder))],
        unit="percent", min=0, max=100), 12, 8)
    b.add(timeseries("Dropped frames", INFLUX, [ftarget(flux(
        "encoder_metric", ["dropped_frames", "drop_rate"], filters=enc, tail=by_encoder))]), 12, 7)
    b.add(timeseries("Output bitrate", INFLUX, [ftarget(flux(
        "encoder_metric", ["bitrate_kbps"], filters=enc, tail=by_encoder))], unit="Kbits"), 12, 7)
    b.add(timeseries("Link round-trip time", INFLUX, [ftarget(flux(
        "encoder_metric", ["link_rtt_ms"], filters=enc, tail=by_encoder))], unit="ms"), 12, 7)
    b.add(timeseries("Link packets lost / retransmitted", INFLUX, [ftarget(flux(
        "encoder_metric", ["link_lost", "link_retransmitted"], filters=enc, tail=by_encoder))]), 12, 7)
    b.add(timeseries("State", INFLUX, [ftarget(flux(
        "encoder_metric", ["state_code"], filters=enc,
        tail="  |> aggregateWindow(every: v.windowPeriod, fn: last, createEmpty: false)\n"
             '  |> group(columns: ["encoder"])\n'))], mappings=ENCODER_STATE_CODES), 12, 7)
    b.add(timeseries("Failovers / hour", PROM, [ptarget(
        "sum by (result) (increase(castwatch_encoders_failovers_total[1h]))", "{{result}}")]), 12, 7)
    b.add(table("Failover events", PG, [sqltarget(
        "SELECT f.created_at AS \"time\", g.name AS \"group\", fe.name AS \"from\", te.name AS \"to\", "
        "f.kind, f.status, f.actor, f.reason, f.completed_at FROM failover_events f "
        "JOIN encoder_groups g ON g.id = f.group_id "
        "LEFT JOIN encoders fe ON fe.id = f.from_encoder_id "
        "LEFT JOIN encoders te ON te.id = f.to_encoder_id "
        "WHERE $__timeFilter(f.created_at) ORDER BY f.created_at DESC LIMIT 100")]), 16, 8)
    b.add(stat("Active controller per group", PROM, [ptarget(
        "castwatch:encoders_controllers_active:by_group", "{{group}}")],
        defaults={"thresholds": {"mode": "absolute", "steps": [
            {"color": RED, "value": None}, {"color": GREEN, "value": 1}, {"color": AMBER, "value": 2}]}}),
        8, 8)
    return dashboard("castwatch-encoders", "castwatch — Encoders", b, variables=[
        sql_variable("encoder", "SELECT name FROM encoders WHERE enabled ORDER BY name", multi=True)])


# --- Wall (kiosk) ------------------------------------------------------------------------------
def wall() -> dict[str, Any]:
    """Large red/amber/green tiles, one per channel and encoder, sized to one 1080p screen."""
    tile_opts = {"reduceOptions": {"calcs": [], "fields": "/^value$/", "values": True},
                 "textMode": "name", "colorMode": "background", "graphMode": "none",
                 "justifyMode": "center", "orientation": "auto",
                 "text": {"titleSize": 28, "valueSize": 28}}
    b = Board()
    b.add(stat("Open critical alerts", PG, [sqltarget(
        "SELECT count(*) AS value FROM alerts WHERE state = 'firing' AND severity = 'critical'")],
        options={"textMode": "value", "text": {"valueSize": 64},
                 "reduceOptions": {"calcs": [], "fields": "/^value$/", "values": True}},
        defaults={"thresholds": {"mode": "absolute", "steps": [
            {"color": GREEN, "value": None}, {"color": RED, "value": 1}]}}), 6, 4)
    b.add(stat("Open major alerts", PG, [sqltarget(
        "SELECT count(*) AS value FROM alerts WHERE state = 'firing' AND severity = 'major'")],
        options={"textMode": "value", "text": {"valueSize": 64},
                 "reduceOptions": {"calcs": [], "fields": "/^value$/", "values": True}},
        defaults={"thresholds": {"mode": "absolute", "steps": [
            {"color": GREEN, "value": None}, {"color": AMBER, "value": 1}]}}), 6, 4)
    b.add(stat("Channels OK", PG, [sqltarget(
        "SELECT count(*) FILTER (WHERE status = 'ok') AS value FROM channels WHERE enabled")],
        options={"textMode": "value", "text": {"valueSize": 64},
                 "reduceOptions": {"calcs": [], "fields": "/^value$/", "values": True}},
        defaults={"color": {"mode": "fixed", "fixedColor": GREEN}}), 6, 4)
    b.add(stat("castwatch processes down", PROM, [ptarget(
        'count(up{job=~"castwatch_.*"} == 0) or vector(0)', "down")],
        options={"textMode": "value", "text": {"valueSize": 64}},
        defaults={"thresholds": {"mode": "absolute", "steps": [
            {"color": GREEN, "value": None}, {"color": RED, "value": 1}]}}), 6, 4)
    b.add(stat("Channels", PG, [sqltarget(
        f"SELECT code AS metric, {CHANNEL_STATE_VALUE} AS value FROM channels WHERE enabled "
        "ORDER BY tier, code")], options=tile_opts, defaults={"mappings": STATE_MAPPING}), 24, 10)
    # the content layer (issue #14): loudness against the EBU R128 band, and video MOS
    b.add(timeseries("Loudness (short-term, LUFS)", INFLUX, [ftarget(flux(
        "content_audio", ["short_term_lufs"], tail="  |> aggregateWindow(every: v.windowPeriod, "
        "fn: mean, createEmpty: false)\n  |> group(columns: [\"channel\"])\n"))], unit="short",
        min=-50, max=0, custom={"thresholdsStyle": {"mode": "area"}, "lineWidth": 2},
        thresholds={"mode": "absolute", "steps": [
            {"color": RED, "value": None}, {"color": GREEN, "value": -28}, {"color": RED, "value": -18}]}),
        12, 4)
    b.add(timeseries("Video MOS (P.1203.1 mode 0)", INFLUX, [ftarget(flux(
        "video_quality", ["mos"], tail="  |> aggregateWindow(every: v.windowPeriod, fn: mean, "
        "createEmpty: false)\n  |> group(columns: [\"channel\", \"rendition\"])\n"))], unit="short",
        min=1, max=5, custom={"thresholdsStyle": {"mode": "area"}, "lineWidth": 2},
        thresholds={"mode": "absolute", "steps": [
            {"color": RED, "value": None}, {"color": AMBER, "value": 3.5}, {"color": GREEN, "value": 4}]}),
        12, 4)
    b.add(stat("Encoders", PG, [sqltarget(
        f"SELECT name AS metric, {ENCODER_STATE_VALUE} AS value FROM encoders WHERE enabled "
        "ORDER BY name")], options=tile_opts, defaults={"mappings": STATE_MAPPING}), 24, 8)
    assert b.height <= 26, "the wall must fit one screen without scrolling"
    return dashboard("castwatch-wall", "castwatch — Wall", b, refresh="10s", time_from="now-15m",
                     graphTooltip=0, liveNow=False, fiscalYearStartMonth=0,
                     links=[], description="Kiosk: /grafana/d/castwatch-wall/wall?kiosk&refresh=10s")


DASHBOARDS = {"overview": overview, "channel": channel, "encoders": encoders, "wall": wall}


def render() -> dict[str, str]:
    """File name → JSON text of every dashboard."""
    return {f"{name}.json": json.dumps(build(), indent=2, sort_keys=True) + "\n"
            for name, build in DASHBOARDS.items()}


def main() -> int:
    OUT.mkdir(exist_ok=True)
    for name, text in render().items():
        (OUT / name).write_text(text)
        print(f"wrote {OUT / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
