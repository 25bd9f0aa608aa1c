"""The API's own documents: ``/api/v1/openapi.json``, the explorer at ``/api/v1/docs``, the
vocabulary at ``/api/v1/meta``, and Prometheus ``/metrics``."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from flask import Blueprint, Response, current_app, json

from castwatch.cms_api.registry import api_route
from castwatch.cms_api.schemas.meta import MetaOut
from castwatch.common import vocab

bp = Blueprint("meta", __name__)


@api_route(bp, "/api/v1/openapi.json", scope=None, response=dict[str, Any], tag="meta")
def openapi_document() -> Response:
    """This API's OpenAPI 3.1 document."""
    from castwatch.cms_api.openapi import build_openapi

    spec = current_app.extensions.get("castwatch_openapi")
    if spec is None:
        spec = json.dumps(build_openapi(current_app))
        current_app.extensions["castwatch_openapi"] = spec
    return Response(spec, mimetype="application/json")


@api_route(bp, "/api/v1/meta", scope=None, response=MetaOut, tag="meta")
def meta() -> MetaOut:
    """The vocabulary: severities with their rank, alert types with source, severity and
    description, driver kinds, transports, simulator kinds and recipient roles."""
    return MetaOut.model_validate(vocab.meta())


@cache
def _explorer_html() -> str:
    return resources.files("castwatch.cms_api").joinpath("explorer.html").read_text()


@bp.get("/api/v1/docs")
def explorer() -> Response:
    """A self-contained page listing every operation with a form to try it (no CDN)."""
    return Response(_explorer_html(), mimetype="text/html")


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus exposition of this worker's metrics."""
    return current_app.extensions["castwatch_metrics"].exposition()
