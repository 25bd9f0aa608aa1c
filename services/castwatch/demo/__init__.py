"""``castwatch up --demo``: simulated origin and encoders, seeded data, injected faults.

:class:`Demo` adds the simulators to the supervised processes, seeds the database
(:mod:`castwatch.demo.seed`, idempotent) and runs the fault rotation
(:mod:`castwatch.demo.faults`) in a thread until the stack stops.
"""

from __future__ import annotations

import argparse
import logging
import secrets
import shutil
import socket
import sys
import threading
from dataclasses import dataclass

from castwatch.common.db import make_engine, make_session_factory, transaction
from castwatch.demo.faults import FaultInjector, fault_plan
from castwatch.demo.seed import SEGMENT_SECONDS, DemoTopology, Seeded, seed
from castwatch.settings import Settings
from castwatch.supervisor import ChildSpec, Supervisor

logger = logging.getLogger(__name__)

CHANNEL_PREFIX = "DEMO_"
CHANNELS = 4
SIM_PASSWORD_ENV = "CASTWATCH_SIM_PASSWORD"


@dataclass(frozen=True)
class DemoOptions:
    fault_interval_s: float = 180.0
    fault_duration_s: float = 60.0
    first_fault_after_s: float = 45.0
    base_port: int = 8180  # 0 = any free ports

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> DemoOptions:
        interval = float(args.fault_interval)
        if interval <= 0:
            raise SystemExit("castwatch up: --fault-interval must be > 0")
        duration = args.fault_duration if args.fault_duration is not None else min(interval / 2, 60.0)
        return cls(fault_interval_s=interval, fault_duration_s=min(float(duration), interval),
                   first_fault_after_s=min(interval, 45.0), base_port=int(args.demo_port))


def _ports(base: int, count: int) -> list[int]:
    if base:
        return [base + i for i in range(count)]
    ports = []
    for _ in range(count):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(int(s.getsockname()[1]))
    return ports


class Demo:
    """The demo's simulators, seed data and fault loop for one ``castwatch up --demo`` run."""

    def __init__(self, options: DemoOptions, settings: Settings, database_url: str) -> None:
        self.options = options
        self.settings = settings
        self.database_url = database_url
        origin, primary, backup, timeseries, telegram, smtp, smtp_http = _ports(options.base_port, 7)
        self.origin_url = f"http://127.0.0.1:{origin}"
        self.topology = DemoTopology(
            origin_url=self.origin_url,
            channel_codes=tuple(f"{CHANNEL_PREFIX}{i:03d}" for i in range(1, CHANNELS + 1)),
            primary_address=f"127.0.0.1:{primary}", backup_address=f"127.0.0.1:{backup}")
        self._ports = (origin, primary, backup)
        # History for the Metrics page: an embedded VictoriaMetrics (it takes the InfluxDB v2
        # write protocol) when Debian's binary is installed and no InfluxDB is configured.
        self.victoria = shutil.which("victoria-metrics") if not settings.influx.url else None
        self.timeseries_url = f"http://127.0.0.1:{timeseries}" if self.victoria else None
        # Notifications a newcomer can see: with neither Telegram nor SMTP configured, the demo
        # runs the Bot API stand-in and an SMTP sink, and castwatch sends to them.
        notify = settings.notify
        self.standins = not (notify.telegram.configured or notify.smtp.configured)
        self._standin_ports = (telegram, smtp)
        self._smtp_http_port = smtp_http  # the sink's JSON listing, read by the console's inbox
        self._bot_token = f"{secrets.randbelow(10**9)}:{secrets.token_urlsafe(24)}"
        # The simulated encoders want a bearer token; the encoder manager reads it from its
        # environment through the encoder rows' credentials_ref (never stored in the database).
        self.secret_env = f"{settings.encoders.credentials_env_prefix}DEMO"
        self._token = secrets.token_urlsafe(16)
        self.seeded: Seeded | None = None
        self._thread: threading.Thread | None = None

    @property
    def notifications(self) -> bool:
        """Whether demo alerts are sent to people (Telegram or SMTP is configured)."""
        notify = self.settings.notify
        return self.standins or notify.telegram.configured or notify.smtp.configured

    def child_env(self) -> dict[str, str]:
        """Environment the castwatch processes need for the demo: the encoders' token, its
        binding to the two simulated encoders' addresses (the only places it may be sent), the
        egress allow list plus loopback (the simulators listen on 127.0.0.1), and the embedded
        time-series store and notification stand-ins when there are some."""
        _origin, primary, backup = self._ports
        egress = self.settings.probe.egress.allowing("127.0.0.1/32", "::1/128")
        env = {self.secret_env: self._token,
               "ENCODERS_CREDENTIALS_BINDINGS":
                   f"env:{self.secret_env} = 127.0.0.1:{primary} 127.0.0.1:{backup}",
               "EGRESS_ALLOW": egress.as_env()}
        if self.timeseries_url:
            env.update(INFLUXDB_URL=self.timeseries_url, INFLUXDB_TOKEN="demo",
                       INFLUXDB_QUERY_LANGUAGE="victoriametrics")
        if self.standins:
            telegram, smtp = self._standin_ports
            env.update(TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{telegram}/bot",
                       TELEGRAM_BOT_TOKEN=self._bot_token, SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp),
                       SMTP_SECURITY="none", SMTP_FROM="castwatch@demo.invalid",
                       # the console's Demo inbox page (the API reads them; loopback only)
                       DEMO_TELEGRAM_STANDIN_URL=f"http://127.0.0.1:{telegram}",
                       DEMO_SMTP_SINK_URL=f"http://127.0.0.1:{self._smtp_http_port}")
        return env

    def integration_rows(self) -> list[tuple[str, str, str]]:
        """Status rows that replace ``castwatch up``'s own for what the demo provides."""
        rows = []
        if self.timeseries_url:
            data = self.settings.data_dir / "victoria-metrics"
            rows.append(("influxdb", "embedded", f"VictoriaMetrics {self.timeseries_url} data={data}"))
        if self.standins:
            telegram, smtp = self._standin_ports
            rows.append(("telegram", "stand-in",
                         f"Bot API stand-in http://127.0.0.1:{telegram} (sim-telegram)"))
            rows.append(("email", "sink", f"SMTP sink 127.0.0.1:{smtp} (sim-smtp)"))
        return rows

    def _standin_specs(self) -> list[ChildSpec]:
        if not self.standins:
            return []
        cli = [sys.executable, "-m", "castwatch.cli", "sim"]
        telegram, smtp = self._standin_ports
        return [ChildSpec("sim-telegram", [*cli, "telegram", "--port", str(telegram),
                                           "--token-env", "TELEGRAM_BOT_TOKEN"],
                          env={"TELEGRAM_BOT_TOKEN": self._bot_token}),
                ChildSpec("sim-smtp", [*cli, "smtp", "--port", str(smtp),
                                       "--http-port", str(self._smtp_http_port)])]

    def _timeseries_spec(self) -> list[ChildSpec]:
        if not self.victoria or not self.timeseries_url:
            return []
        data = (self.settings.data_dir / "victoria-metrics").resolve()
        data.mkdir(parents=True, exist_ok=True)
        bind = self.timeseries_url.removeprefix("http://")
        return [ChildSpec("timeseries", [self.victoria, f"-httpListenAddr={bind}", f"-storageDataPath={data}",
                                         "-retentionPeriod=30d", "-loggerLevel=WARN",
                                         "-search.latencyOffset=5s"],
                          url=f"{self.timeseries_url}/health")]

    def simulator_specs(self) -> list[ChildSpec]:
        cli = [sys.executable, "-m", "castwatch.cli", "sim"]
        origin, primary, backup = self._ports
        # the token goes through the environment: a command line is visible to every local user
        token_env = {SIM_PASSWORD_ENV: self._token}
        return self._timeseries_spec() + self._standin_specs() + [
            # Real ffmpeg-made segments when ffmpeg is here, so the content layer (thumbnails,
            # loudness, MOS) has pictures and sound to show; otherwise placeholder segments.
            ChildSpec("sim-origin", [*cli, "origin", "--port", str(origin), "--channels", str(CHANNELS),
                                     "--prefix", CHANNEL_PREFIX, "--segment-seconds",
                                     str(SEGMENT_SECONDS),
                                     *(["--real-media"] if shutil.which("ffmpeg") else [])],
                      url=f"{self.origin_url}/_sim/channels"),
            # The primary is on air; the backup waits idle until the group fails over to it.
            ChildSpec("sim-primary", [*cli, "encoder", "--kind", "generic_http", "--port", str(primary),
                                      "--name", "demo-primary", "--password-env", SIM_PASSWORD_ENV,
                                      "--streaming"], env=token_env,
                      url=f"http://127.0.0.1:{primary}/_sim/state"),
            ChildSpec("sim-backup", [*cli, "encoder", "--kind", "generic_http", "--port", str(backup),
                                     "--name", "demo-backup", "--password-env", SIM_PASSWORD_ENV],
                      env=token_env, url=f"http://127.0.0.1:{backup}/_sim/state"),
        ]

    def seed(self) -> Seeded:
        engine = make_engine(self.database_url, pool_size=1, application_name="castwatch-demo")
        try:
            with transaction(make_session_factory(engine)) as session:
                self.seeded = seed(session, self.topology, notify=self.notifications,
                                   credentials_ref=f"env:{self.secret_env}", demo_chats=self.standins)
        finally:
            engine.dispose()
        logger.info("demo data seeded: %d channels, group demo-studio, 2 recipients",
                    len(self.seeded.channel_ids))
        return self.seeded

    def banner(self) -> str:
        assert self.seeded is not None, "seed() first"
        host, port = self.settings.api.bind
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        o = self.options
        return "\n".join([
            "castwatch demo:",
            f"  admin API key   {self.seeded.admin_key}",
            f"  try             curl -H 'Authorization: Bearer {self.seeded.admin_key}' "
            f"http://{shown}:{port}/api/v1/alerts",
            f"  channels        {', '.join(self.topology.channel_codes)} (origin {self.origin_url})",
            "  encoders        demo-primary + demo-backup in group demo-studio",
            "  notifications   " + ("demo rule sends every alert to the demo recipients, through "
                                    "the Telegram stand-in and the SMTP sink (printed below as "
                                    "[sim-telegram] and [sim-smtp])" if self.standins else
                                    "demo rule sends every alert to the demo recipients"
                                    if self.notifications else "off: set TELEGRAM_BOT_TOKEN or SMTP_HOST "
                                    "(the demo rule stays disabled)"),
            f"  faults          first in {o.first_fault_after_s:.0f}s, then every "
            f"{o.fault_interval_s:.0f}s, each for {o.fault_duration_s:.0f}s (--fault-interval)",
        ])

    def start_faults(self, supervisor: Supervisor, stop: threading.Event) -> None:
        _origin, primary, backup = self._ports
        plan = fault_plan(self.origin_url, self.topology.channel_codes,
                          f"http://127.0.0.1:{primary}", f"http://127.0.0.1:{backup}")
        injector = FaultInjector(plan, interval_s=self.options.fault_interval_s,
                                 duration_s=self.options.fault_duration_s,
                                 first_delay_s=self.options.first_fault_after_s,
                                 emit=lambda line: supervisor.emit("demo", line))
        self._stop = stop
        self._thread = threading.Thread(target=injector.run, args=(stop,), name="demo-faults",
                                        daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Wait for the fault loop to clear its active fault (``stop`` is already set)."""
        if self._thread is not None:
            self._thread.join(timeout=10)
