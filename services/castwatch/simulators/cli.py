"""Run a simulator: ``castwatch sim origin`` (a live HLS/DASH packager origin),
``castwatch sim encoder --kind KIND`` (an encoder speaking its vendor's protocol) or
``castwatch sim telegram`` (a Telegram Bot API stand-in)."""

from __future__ import annotations

import argparse
import importlib

from castwatch.settings import Settings

SIMULATORS = {
    "origin": ("castwatch.simulators.origin.cli", "a live HLS + DASH origin with switchable faults"),
    "encoder": ("castwatch.simulators.encoders.cli", "an encoder of one vendor family with a fault plan"),
    "telegram": ("castwatch.simulators.telegram.cli",
                 "a Telegram Bot API stand-in that prints the messages castwatch sends"),
    "smtp": ("castwatch.simulators.smtp.cli", "an SMTP sink that accepts and prints every email"),
    "schedules": ("castwatch.simulators.schedules.cli",
                  "Cablecast, iCal, meetings page and PDF agenda schedule sources"),
}


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="simulator", metavar="SIMULATOR", required=True)
    for name, (module_name, help_text) in SIMULATORS.items():
        module = importlib.import_module(module_name)
        child = sub.add_parser(name, help=help_text, description=(module.__doc__ or help_text).strip())
        module.configure(child)
        child.set_defaults(_sim_run=module.run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    return int(args._sim_run(args, settings) or 0)
