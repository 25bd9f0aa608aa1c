"""``castwatch check``: real PostgreSQL, a real InfluxDB-protocol store (VictoriaMetrics), a real
SMTP server with a login, the Bot API stand-in, a real origin simulator; one table, exit status."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import Engine, text

from castwatch.common.db import make_session_factory, transaction
from castwatch.common.models import Channel
from castwatch.simulators.origin.server import SimulatorThread
from castwatch.simulators.telegram.standin import BotApiStandIn
from tests.support.victoria import free_port, victoria_metrics

pytestmark = pytest.mark.timeout(300)  # each test starts castwatch check as a process


class _Sink:
    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
        return "250 OK"


def _authenticator(server: object, session: object, envelope: object, mechanism: str,
                   auth_data: object) -> AuthResult:
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == b"ops"
          and auth_data.password == b"s3cret")
    return AuthResult(success=ok, handled=False)


@pytest.fixture()
def smtp_port() -> Iterator[int]:
    port = free_port()
    controller = Controller(_Sink(), hostname="127.0.0.1", port=port, ready_timeout=10,
                            authenticator=_authenticator, auth_require_tls=False)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def _check(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("INFLUXDB_", "SMTP_", "TELEGRAM_", "DATABASE_URL"))}
    return subprocess.run([sys.executable, "-m", "castwatch.cli", "check", "--timeout", "3", *args],
                          capture_output=True, text=True, timeout=120, env={**clean, **env})


def _line(out: str, what: str) -> str:
    return next(line for line in out.splitlines() if line.startswith(what + " "))


def test_check_reports_every_integration_and_passes_when_they_work(
        database_url: str, engine: Engine, smtp_port: int, tmp_path) -> None:
    standin = BotApiStandIn().start()
    try:
        with victoria_metrics(tmp_path / "vm") as influx, SimulatorThread() as origin:
            with transaction(make_session_factory(engine)) as session:
                session.add_all([
                    Channel(code="CHECK_OK", name="up", input_url=origin.master_url("CH_SIM_001")),
                    Channel(code="CHECK_DOWN", name="down", input_url=f"http://127.0.0.1:{free_port()}/x.m3u8"),
                ])
            out = _check({"DATABASE_URL": database_url, "INFLUXDB_URL": influx, "INFLUXDB_TOKEN": "t",
                          "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port), "SMTP_SECURITY": "none",
                          "SMTP_USERNAME": "ops", "SMTP_PASSWORD": "s3cret",
                          "TELEGRAM_BOT_TOKEN": standin.token, "TELEGRAM_API_BASE_URL": standin.base_url,
                          "EGRESS_ALLOW": "127.0.0.1/32"})
    finally:
        standin.stop()
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM channels WHERE code LIKE 'CHECK_%'"))
    assert out.returncode == 0, out.stdout + out.stderr
    assert _line(out.stdout, "PostgreSQL").split()[1] == "ok"
    assert "latest revision" in _line(out.stdout, "schema")
    assert "test write accepted" in _line(out.stdout, "InfluxDB")
    assert "logged in" in _line(out.stdout, "SMTP")
    assert "@castwatch_test_bot" in _line(out.stdout, "Telegram")
    assert "HTTP 200" in _line(out.stdout, "channel CHECK_OK")
    assert "unreachable" in _line(out.stdout, "channel CHECK_DOWN")  # reported, not required
    assert "Every required check passed." in out.stdout
    assert standin.token not in out.stdout  # secrets never printed


def test_a_configured_integration_that_fails_makes_the_exit_status_non_zero(
        database_url: str, smtp_port: int) -> None:
    out = _check({"DATABASE_URL": database_url, "INFLUXDB_URL": f"http://127.0.0.1:{free_port()}",
                  "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port), "SMTP_SECURITY": "none",
                  "SMTP_USERNAME": "ops", "SMTP_PASSWORD": "wrong"}, "--no-devices")
    assert out.returncode == 1, out.stdout
    assert _line(out.stdout, "InfluxDB").split()[1] == "FAIL"
    assert "check SMTP_USERNAME/SMTP_PASSWORD" in _line(out.stdout, "SMTP")
    assert "wrong" not in out.stdout
    assert "not set" in _line(out.stdout, "Telegram")  # not configured: skipped, not failed
    assert "2 required check(s) failed." in out.stdout


def test_no_database_and_bad_settings_fail_with_what_to_fix(tmp_path) -> None:
    out = _check({"DATABASE_URL": f"postgresql://nobody@127.0.0.1:{free_port()}/none"})
    assert out.returncode == 1
    assert "cannot connect" in _line(out.stdout, "PostgreSQL")
    bad = _check({"LOG_FORMAT": "xml"})
    assert bad.returncode == 1
    assert "LOG_FORMAT" in _line(bad.stdout, "settings")
