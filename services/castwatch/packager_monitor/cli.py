"""Run the packager monitor: poll the live HLS playlists and DASH MPDs of the channels this
replica leases, validate them against RFC 8216 and the channel's template, time segments, and
raise/resolve alerts in PostgreSQL. Settings come from PROBE_* variables (docs/probe.md)."""

from __future__ import annotations

import argparse
import logging

from prometheus_client import CollectorRegistry

from castwatch.common.db import make_engine, make_session_factory
from castwatch.common.influx import InfluxSink
from castwatch.common.logging import configure_logging
from castwatch.common.metrics import serve_metrics
from castwatch.common.runtime import run_until_signalled
from castwatch.packager_monitor.service import LeaseSource, ProbeService, tune_gc
from castwatch.packager_monitor.store import DbWriter
from castwatch.settings import Settings

logger = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", help="replica name (overrides PROBE_NAME)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    configure_logging(settings.log_format, settings.log_level, "probe")
    probe = settings.probe
    if args.name:
        from dataclasses import replace

        probe = replace(probe, name=args.name)
    url = settings.require_database_url()
    engine = make_engine(url, pool_size=3, application_name=f"castwatch-probe:{probe.name}")
    factory = make_session_factory(engine)
    registry = CollectorRegistry()
    metrics_server = serve_metrics(registry, probe.metrics_bind)
    sink = InfluxSink(settings.influx, registry)
    writer = DbWriter(factory, actor=f"probe:{probe.name}")
    writer.start()
    service = ProbeService(probe, registry, LeaseSource(factory, probe), writer.put, sink)
    writer.queue_gauge = service.metrics.db_queue
    logger.info("probe %s starting (lease TTL %.1f s)", probe.name, probe.lease_ttl_s)
    tune_gc()

    try:
        run_until_signalled(service.run)
    finally:
        writer.close()
        sink.close()
        if metrics_server is not None:
            metrics_server.shutdown()
        engine.dispose()
        logger.info("probe %s stopped", probe.name)
    return 0
