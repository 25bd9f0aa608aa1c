"""Create or keep Grafana's read-only InfluxDB token, then exit (the compose job ``grafana-token``).

Reads INFLUXDB_URL, INFLUXDB_TOKEN (the admin token), INFLUXDB_ORG and INFLUXDB_BUCKET; writes
the read token to ``--out``/token, which only Grafana's container mounts. Exit 0 when the token
there works (kept or newly created), 1 with a message saying what to fix otherwise.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Protocol

from castwatch.common.env import InfluxSettings
from castwatch.common.influx_tokens import ReadTokenError, ensure_read_token
from castwatch.common.logging import configure_logging

logger = logging.getLogger(__name__)


class GrafanaTokenSettings(Protocol):
    @property
    def influx(self) -> InfluxSettings: ...
    @property
    def log_format(self) -> str: ...
    @property
    def log_level(self) -> str: ...


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("/run/castwatch/grafana-influx"),
                        help="directory for the token file (default: /run/castwatch/grafana-influx)")


def run(args: argparse.Namespace, settings: GrafanaTokenSettings) -> int:
    configure_logging(settings.log_format, settings.log_level, "grafana-token")
    influx = settings.influx
    try:
        outcome = ensure_read_token(url=influx.url or "", admin_token=influx.token or "",
                                    org=influx.org, bucket=influx.bucket, out_dir=args.out)
    except ReadTokenError as exc:
        logger.error("Grafana's read-only InfluxDB token: %s", exc)
        return 1
    logger.info("Grafana's read-only InfluxDB token %s (authorization %s, %d stale deleted)",
                "created" if outcome.created else "kept", outcome.authorization_id, outcome.deleted)
    return 0
