"""The ops console: one server-rendered HTML shell at ``/`` plus its static assets at ``/ui/``.

The console is a set of small ES modules (``cms_api/web/static/js``) that talk to the REST API
under ``/api/v1`` with the API key the operator signs in with, and to the Socket.IO namespace
``/live`` for updates. Nothing is built at run time and nothing loads from the internet: Chart.js
and the Socket.IO client are vendored under ``static/vendor`` (versions in ``docs/web.md``).

Contract:
- ``GET /`` (and ``/console``) returns the HTML shell with a strict Content-Security-Policy
  (scripts, styles, connections only from this origin);
- ``GET /ui/<path>`` serves the static files, revalidated by ETag on every load (no stale UI
  after an upgrade);
- the routes need no API key: the shell holds no data; every datum comes from the API, which
  checks the key on each request.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Response, render_template, url_for

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
STATIC_DIR = WEB_DIR / "static"

API_BASE = "/api/v1"
LIVE_NAMESPACE = "/live"
SOCKET_PATH = "/socket.io"

#: Everything from this origin only; ``'self'`` covers same-origin ws:/wss: in current browsers.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",  # blob: the channels' thumbnails (fetched with the key)
        "connect-src 'self' ws: wss:",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

bp = Blueprint(
    "web",
    __name__,
    template_folder=str(WEB_DIR / "templates"),
    static_folder=str(STATIC_DIR),
    static_url_path="/ui",
)


@lru_cache(maxsize=256)
def _fingerprint(filename: str, mtime_ns: int) -> str:
    """A short content hash of a static file (cached per modification time)."""
    digest = hashlib.sha256((STATIC_DIR / filename).read_bytes()).hexdigest()
    return digest[:10]


def asset(filename: str) -> str:
    """The URL of a static file with a content fingerprint, so browsers never run a stale copy."""
    path = STATIC_DIR / filename
    try:
        version = _fingerprint(filename, path.stat().st_mtime_ns)
    except OSError:
        version = "missing"
    return url_for("web.static", filename=filename, v=version)


@bp.get("/")
@bp.get("/console")
def console() -> Response:
    """The console shell; the page's scripts do the rest."""
    html = render_template(
        "web/console.html",
        asset=asset,
        api_base=API_BASE,
        live_namespace=LIVE_NAMESPACE,
        socket_path=SOCKET_PATH,
    )
    resp = Response(html, mimetype="text/html")
    resp.headers["Cache-Control"] = "no-cache"
    return resp


@bp.after_request
def _security_headers(resp: Response) -> Response:
    """Hardening for the console's own responses (the API's JSON responses are not touched)."""
    resp.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("Referrer-Policy", "no-referrer")
    resp.headers.setdefault("X-Frame-Options", "DENY")
    return resp
