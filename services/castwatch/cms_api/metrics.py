"""Prometheus metrics of the API process, with bounded labels (the URL rule, never the URL).

Each gunicorn worker has its own registry; with several workers a scrape sees one worker.
"""

from __future__ import annotations

import time

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)


class ApiMetrics:
    """The API's collectors, registered on ``registry``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.requests = Counter("castwatch_api_requests_total", "HTTP requests answered",
                                ["method", "route", "status"], registry=registry)
        self.latency = Histogram("castwatch_api_request_seconds", "HTTP request duration",
                                 ["method", "route"], registry=registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
        self.live_clients = Gauge("castwatch_api_live_clients", "connected Socket.IO clients",
                                  registry=registry)
        self.live_events = Counter("castwatch_api_live_events_total",
                                   "events pushed to Socket.IO clients", ["event"], registry=registry)

    def install(self, app: Flask) -> None:
        """Time every request and count it by method, route rule and status."""

        @app.before_request
        def _start() -> None:
            g._cw_started = time.perf_counter()

        @app.after_request
        def _record(response: Response) -> Response:
            started = g.get("_cw_started")
            if started is not None:
                rule = request.url_rule.rule if request.url_rule is not None else "unmatched"
                if rule.startswith("/socket.io"):
                    return response
                method = request.method if request.method in _METHODS else "OTHER"
                self.latency.labels(method, rule).observe(time.perf_counter() - started)
                self.requests.labels(method, rule, str(response.status_code)).inc()
            return response

    def exposition(self) -> Response:
        return Response(generate_latest(self.registry), mimetype=CONTENT_TYPE_LATEST)


_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"})
