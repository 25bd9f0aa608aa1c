"""The API's own documents: ``/api/v1/openapi.json``, the explorer at ``/api/v1/docs``, the
vocabulary at ``/api/v1/meta``, and Prometheus ``/metrics``."""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache
from importlib import resources
from typing import Any

from flask import Blueprint, Response, current_app, json

from castwatch.cms_api.blueprints.web import CONTENT_SECURITY_POLICY
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


def _inline_hashes(html: str, tag: str) -> list[str]:
    """CSP source expressions (``'sha256-…'``) for each inline ``<tag>…</tag>`` block."""
    bodies = re.findall(rf"<{tag}>(.*?)</{tag}>", html, flags=re.DOTALL)
    return [f"'sha256-{base64.b64encode(hashlib.sha256(b.encode()).digest()).decode()}'"
            for b in bodies]


@cache
def explorer_csp() -> str:
    """The console's policy, with the explorer's own inline script and style allowed by hash
    (the page stays one self-contained file; nothing else inline can run)."""
    html = _explorer_html()
    policy = CONTENT_SECURITY_POLICY.replace(
        "script-src 'self'", " ".join(["script-src 'self'", *_inline_hashes(html, "script")]))
    return policy.replace(
        "style-src 'self'", " ".join(["style-src 'self'", *_inline_hashes(html, "style")]))


@bp.get("/api/v1/docs")
def explorer() -> Response:
    """A self-contained page listing every operation with a form to try it (no CDN).

    Served with the console's hardening headers (CSP, no framing, no sniffing, no referrer).
    """
    resp = Response(_explorer_html(), mimetype="text/html")
    resp.headers["Content-Security-Policy"] = explorer_csp()
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["X-Frame-Options"] = "DENY"
    return resp


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus exposition of this worker's metrics."""
    return current_app.extensions["castwatch_metrics"].exposition()
