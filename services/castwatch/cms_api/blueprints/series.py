"""``GET /api/v1/series``: chartable history from InfluxDB (or VictoriaMetrics), for the console.

The API writes nothing to InfluxDB; it reads what the probe and the encoder manager write,
through :mod:`castwatch.cms_api.series`. Without ``INFLUXDB_URL`` the answer is 503
``influx_not_configured`` (the console then draws only the points it received live).
"""

from __future__ import annotations

import threading
from datetime import datetime

from flask import Blueprint, current_app
from pydantic import BaseModel, Field

from castwatch.cms_api.context import api_context
from castwatch.cms_api.errors import ApiError
from castwatch.cms_api.registry import api_route
from castwatch.cms_api.schemas.base import QueryModel
from castwatch.cms_api.series import (
    MAX_SERIES,
    BadSeriesQuery,
    SeriesReader,
    SeriesUnavailable,
    make_reader,
    plan,
)

bp = Blueprint("series", __name__)
_lock = threading.Lock()


class SeriesParams(QueryModel):
    measurement: str = Field(description="segment_metric, playlist_validation, abr_ladder or encoder_metric")
    field: str = Field(description="a numeric field of the measurement (docs/influx-schema.md)")
    channel: str | None = Field(None, description="channel code (probe measurements)")
    rendition: str | None = Field(None, description="rendition name (probe measurements)")
    probe: str | None = Field(None, description="probe name (probe measurements)")
    encoder: str | None = Field(None, description="encoder name (encoder_metric)")
    group: str | None = Field(None, description="encoder group name (encoder_metric)")
    since: str | None = Field(None, description="ISO 8601 time or a duration back from now (default 1h)")
    until: str | None = Field(None, description="ISO 8601 time (default now)")
    every: str | None = Field(None, description="bucket: 30s, 5m, 1h… (default: about 240 points)")


class SeriesOut(BaseModel):
    tags: dict[str, str]
    points: list[tuple[int, float]] = Field(description="[epoch milliseconds, mean value] pairs")


class SeriesAnswer(BaseModel):
    measurement: str
    field: str
    source: str = Field(description="flux or victoriametrics")
    start: datetime
    stop: datetime
    every_s: int
    series: list[SeriesOut]
    truncated: bool = Field(description=f"more than {MAX_SERIES} series matched; the rest are left out")


def _reader() -> SeriesReader | None:
    """The app's reader, made once per worker (None when InfluxDB is not configured)."""
    app = current_app
    with _lock:
        if "castwatch_series" not in app.extensions:
            settings = api_context().settings
            app.extensions["castwatch_series"] = make_reader(
                settings.influx, settings.api.influx_query_language)
    reader: SeriesReader | None = app.extensions["castwatch_series"]
    return reader


@api_route(bp, "/api/v1/series", query=SeriesParams, response=SeriesAnswer, errors=(503,),
           tag="series")
def read_series(query: SeriesParams) -> SeriesAnswer:
    """Mean of one field per time bucket, one series per channel/rendition or per encoder.

    Only measurements and numeric fields of the writers' schema are accepted (400 naming the
    parameter otherwise); tag filters must be tags of the measurement. 503 when InfluxDB is not
    configured (``influx_not_configured``) or does not answer (``influx_unavailable``).
    """
    try:
        q = plan(query.measurement, query.field,
                 {"channel": query.channel, "rendition": query.rendition, "probe": query.probe,
                  "encoder": query.encoder, "group": query.group},
                 query.since, query.until, query.every)
    except BadSeriesQuery as exc:
        raise ApiError(400, "invalid_value", str(exc), exc.param) from None
    reader = _reader()
    if reader is None:
        raise ApiError(503, "influx_not_configured",
                       "InfluxDB is not configured (INFLUXDB_URL is not set)")
    try:
        found = reader.read(q)
    except SeriesUnavailable as exc:
        raise ApiError(503, "influx_unavailable", str(exc), headers={"Retry-After": "10"}) from None
    found.sort(key=lambda s: tuple(s.tags.values()))
    return SeriesAnswer(measurement=q.measurement, field=q.field, source=reader.name, start=q.start,
                        stop=q.stop, every_s=q.every_s, truncated=len(found) > MAX_SERIES,
                        series=[SeriesOut(tags=s.tags, points=s.points) for s in found[:MAX_SERIES]])
