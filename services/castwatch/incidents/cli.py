"""Run the incident correlator and the schedule monitor.

Groups alerts that share a cause into incidents (root cause, symptoms, impact, known-issue
remediation), links symptoms to their root-cause alert so the notifier sends one message
thread per incident, imports channel schedules (Cablecast, iCal, meeting pages and PDF
agendas), suppresses alerts in planned off-air times and raises SCHEDULED_EVENT_NOT_LIVE
before a scheduled live event whose encoder is not streaming. Wakes on PostgreSQL
LISTEN/NOTIFY and also polls. Serves Prometheus /metrics on INCIDENTS_METRICS_BIND.
"""

from __future__ import annotations

import argparse
import logging
import signal
from types import FrameType

from prometheus_client import CollectorRegistry

from castwatch.common.config import Settings, env_bind
from castwatch.common.db import make_engine, make_session_factory
from castwatch.common.logging import configure_logging
from castwatch.common.metrics import serve_metrics
from castwatch.common.migrate_cli import database_url_or_embedded
from castwatch.incidents.correlator import Correlator, IncidentMetrics, Service
from castwatch.incidents.known_issues import load_library
from castwatch.incidents.settings import IncidentSettings
from castwatch.schedules.service import ScheduleService

logger = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--poll-interval", type=float, help="seconds between rounds without NOTIFY")
    parser.add_argument("--window", type=float, help="correlation window in seconds")
    parser.add_argument("--lead-minutes", type=float,
                        help="raise SCHEDULED_EVENT_NOT_LIVE this many minutes before start")
    parser.add_argument("--metrics-bind", help="host:port of /metrics (default INCIDENTS_METRICS_BIND)")
    parser.add_argument("--no-schedules", action="store_true", help="correlate only")


def effective(settings: Settings, args: argparse.Namespace) -> IncidentSettings:
    """The area settings (``settings.incidents`` once wired, else defaults) with CLI overrides."""
    base = getattr(settings, "incidents", None) or IncidentSettings()
    return IncidentSettings(
        poll_interval_s=args.poll_interval or base.poll_interval_s, window_s=args.window or base.window_s,
        settle_s=base.settle_s, history_s=base.history_s, library_path=base.library_path,
        schedule_import_interval_s=base.schedule_import_interval_s,
        not_live_lead_min=args.lead_minutes or base.not_live_lead_min, horizon_days=base.horizon_days,
        metrics_bind=env_bind({"BIND": args.metrics_bind}, "BIND", "") if args.metrics_bind
        else base.metrics_bind,
        schedule_max_bytes=base.schedule_max_bytes,
        schedule_fetch_timeout_s=base.schedule_fetch_timeout_s, egress=base.egress,
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    configure_logging(settings.log_format, settings.log_level, "incidents")
    inc = effective(settings, args)
    library = load_library(inc.library_path)
    url, embedded = database_url_or_embedded(settings)
    engine = make_engine(url, pool_size=3, application_name="castwatch-incidents")
    factory = make_session_factory(engine)
    registry = CollectorRegistry()
    metrics = IncidentMetrics(registry)
    server = serve_metrics(registry, inc.metrics_bind)
    ticks = []
    if not args.no_schedules:
        schedules = ScheduleService(factory, inc)
        if schedules.ensure_rule():
            logger.info("created the notification rule for scheduled events (cablecasters first)")
        ticks = [("schedule_import", schedules.import_due), ("schedule_check", schedules.check)]
    service = Service(Correlator(factory, library, window_s=inc.window_s, history_s=inc.history_s),
                      url, metrics, poll_s=inc.poll_interval_s, settle_s=inc.settle_s, ticks=ticks)

    def stop(_sig: int, _frame: FrameType | None) -> None:
        service.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    logger.info("incident correlator running known_issues=%d window_s=%s", len(library), inc.window_s)
    try:
        service.run()
    finally:
        if server is not None:
            server.shutdown()
        engine.dispose()
        if embedded is not None:
            embedded.stop()
    return 0
