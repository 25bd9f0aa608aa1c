"""Time series for charts, read from the InfluxDB the probe and encoder manager write to.

:class:`SeriesReader` is the small interface ``GET /api/v1/series`` uses; two implementations,
chosen by ``INFLUXDB_QUERY_LANGUAGE`` (``ApiSettings.influx_query_language``) and pointed at the
shared ``settings.influx`` (URL, token, org, bucket):

- :class:`FluxReader` — Flux through influxdb-client's query API (real InfluxDB 2.x);
- :class:`VictoriaMetricsReader` — VictoriaMetrics' Prometheus-compatible
  ``/api/v1/query_range``, where each field written over the InfluxDB protocol is the series
  ``<measurement>_<field>`` with the tags as labels.

Only the writers' schema (docs/influx-schema.md) can be asked for: :data:`SCHEMA` lists each
measurement's tags and numeric fields, :func:`plan` refuses anything else (``BadSeriesQuery``
naming the parameter). The query texts are built by pure functions (:func:`flux_query`,
:func:`promql_query`) that only ever embed validated names and escaped tag values.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import requests

from castwatch.common.env import InfluxSettings


@dataclass(frozen=True)
class Measurement:
    tags: tuple[str, ...]
    fields: tuple[str, ...]  # numeric (booleans count as 1/0)
    group_by: tuple[str, ...]  # one series per combination of these tags
    text_fields: tuple[str, ...] = ()


_PROBE_TAGS = ("channel", "rendition", "probe")
#: The writers' schema (docs/influx-schema.md; tests/cms_api checks the two agree).
SCHEMA: dict[str, Measurement] = {
    "segment_metric": Measurement(_PROBE_TAGS, ("download_time_ms", "size_bytes", "http_status",
                                                "duration"), ("channel", "rendition")),
    "playlist_validation": Measurement(_PROBE_TAGS, ("is_valid", "segment_count", "duration"),
                                       ("channel", "rendition")),
    "abr_ladder": Measurement(_PROBE_TAGS, ("rung_count", "min_bitrate", "max_bitrate"),
                              ("channel",)),
    "channel_error": Measurement(_PROBE_TAGS, (), ("channel", "rendition"), ("error",)),
    "content_video": Measurement(_PROBE_TAGS, ("black_s", "frozen_s", "mean_luma"),
                                 ("channel", "rendition")),
    "content_audio": Measurement((*_PROBE_TAGS, "track"), ("momentary_lufs", "short_term_lufs",
                                                           "integrated_lufs", "true_peak_dbtp", "silent_s"),
                                 ("channel", "rendition", "track")),
    "video_quality": Measurement(_PROBE_TAGS, ("measured_bps", "advertised_bps", "mos"),
                                 ("channel", "rendition"), ("model",)),
    "encoder_metric": Measurement(
        ("encoder", "group", "kind"),
        ("temperature_c", "cpu_percent", "memory_percent", "bitrate_kbps", "dropped_frames",
         "frames_total", "drop_rate", "link_rtt_ms", "link_lost", "link_retransmitted",
         "state_code", "reachable", "instability"), ("encoder",)),
}

MAX_SPAN = timedelta(days=31)
MAX_POINTS = 1500  # per series
MAX_SERIES = 50
_STEPS_S = (10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400)
_DURATION = re.compile(r"^(\d{1,6})(s|m|h|d)$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_TAG_VALUE = re.compile(r"^[^\x00-\x1f\x7f]{1,200}$")


class BadSeriesQuery(ValueError):
    """A parameter the writers' schema does not allow; ``param`` names it."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


class SeriesUnavailable(RuntimeError):
    """The time-series server could not answer (down, refused, bad reply)."""


@dataclass(frozen=True)
class SeriesQuery:
    """A validated request: one field of one measurement, filtered by tags, bucketed by ``every_s``."""

    measurement: str
    field: str
    filters: dict[str, str]
    start: datetime
    stop: datetime
    every_s: int
    group_by: tuple[str, ...]


@dataclass
class Series:
    tags: dict[str, str]
    points: list[tuple[int, float]] = field(default_factory=list)  # (epoch ms, value)


class SeriesReader(Protocol):
    """Reads one query's series; raises :class:`SeriesUnavailable` when the server fails."""

    name: str

    def read(self, query: SeriesQuery) -> list[Series]: ...


def parse_duration(text: str, param: str) -> int:
    """``90s``, ``15m``, ``6h``, ``7d`` (or plain seconds) → seconds (> 0)."""
    raw = text.strip().lower()
    if raw.isdigit():
        seconds = int(raw)
    else:
        match = _DURATION.match(raw)
        if not match:
            raise BadSeriesQuery(param, f"{param}: use a duration like 30s, 15m, 6h or 7d")
        seconds = int(match.group(1)) * _UNIT_S[match.group(2)]
    if seconds <= 0:
        raise BadSeriesQuery(param, f"{param} must be positive")
    return seconds


def _parse_time(text: str, param: str, now: datetime) -> datetime:
    """A duration back from now (``6h``) or an ISO 8601 time (naive = UTC)."""
    if _DURATION.match(text.strip().lower()) or text.strip().isdigit():
        return now - timedelta(seconds=parse_duration(text, param))
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadSeriesQuery(param, f"{param}: use an ISO 8601 time or a duration like 6h") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def auto_every(span_s: float, points: int = 240) -> int:
    """A round bucket size giving about ``points`` points over ``span_s``."""
    want = span_s / points
    return next((s for s in _STEPS_S if s >= want), _STEPS_S[-1])


def plan(measurement: str, field_name: str, filters: dict[str, str | None], since: str | None,
         until: str | None, every: str | None, now: datetime | None = None) -> SeriesQuery:
    """Validate a request against :data:`SCHEMA` and the limits; raises :class:`BadSeriesQuery`."""
    now = now or datetime.now(UTC)
    spec = SCHEMA.get(measurement)
    if spec is None:
        raise BadSeriesQuery("measurement", f"measurement {measurement!r} is not one of "
                             f"{', '.join(sorted(SCHEMA))}")
    if field_name not in spec.fields:
        if field_name in spec.text_fields:
            raise BadSeriesQuery("field", f"field {field_name!r} of {measurement} is text and "
                                 "cannot be charted")
        raise BadSeriesQuery("field", f"field {field_name!r} is not a numeric field of "
                             f"{measurement} ({', '.join(spec.fields) or 'none'})")
    given = {k: v for k, v in filters.items() if v is not None and v != ""}
    for tag, value in given.items():
        if tag not in spec.tags:
            raise BadSeriesQuery(tag, f"{measurement} has no tag {tag!r} (tags: "
                                 f"{', '.join(spec.tags)})")
        if not _TAG_VALUE.match(value):
            raise BadSeriesQuery(tag, f"{tag}: 1 to 200 characters, no control characters")
    start = _parse_time(since or "1h", "since", now)
    stop = _parse_time(until, "until", now) if until else now
    if start >= stop:
        raise BadSeriesQuery("since", "since must be before until")
    if stop - start > MAX_SPAN:
        raise BadSeriesQuery("since", f"at most {MAX_SPAN.days} days at once")
    span_s = (stop - start).total_seconds()
    every_s = parse_duration(every, "every") if every else auto_every(span_s)
    if every_s < 1 or span_s / every_s > MAX_POINTS:
        raise BadSeriesQuery("every", f"every: at most {MAX_POINTS} points per series; use "
                             f"every ≥ {math.ceil(span_s / MAX_POINTS)}s for this range")
    return SeriesQuery(measurement, field_name, given, start, stop, every_s, spec.group_by)


# --- Flux (InfluxDB 2.x) --------------------------------------------------------------------


def flux_string(value: str) -> str:
    """A Flux string literal (backslash, quote and interpolation escaped)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("${", "\\${") + '"'


def _rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def flux_query(q: SeriesQuery, bucket: str) -> str:
    """The Flux text of ``q``: mean per ``every_s`` window, one table per ``group_by`` tags."""
    conds = [f"r._measurement == {flux_string(q.measurement)}", f"r._field == {flux_string(q.field)}"]
    conds += [f"r[{flux_string(tag)}] == {flux_string(value)}" for tag, value in sorted(q.filters.items())]
    group = ", ".join(flux_string(t) for t in q.group_by)
    return "\n".join([
        f"from(bucket: {flux_string(bucket)})",
        f"  |> range(start: {_rfc3339(q.start)}, stop: {_rfc3339(q.stop)})",
        f"  |> filter(fn: (r) => {' and '.join(conds)})",
        "  |> toFloat()",
        f"  |> group(columns: [{group}])",
        f"  |> aggregateWindow(every: {q.every_s}s, fn: mean, createEmpty: false)",
        f'  |> keep(columns: ["_time", "_value", {group}])',
    ])


class FluxReader:
    """Flux over influxdb-client's query API (``settings.url/org/token/bucket``)."""

    name = "flux"

    def __init__(self, settings: InfluxSettings, timeout_s: float = 10.0) -> None:
        from influxdb_client import InfluxDBClient

        self._settings = settings
        self._client = InfluxDBClient(url=settings.url or "", token=settings.token or "",
                                      org=settings.org, timeout=int(timeout_s * 1000))

    def read(self, query: SeriesQuery) -> list[Series]:
        try:
            tables = self._client.query_api().query(flux_query(query, self._settings.bucket),
                                                    org=self._settings.org)
        except Exception as exc:  # urllib3/ApiException: the server, not the request
            raise SeriesUnavailable(f"InfluxDB query failed: {exc}") from exc
        out: dict[tuple[str, ...], Series] = {}
        for table in tables:
            for rec in table.records:
                tags = {t: str(rec.values.get(t) or "") for t in query.group_by}
                key = tuple(tags.values())
                value = rec.get_value()
                if value is None:
                    continue
                series = out.setdefault(key, Series(tags))
                series.points.append((int(rec.get_time().timestamp() * 1000), float(value)))
        return list(out.values())


# --- VictoriaMetrics (PromQL) ---------------------------------------------------------------


def promql_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def promql_query(q: SeriesQuery) -> str:
    """``avg by (group tags) (avg_over_time(<measurement>_<field>{filters}[every]))``."""
    labels = ",".join(f"{tag}={promql_string(value)}" for tag, value in sorted(q.filters.items()))
    selector = f"{q.measurement}_{q.field}{{{labels}}}"
    return f"avg by ({', '.join(q.group_by)}) (avg_over_time({selector}[{q.every_s}s]))"


class VictoriaMetricsReader:
    """VictoriaMetrics' ``/api/v1/query_range`` (the bearer token is sent when configured)."""

    name = "victoriametrics"

    def __init__(self, settings: InfluxSettings, timeout_s: float = 10.0) -> None:
        self._url = (settings.url or "").rstrip("/")
        self._timeout = timeout_s
        self._http = requests.Session()
        if settings.token:
            self._http.headers["Authorization"] = f"Bearer {settings.token}"

    def read(self, query: SeriesQuery) -> list[Series]:
        params = {"query": promql_query(query), "start": f"{query.start.timestamp():.3f}",
                  "end": f"{query.stop.timestamp():.3f}", "step": f"{query.every_s}s"}
        try:
            resp = self._http.get(f"{self._url}/api/v1/query_range", params=params,
                                  timeout=self._timeout)
            resp.raise_for_status()
            body: Any = resp.json()
        except (requests.RequestException, ValueError) as exc:
            raise SeriesUnavailable(f"VictoriaMetrics query failed: {exc}") from exc
        if body.get("status") != "success":
            raise SeriesUnavailable(f"VictoriaMetrics answered {body.get('error', body)!r}")
        out = []
        for item in body.get("data", {}).get("result", []):
            metric = item.get("metric", {})
            tags = {t: str(metric.get(t, "")) for t in query.group_by}
            points = [(int(float(ts) * 1000), float(v)) for ts, v in item.get("values", [])
                      if v not in ("NaN", "+Inf", "-Inf")]
            out.append(Series(tags, points))
        return out


def make_reader(settings: InfluxSettings, language: str) -> SeriesReader | None:
    """The reader for ``language`` (``flux`` | ``victoriametrics``); None without a URL."""
    if not settings.url:
        return None
    if language == "victoriametrics":
        return VictoriaMetricsReader(settings)
    return FluxReader(settings)
