"""The OpenAPI document, the explorer page and Prometheus /metrics."""

from __future__ import annotations

from flask import Blueprint, Flask

from castwatch.cms_api import create_app
from castwatch.cms_api.registry import api_route
from castwatch.cms_api.schemas.base import Model

from .support import api_settings

SEED_PATHS = [
    ("/api/v1/channels", "get"), ("/api/v1/channels", "post"),
    ("/api/v1/channels/{channel_id}", "get"), ("/api/v1/channels/{channel_id}", "put"),
    ("/api/v1/channels/{channel_id}", "delete"), ("/api/v1/templates", "get"),
    ("/api/v1/templates", "post"), ("/api/v1/templates/{template_id}", "get"),
    ("/api/v1/templates/{template_id}", "put"), ("/api/v1/alerts/active", "get"),
    ("/api/v1/alerts", "get"), ("/api/v1/alerts/{alert_id}/acknowledge", "post"),
    ("/api/v1/alerts/{alert_id}/resolve", "post"), ("/api/v1/probes", "get"),
    ("/api/v1/health", "get"), ("/api/v1/encoders", "get"), ("/api/v1/encoders", "post"),
    ("/api/v1/encoders/{encoder_id}", "get"), ("/api/v1/encoders/{encoder_id}", "put"),
    ("/api/v1/encoders/{encoder_id}", "delete"), ("/encoders/{encoder_id}/control", "post"),
    ("/encoders/{encoder_id}/metrics", "get"), ("/health/encoder/{encoder_id}", "get"),
    ("/health/detailed", "get"), ("/api/monitoring/status", "get"),
    ("/api/monitoring/alerts", "get"), ("/api/v1/encoder-groups", "post"),
    ("/api/v1/recipients", "post"), ("/api/v1/notification-rules/{item_id}", "put"),
    ("/api/v1/maintenance-windows/{item_id}", "delete"),
]


def test_the_document_describes_every_seed_endpoint(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path, method in SEED_PATHS:
        assert method in spec["paths"].get(path, {}), (path, method)
    create = spec["paths"]["/api/v1/channels"]["post"]
    assert create["x-scope"] == "write"
    body = create["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/ChannelCreate"}
    schema = spec["components"]["schemas"]["ChannelCreate"]
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"channel_code", "channel_name", "input_url"}
    assert {"201", "400", "401", "403", "409", "429"} <= set(create["responses"])
    params = {p["name"] for p in spec["paths"]["/api/v1/channels"]["get"]["parameters"]}
    assert {"tier", "enabled", "protocol", "q", "limit", "offset"} <= params
    assert spec["paths"]["/api/v1/health"]["get"]["security"] == []
    ids = [op["operationId"] for item in spec["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))


def test_routes_of_other_blueprints_are_documented_through_api_route(session_factory):
    bp = Blueprint("extra", __name__)

    class Ping(Model):
        text: str

    @api_route(bp, "/api/v1/extra/ping", ["POST"], body=Ping, response=dict[str, str],
               scope="admin", tag="extra")
    def ping(body: Ping) -> dict[str, str]:
        """Echo a text."""
        return {"echo": body.text}

    app = create_app(api_settings(), session_factory=session_factory, start_listener=False)
    app.register_blueprint(bp)
    op = app.test_client().get("/api/v1/openapi.json").get_json()["paths"]["/api/v1/extra/ping"]
    assert (op["post"]["summary"], op["post"]["x-scope"]) == ("Echo a text.", "admin")
    assert app.test_client().post("/api/v1/extra/ping", json={"text": "x"}).status_code == 401


def test_the_explorer_page_is_self_contained(client):
    resp = client.get("/api/v1/docs")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "openapi.json" in html
    assert "http://" not in html and "https://cdn" not in html and "<script src" not in html


def test_unknown_api_paths_and_methods_answer_json(client, admin):
    resp = client.get("/api/v1/nothing-here", headers=admin)
    assert (resp.status_code, resp.get_json()["error"]["code"]) == (404, "not_found")
    resp = client.patch("/api/v1/channels", headers=admin)
    assert resp.status_code == 405 and "error" in resp.get_json()


def test_metrics_count_requests_by_route_rule_not_url(app: Flask, admin):
    client = app.test_client()
    client.get("/api/v1/channels/41", headers=admin)
    client.get("/api/v1/channels/42", headers=admin)
    text = client.get("/metrics").get_data(as_text=True)
    assert ('castwatch_api_requests_total{method="GET",route="/api/v1/channels/<int:channel_id>",'
            'status="404"} 2.0') in text
    assert "castwatch_api_request_seconds_bucket" in text
    assert "/api/v1/channels/41" not in text


def test_an_oversized_body_is_refused_before_parsing(client, admin):
    resp = client.post("/api/v1/channels", data=b"{" + b" " * (1 << 20) + b"}", headers=admin,
                       content_type="application/json")
    assert resp.status_code == 413
    assert resp.get_json()["error"]["code"] == "request_entity_too_large"


def test_the_explorer_has_the_consoles_csp_and_frame_protection(client):
    """Issue #11 §5: only the page's own inline script and style may run (by hash)."""
    import base64
    import hashlib
    import re

    from castwatch.cms_api.blueprints.web import CONTENT_SECURITY_POLICY

    resp = client.get("/api/v1/docs")
    csp = resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Frame-Options"] == "DENY" and "frame-ancestors 'none'" in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    html = resp.get_data(as_text=True)
    [script] = re.findall(r"<script>(.*?)</script>", html, flags=re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'self' 'sha256-{digest}'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and " style=" not in html
    strip = re.compile(r" 'sha256-[^']+'")
    assert strip.sub("", csp) == CONTENT_SECURITY_POLICY
    assert client.get("/").headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
