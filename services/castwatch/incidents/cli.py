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
from dataclasses import replace
from types import FrameType

from castwatch.common.env import env_bind
from castwatch.common.runtime import process_runtime
from castwatch.incidents.correlator import Correlator, IncidentMetrics, Service
from castwatch.incidents.known_issues import load_library
from castwatch.incidents.settings import IncidentSettings
from castwatch.schedules.service import ScheduleService
from castwatch.schedules.settings import ScheduleSettings
from castwatch.settings import Settings

logger = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--poll-interval", type=float, help="seconds between rounds without NOTIFY")
    parser.add_argument("--window", type=float, help="correlation window in seconds")
    parser.add_argument("--lead-minutes", type=float,
                        help="raise SCHEDULED_EVENT_NOT_LIVE this many minutes before start")
    parser.add_argument("--metrics-bind", help="host:port of /metrics (default INCIDENTS_METRICS_BIND)")
    parser.add_argument("--no-schedules", action="store_true", help="correlate only")


def effective(settings: Settings, args: argparse.Namespace) -> IncidentSettings:
    """``settings.incidents`` with the command-line overrides."""
    base = settings.incidents
    return replace(
        base, poll_interval_s=args.poll_interval or base.poll_interval_s,
        window_s=args.window or base.window_s,
        metrics_bind=env_bind({"BIND": args.metrics_bind}, "BIND", "") if args.metrics_bind
        else base.metrics_bind,
    )


def effective_schedules(settings: Settings, args: argparse.Namespace) -> ScheduleSettings:
    """``settings.schedules`` with the command-line overrides."""
    base = settings.schedules
    return replace(base, not_live_lead_min=args.lead_minutes or base.not_live_lead_min)


def run(args: argparse.Namespace, settings: Settings) -> int:
    inc = effective(settings, args)
    with process_runtime(settings, "incidents", application_name="castwatch-incidents",
                         pool_size=3, metrics_bind=inc.metrics_bind) as rt:
        library = load_library(inc.library_path)
        factory = rt.session_factory
        metrics = IncidentMetrics(rt.registry)
        ticks = []
        if not args.no_schedules:
            schedules = ScheduleService(factory, effective_schedules(settings, args))
            if schedules.ensure_rule():
                logger.info("created the notification rule for scheduled events (cablecasters first)")
            ticks = [("schedule_import", schedules.import_due), ("schedule_check", schedules.check)]
        service = Service(Correlator(factory, library, window_s=inc.window_s, history_s=inc.history_s),
                          rt.url, metrics, poll_s=inc.poll_interval_s, settle_s=inc.settle_s,
                          ticks=ticks)

        def stop(_sig: int, _frame: FrameType | None) -> None:
            service.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        logger.info("incident correlator running known_issues=%d window_s=%s", len(library),
                    inc.window_s)
        service.run()
    return 0
