"""Run the encoder manager: poll every enabled encoder through its device driver, raise and
clear encoder alerts, fail over to backups, carry out control commands. Serves /metrics on
ENCODERS_METRICS_BIND; writes `encoder_metric` points to InfluxDB when INFLUXDB_URL is set."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from prometheus_client import CollectorRegistry

from castwatch.common.config import Settings
from castwatch.common.db import make_engine, make_session_factory
from castwatch.common.influx import InfluxSink
from castwatch.common.logging import configure_logging
from castwatch.common.metrics import serve_metrics
from castwatch.common.migrate_cli import database_url_or_embedded
from castwatch.common.sealing import Sealer
from castwatch.encoder_manager.manager import EncoderManager
from castwatch.encoder_manager.metrics import EncoderMetrics

logger = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run-for", type=float, default=None, metavar="SECONDS",
                        help="stop after this many seconds (for smoke tests); default: until signalled")


def run(args: argparse.Namespace, settings: Settings) -> int:
    configure_logging(settings.log_format, settings.log_level, "encoders")
    url, embedded = database_url_or_embedded(settings)
    app_name = f"castwatch-{settings.encoders.replica_name}"[:63]
    engine = make_engine(url, pool_size=4, application_name=app_name)
    registry = CollectorRegistry()
    metrics = EncoderMetrics(registry)
    influx = InfluxSink(settings.influx, registry)
    server = serve_metrics(registry, settings.encoders.metrics_bind)
    try:
        sealer = Sealer(settings.secret_key) if settings.secret_key else None  # stream keys
        manager = EncoderManager(settings.encoders, make_session_factory(engine), url, metrics, influx,
                                 sealer=sealer)
        asyncio.run(_main(manager, args.run_for))
    finally:
        influx.close()
        if server is not None:
            server.shutdown()
        engine.dispose()
        if embedded is not None:
            embedded.stop()
    return 0


async def _main(manager: EncoderManager, run_for: float | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if run_for is not None:
        loop.call_later(run_for, stop.set)
    logger.info("encoder manager %s starting", manager.cfg.replica_name)
    await manager.run(stop)
    logger.info("encoder manager stopped")
