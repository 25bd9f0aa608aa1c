"""Prometheus exposition for processes that are not the API (which serves /metrics itself)."""

from __future__ import annotations

import logging
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server

logger = logging.getLogger(__name__)


def serve_metrics(registry: CollectorRegistry, bind: tuple[str, int]) -> WSGIServer | None:
    """Serve ``/metrics`` of ``registry`` on ``bind`` in a daemon thread; port 0 = disabled."""
    host, port = bind
    if port == 0:
        return None
    server, _thread = start_http_server(port, addr=host, registry=registry)
    logger.info("metrics on http://%s:%d/metrics", host, server.server_port)
    return server
