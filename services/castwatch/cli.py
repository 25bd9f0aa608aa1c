"""The ``castwatch`` command: one entry point, one subcommand per process.

Each subcommand lives in its area as a module with ``configure(parser)`` and
``run(args, settings) -> int``; this file only wires them. Settings are read once here.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from castwatch import __version__
from castwatch.common.env import ConfigError
from castwatch.settings import Settings

#: subcommand → (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "api": ("castwatch.cms_api.cli", "run the CMS API and web console under gunicorn"),
    "migrate": ("castwatch.common.migrate_cli", "upgrade the database schema to the latest version"),
    "keys": ("castwatch.cms_api.keys_cli", "create, list and revoke API keys"),
    "probe": ("castwatch.packager_monitor.cli", "run the HLS/DASH packager monitor"),
    "encoders": ("castwatch.encoder_manager.cli", "run the encoder manager (health and failover)"),
    "notify": ("castwatch.notifier.cli", "run the notifier (Telegram and email)"),
    "incidents": ("castwatch.incidents.cli", "run the incident correlator and schedule monitor"),
    "up": ("castwatch.up", "run the whole stack on this machine (embedded PostgreSQL if needed)"),
    "sim": ("castwatch.simulators.cli", "run a packager origin or encoder simulator"),
    "grafana-token": ("castwatch.common.grafana_token_cli",
                      "create or keep Grafana's read-only InfluxDB token, then exit"),
    "check": ("castwatch.check", "check settings, database, InfluxDB, SMTP, Telegram, encoders, channels"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="castwatch",
        description="Monitoring and failover for live video. Every setting comes from the "
        "environment (see README: Environment variables).",
    )
    parser.add_argument("--version", action="version", version=f"castwatch {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        child = sub.add_parser(name, help=help_text, description=(module.__doc__ or help_text).strip())
        module.configure(child)
        child.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        on_error = getattr(args, "_on_config_error", None)
        if on_error is not None:  # castwatch check reports it in its table
            return int(on_error(args, exc))
        print(f"castwatch: configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        return int(args._run(args, settings) or 0)
    except ConfigError as exc:
        print(f"castwatch: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
