"""Upgrade the database to the newest schema (``alembic upgrade head``), then exit.

Uses DATABASE_URL; without it, the embedded PostgreSQL in CASTWATCH_DATA_DIR/pg.
"""

from __future__ import annotations

import argparse
import logging
from typing import Protocol

from castwatch.common.db import downgrade, upgrade
from castwatch.common.logging import configure_logging
from castwatch.common.runtime import ProcessSettings, database_url_or_embedded

logger = logging.getLogger(__name__)

__all__ = ["configure", "database_url_or_embedded", "run"]  # the helper moved to common.runtime


class MigrateSettings(ProcessSettings, Protocol):
    """What ``castwatch migrate`` reads of the composed settings."""

    @property
    def placeholder_secrets(self) -> tuple[str, ...]: ...


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--revision", default="head", help="target revision (default: head)")
    parser.add_argument("--downgrade", action="store_true", help="downgrade to --revision instead")


def run(args: argparse.Namespace, settings: MigrateSettings) -> int:
    configure_logging(settings.log_format, settings.log_level, "migrate")
    if settings.placeholder_secrets:
        # compose starts PostgreSQL first; InfluxDB, Grafana and castwatch wait for this job,
        # so none of them is initialised with a password from .env.example
        logger.error("refusing to migrate: %s still hold the placeholder from .env.example",
                     ", ".join(settings.placeholder_secrets))
        return 2
    url, embedded = database_url_or_embedded(settings)
    try:
        if args.downgrade:
            downgrade(url, args.revision)
        else:
            upgrade(url, args.revision)
        logger.info("database at revision %s", args.revision)
    finally:
        if embedded is not None:
            embedded.stop()
    return 0
