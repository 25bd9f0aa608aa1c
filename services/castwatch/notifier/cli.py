"""Run the notifier: turn alert events into Telegram and email messages by rules.

Plans deliveries from alert events (the outbox), escalates unacknowledged alerts, repeats
reminders, sends with retries and rate limits, and handles Telegram button presses
(Acknowledge / Resolve / Snooze 1h) by long-polling getUpdates. Wakes on PostgreSQL
LISTEN/NOTIFY and also polls. Serves Prometheus /metrics on NOTIFY_METRICS_BIND. Without
TELEGRAM_BOT_TOKEN and SMTP_HOST it still runs and marks deliveries failed with
"transport not configured".
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from prometheus_client import CollectorRegistry

from castwatch.common.bus import Listener, channel_for
from castwatch.common.db import make_engine, make_session_factory
from castwatch.common.logging import configure_logging
from castwatch.common.metrics import serve_metrics
from castwatch.common.runtime import database_url_or_embedded, run_until_signalled
from castwatch.notifier.dispatcher import Dispatcher
from castwatch.notifier.metrics import NotifyMetrics
from castwatch.notifier.transports import build_transports
from castwatch.settings import Settings

logger = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--worker-id", help="name of this replica in deliveries.claimed_by")
    parser.add_argument("--no-callbacks", action="store_true",
                        help="do not poll Telegram for button presses (another replica does)")


async def serve(url: str, settings: Settings, worker_id: str | None, callbacks: bool,
                stop: asyncio.Event) -> None:
    """Run dispatcher, bus listener and Telegram callback poller until ``stop`` is set."""
    ns = settings.notify
    engine = make_engine(url, pool_size=4, application_name="castwatch-notify")
    factory = make_session_factory(engine)
    registry = CollectorRegistry()
    metrics = NotifyMetrics(registry)
    serve_metrics(registry, ns.metrics_bind)
    transports = build_transports(ns)
    if not transports:
        logger.warning("no transport is configured: deliveries will fail "
                       "with 'transport not configured'")
    dispatcher = Dispatcher(factory, ns, transports, metrics, worker_id=worker_id)

    def on_notify(_channel: str, payload: dict) -> None:
        if payload.get("table") == "alert_events" or payload.get("op") == "INSERT":
            dispatcher.wake()

    listener = Listener(url, [channel_for("alert_events"), channel_for("deliveries")], on_notify,
                        on_reconnect=dispatcher.wake).start()
    tasks = [asyncio.create_task(dispatcher.run(stop))]
    for transport in transports.values():  # e.g. Telegram's poll for button presses
        tasks.extend(asyncio.create_task(work) for work in transport.background(
            factory=factory, renderer=dispatcher.renderer, stop=stop, settings=ns,
            callbacks=callbacks, on_press=metrics.callbacks.inc))
    logger.info("notifier running worker=%s transports=%s", dispatcher.store.worker_id,
                ",".join(transports) or "none")
    try:
        await stop.wait()
    finally:
        for task in tasks[1:]:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        listener.stop()
        engine.dispose()


def run(args: argparse.Namespace, settings: Settings) -> int:
    configure_logging(settings.log_format, settings.log_level, "notify")
    url, embedded = database_url_or_embedded(settings)

    try:
        run_until_signalled(lambda stop: serve(url, settings, args.worker_id, not args.no_callbacks,
                                               stop))
    finally:
        if embedded is not None:
            embedded.stop()
    return 0
