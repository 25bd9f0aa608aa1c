"""Run a simulated encoder of one vendor family on this machine, speaking the vendor's own
protocol (AJA HELO /config, Matrox Monarch sdk.aspx, Haivision Makito /apis, obs-websocket v5,
Blackmagic TCP text protocol, generic JSON). Faults can be switched at run time through the
control API: POST /_sim/faults {"overheat": true} (see docs/encoders.md)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from typing import Any

from castwatch.settings import Settings
from castwatch.simulators.encoders import SIMULATORS, EncoderSimulator, SimState, simulator_class
from castwatch.simulators.encoders.state import FaultPlan


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kind", required=True, choices=sorted(SIMULATORS), help="device family")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="protocol port (default: any free port)")
    parser.add_argument("--control-port", type=int, default=0,
                        help="control API port for socket devices (blackmagic); HTTP devices use --port")
    parser.add_argument("--name", default="sim-encoder", help="device name it reports")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", default="admin", help="device password ('' for none)")
    parser.add_argument("--password-env", default=None, metavar="NAME",
                        help="read the device password from this environment variable instead "
                             "(keeps it off the command line, where `ps` shows it)")
    parser.add_argument("--streaming", action="store_true", help="start with the stream on air")
    parser.add_argument("--faults", default="{}",
                        help='initial fault plan as JSON, e.g. \'{"flapping": 0.3}\'')
    parser.add_argument("--streams", default=None, metavar="NAMES",
                        help="haivision_makito: comma-separated stream names, each started and stopped "
                             "on its own (a device of an encoder pool; default: one stream)")
    parser.add_argument("--run-for", type=float, default=None, metavar="SECONDS",
                        help="stop after this many seconds (default: until signalled)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        faults = FaultPlan.from_dict(json.loads(args.faults))
    except (ValueError, TypeError) as exc:
        print(f"castwatch sim encoder: bad --faults: {exc}", file=sys.stderr)
        return 2
    password = args.password
    if args.password_env:
        password = os.environ.get(args.password_env)
        if password is None:
            print(f"castwatch sim encoder: {args.password_env} is not set", file=sys.stderr)
            return 2
    state = SimState(name=args.name, username=args.username, password=password,
                     streaming=args.streaming, faults=faults)
    extra: dict[str, Any] = {}
    if args.streams:
        if args.kind != "haivision_makito":
            print("castwatch sim encoder: --streams is for --kind haivision_makito", file=sys.stderr)
            return 2
        extra["stream_names"] = [n.strip() for n in args.streams.split(",") if n.strip()]
    sim = simulator_class(args.kind)(state, host=args.host, port=args.port, control_port=args.control_port,
                                     **extra)
    asyncio.run(_serve(sim, args.run_for))
    return 0


async def _serve(sim: EncoderSimulator, run_for: float | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if run_for is not None:
        loop.call_later(run_for, stop.set)
    await sim.start()
    print(json.dumps({"kind": sim.kind, "address": sim.address, "control": sim.control_url}), flush=True)
    try:
        await stop.wait()
    finally:
        await sim.stop()
