"""Run a local Telegram Bot API stand-in: castwatch's notifier sends to it as to Telegram
(set ``TELEGRAM_API_BASE_URL`` and ``TELEGRAM_BOT_TOKEN`` to what it prints), and it prints
every message it receives. Used by ``castwatch up --demo`` and the tests (see docs/notifier.md).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from types import FrameType

from castwatch.settings import Settings
from castwatch.simulators.telegram.standin import BotApiStandIn


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8093, help="port (0 = any free port; default 8093)")
    parser.add_argument("--token", default="123:TEST", help="the bot token to accept (default 123:TEST)")
    parser.add_argument("--token-env", default=None, metavar="NAME",
                        help="read the token from this environment variable instead (keeps it off "
                             "the command line, which every local user can read)")
    parser.add_argument("--quiet", action="store_true", help="do not print the messages received")


def run(args: argparse.Namespace, settings: Settings) -> int:
    stop = threading.Event()

    def handler(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    token = args.token
    if args.token_env:
        token = os.environ.get(args.token_env) or ""
        if not token:
            print(f"castwatch sim telegram: {args.token_env} is not set", file=sys.stderr)
            return 2
    standin = BotApiStandIn(token=token, max_long_poll_s=20.0).start(args.host, args.port)
    print(f"Telegram Bot API stand-in: TELEGRAM_API_BASE_URL={standin.base_url} "
          f"TELEGRAM_BOT_TOKEN={'(from ' + args.token_env + ')' if args.token_env else token}", flush=True)
    shown = 0
    try:
        while not stop.wait(0.5):
            shown = _print_new(standin, shown, args.quiet)
    finally:
        _print_new(standin, shown, args.quiet)  # what arrived just before the stop
        standin.stop()
    return 0


def _print_new(standin: BotApiStandIn, shown: int, quiet: bool) -> int:
    """Print the messages received since ``shown``; returns the new count."""
    sent = list(standin.sent)
    if not quiet:
        for msg in sent[shown:]:
            print(f"chat {msg['chat_id']} message {msg['message_id']}:\n{msg['text']}\n", flush=True)
    return len(sent)
