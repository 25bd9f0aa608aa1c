"""Run the encoder manager: poll every enabled encoder through its device driver, raise and
clear encoder alerts, fail over to backups, carry out control commands. Serves /metrics on
ENCODERS_METRICS_BIND; writes `encoder_metric` points to InfluxDB when INFLUXDB_URL is set."""

from __future__ import annotations

import argparse
import asyncio
import logging

from castwatch.common.influx import InfluxSink
from castwatch.common.runtime import process_runtime, run_until_signalled
from castwatch.common.sealing import Sealer
from castwatch.encoder_manager.manager import EncoderManager
from castwatch.encoder_manager.metrics import EncoderMetrics
from castwatch.settings import Settings

logger = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run-for", type=float, default=None, metavar="SECONDS",
                        help="stop after this many seconds (for smoke tests); default: until signalled")


def run(args: argparse.Namespace, settings: Settings) -> int:
    app_name = f"castwatch-{settings.encoders.replica_name}"
    with process_runtime(settings, "encoders", application_name=app_name, pool_size=4,
                         metrics_bind=settings.encoders.metrics_bind) as rt:
        metrics = EncoderMetrics(rt.registry)
        influx = InfluxSink(settings.influx, rt.registry)
        try:
            sealer = Sealer(settings.secret_key) if settings.secret_key else None  # stream keys
            manager = EncoderManager(settings.encoders, rt.session_factory, rt.url, metrics, influx,
                                     sealer=sealer)
            run_until_signalled(lambda stop: _main(manager, stop), run_for=args.run_for)
        finally:
            influx.close()
    return 0


async def _main(manager: EncoderManager, stop: asyncio.Event) -> None:
    logger.info("encoder manager %s starting", manager.cfg.replica_name)
    await manager.run(stop)
    logger.info("encoder manager stopped")
