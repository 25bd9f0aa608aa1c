"""Upgrade the database to the newest schema (``alembic upgrade head``), then exit.

Uses DATABASE_URL; without it, the embedded PostgreSQL in CASTWATCH_DATA_DIR/pg.
"""

from __future__ import annotations

import argparse
import logging

from castwatch.common.config import Settings
from castwatch.common.db import downgrade, upgrade
from castwatch.common.embedded_pg import EmbeddedPostgres
from castwatch.common.logging import configure_logging

logger = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--revision", default="head", help="target revision (default: head)")
    parser.add_argument("--downgrade", action="store_true", help="downgrade to --revision instead")


def database_url_or_embedded(settings: Settings) -> tuple[str, EmbeddedPostgres | None]:
    """The configured database, or a started embedded one (the caller stops it)."""
    if settings.database_url:
        return settings.database_url, None
    embedded = EmbeddedPostgres(settings.data_dir / "pg")
    return embedded.start(), embedded


def run(args: argparse.Namespace, settings: Settings) -> int:
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
