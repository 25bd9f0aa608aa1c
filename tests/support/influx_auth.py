"""A stand-in for InfluxDB OSS v2's token API, on loopback, for the Grafana read-token job.

No InfluxDB 2 runs on this machine (Debian packages only 1.x; no image registry), so this
renders the part of the public v2 API reference (docs.influxdata.com, "Authorizations (API
tokens)", "Buckets", "Organizations") that :mod:`castwatch.common.influx_tokens` uses, with the
reference's field names (``orgID``, ``createdAt``, …) and status codes: GET/POST
``/api/v2/authorizations``, DELETE ``/api/v2/authorizations/{id}``, GET ``/api/v2/buckets``,
GET ``/api/v2/orgs``. Requests need ``Authorization: Token <admin token>``; others get the
reference's 401 body. Like OSS (not Cloud), listing returns token values.

Tests reach into :attr:`InfluxAuthApi.authorizations` to tamper with a grant as an admin would.
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

ORG_ID = "0a1b2c3d4e5f6071"
BUCKET_ID = "91f2e3d4c5b6a708"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class InfluxAuthApi:
    """Serve the stand-in in a thread; ``url`` is its base URL."""

    def __init__(self, *, admin_token: str, org: str = "castwatch", bucket: str = "castwatch") -> None:
        self.admin_token = admin_token
        self.org = {"id": ORG_ID, "name": org, "createdAt": _now(), "updatedAt": _now(), "links": {}}
        self.buckets = [{"id": BUCKET_ID, "orgID": ORG_ID, "name": bucket, "type": "user",
                         "retentionRules": [{"type": "expire", "everySeconds": 2592000}],
                         "createdAt": _now(), "updatedAt": _now(), "links": {}, "labels": []}]
        self.authorizations: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []
        self._ids = (f"{n:016x}" for n in itertools.count(0x0b00000000000001))
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _reply(self, status: int, body: object | None = None) -> None:
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                if body is not None:
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method: str) -> None:
                parts = urlsplit(self.path)
                api.requests.append((method, parts.path))
                if self.headers.get("Authorization") != f"Token {api.admin_token}":
                    self._reply(401, {"code": "unauthorized", "message": "unauthorized access"})
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null") if length else None
                status, reply = api.route(method, parts.path, parse_qs(parts.query), body)
                self._reply(status, reply)

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def do_DELETE(self) -> None:
                self._handle("DELETE")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> InfluxAuthApi:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def route(self, method: str, path: str, query: dict[str, list[str]],
              body: Any) -> tuple[int, object | None]:
        one = {k: v[0] for k, v in query.items()}
        if method == "GET" and path == "/api/v2/orgs":
            orgs = [self.org] if one.get("org") in (None, self.org["name"]) else []
            return 200, {"links": {"self": "/api/v2/orgs"}, "orgs": orgs}
        if method == "GET" and path == "/api/v2/buckets":
            found = [b for b in self.buckets if one.get("name") in (None, b["name"])]
            return 200, {"links": {"self": "/api/v2/buckets"}, "buckets": found}
        if method == "GET" and path == "/api/v2/authorizations":
            found = [a for a in self.authorizations.values()
                     if one.get("orgID") in (None, a["orgID"])]
            return 200, {"links": {"self": "/api/v2/authorizations"}, "authorizations": found}
        if method == "POST" and path == "/api/v2/authorizations":
            return self._create(body)
        if method == "DELETE" and path.startswith("/api/v2/authorizations/"):
            if self.authorizations.pop(path.rsplit("/", 1)[1], None) is None:
                return 404, {"code": "not found", "message": "authorization not found"}
            return 204, None
        return 404, {"code": "not found", "message": "path not found"}

    def _create(self, body: Any) -> tuple[int, object]:
        if not isinstance(body, dict) or body.get("orgID") != ORG_ID or not body.get("permissions"):
            return 400, {"code": "invalid", "message": "orgID and permissions are required"}
        for permission in body["permissions"]:
            resource = permission.get("resource") or {}
            if permission.get("action") not in ("read", "write") or not resource.get("type"):
                return 400, {"code": "invalid", "message": "invalid permission"}
            if resource.get("type") == "buckets" and resource.get("id") not in (None, BUCKET_ID):
                return 400, {"code": "invalid", "message": "bucket not found"}
        auth_id = next(self._ids)
        auth = {"id": auth_id, "token": secrets.token_urlsafe(64), "status": body.get("status", "active"),
                "description": body.get("description", ""), "orgID": ORG_ID, "org": self.org["name"],
                "userID": "0c00000000000001", "user": "admin", "createdAt": _now(), "updatedAt": _now(),
                "permissions": [{"action": p["action"], "resource": {
                    **p["resource"], "orgID": ORG_ID, "org": self.org["name"]}} for p in body["permissions"]],
                "links": {"self": f"/api/v2/authorizations/{auth_id}",
                          "user": "/api/v2/users/0c00000000000001"}}
        self.authorizations[auth_id] = auth
        return 201, auth
