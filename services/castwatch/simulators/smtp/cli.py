"""Run a local SMTP sink: point castwatch's notifier at it (``SMTP_HOST``, ``SMTP_PORT``,
``SMTP_SECURITY=none``) and it accepts every email, printing sender, recipients and subject.
Used by ``castwatch up --demo`` (see docs/notifier.md)."""

from __future__ import annotations

import argparse
import signal
import threading
from types import FrameType

from castwatch.settings import Settings
from castwatch.simulators.smtp.sink import Received, SmtpSink


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8025, help="port (0 = any free port; default 8025)")
    parser.add_argument("--http-port", type=int, default=None,
                        help="also list the messages received as JSON (GET /messages) on this port "
                             "of --host (0 = any free port; default: no listing)")


def _show(message: Received) -> None:
    print(f"email {message.number} from {message.mail_from} to {', '.join(message.rcpt_to)}:\n"
          f"Subject: {message.subject}\n", flush=True)


def run(args: argparse.Namespace, settings: Settings) -> int:
    stop = threading.Event()

    def handler(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    with SmtpSink(args.host, args.port, on_message=_show) as sink:
        print(f"SMTP sink: SMTP_HOST={sink.host} SMTP_PORT={sink.port} SMTP_SECURITY=none", flush=True)
        if args.http_port is not None:
            port = sink.serve_http(args.host, args.http_port)
            print(f"SMTP sink messages: http://{sink.host}:{port}/messages", flush=True)
        stop.wait()
    return 0
