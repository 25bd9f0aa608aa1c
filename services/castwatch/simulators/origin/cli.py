"""Placeholder: implemented by its issue."""

from __future__ import annotations

import argparse

from castwatch.common.config import Settings


def configure(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace, settings: Settings) -> int:
    raise SystemExit("not implemented yet")
