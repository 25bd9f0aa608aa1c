"""Serve simulated schedule sources: Cablecast REST, an iCal feed, a city meetings page (standard
and non-standard) and a PDF agenda, with a council meeting starting soon and a planned
off-air tonight. Prints the URLs to configure as schedule sources."""

from __future__ import annotations

import argparse
import signal
import threading
from datetime import timedelta
from types import FrameType

from castwatch.common.models import utcnow
from castwatch.settings import Settings
from castwatch.simulators.schedules.content import SimEvent
from castwatch.simulators.schedules.server import ScheduleSimulator


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bind", default="127.0.0.1:8095", help="host:port to listen on")
    parser.add_argument("--meeting-in", type=float, default=20.0,
                        help="minutes until the simulated council meeting starts")
    parser.add_argument("--timezone", default="America/Chicago", help="the city's time zone")


def run(args: argparse.Namespace, settings: Settings) -> int:
    host, _, port = args.bind.rpartition(":")
    now = utcnow().replace(second=0, microsecond=0)
    events = [SimEvent("City Council Meeting", now + timedelta(minutes=args.meeting_in), 120),
              SimEvent("Planning Commission", now + timedelta(days=2), 90),
              SimEvent("Off Air - Transmitter maintenance", now + timedelta(hours=6), 60),
              SimEvent("Library Story Hour", now + timedelta(hours=3), 30)]
    sim = ScheduleSimulator(events, tz=args.timezone, host=host or "127.0.0.1", port=int(port)).start()
    print(f"cablecast: {sim.url}  (option cablecast_channel=1)")
    for path in ("/calendar.ics", "/meetings.html", "/meetings-odd.html", "/agenda.pdf"):
        print(f"{path[1:]}: {sim.url}{path}")
    done = threading.Event()

    def stop(_sig: int, _frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    done.wait()
    sim.stop()
    return 0
