"""Prometheus metrics of the notifier (names are a contract with the stack's alert rules)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class NotifyMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.deliveries = Counter(
            "castwatch_notify_deliveries_total", "Delivery outcomes (status: sent|failed|retried|skipped).",
            ["transport", "status"], registry=registry)
        self.queue_depth = Gauge(
            "castwatch_notify_queue_depth", "Deliveries pending or being sent.", registry=registry)
        self.send_seconds = Histogram(
            "castwatch_notify_send_seconds", "Time to hand one message to its provider.",
            ["transport"], registry=registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60))
        self.planned = Counter(
            "castwatch_notify_planned_total", "Delivery rows planned from alert events.",
            registry=registry)
        self.callbacks = Counter(
            "castwatch_notify_callbacks_total", "Telegram button presses handled.", registry=registry)
        self.claims_lost = Counter(
            "castwatch_notify_claims_lost_total",
            "Sends whose row another replica had reclaimed meanwhile (possible duplicates).",
            ["transport"], registry=registry)
        self.catchups = Counter(
            "castwatch_notify_catchup_total",
            "Catch-up summaries sent for events older than NOTIFY_PLAN_HORIZON_S.",
            registry=registry)
