"""Check this installation after editing .env: settings, PostgreSQL and its migration level,
InfluxDB (one test write), SMTP (login), Telegram (getMe), every encoder's driver (connect)
and every channel's URL (one bounded fetch). Prints one line per check, what works and what to
fix; exits 1 when a required check fails (settings, the database and its schema, and every
integration that is configured), 0 otherwise. Encoders and channels are reported, not
required: a device that is down is what castwatch watches. Nothing a peer sends back is
printed, only its status.
"""

from __future__ import annotations

import argparse
import asyncio
import smtplib
import ssl
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests
from sqlalchemy import Engine

from castwatch.common.download import DownloadError, TooLarge, fetch_sync
from castwatch.common.egress import EgressDenied, EgressPolicy
from castwatch.common.env import ConfigError
from castwatch.settings import Settings

OK, FAIL, WARN, SKIP = "ok", "FAIL", "warn", "skip"
#: a channel URL fetch reads at most this much
FETCH_LIMIT_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Result:
    """One line of the report. ``required`` failures make the exit status non-zero."""

    what: str
    status: str
    detail: str
    required: bool = True


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per check (default 5)")
    parser.add_argument("--no-devices", action="store_true",
                        help="skip the encoders and channels (only settings and integrations)")
    parser.set_defaults(_on_config_error=config_error)


def config_error(args: argparse.Namespace, exc: ConfigError) -> int:
    """``castwatch check`` with settings that do not load: the one line that says which."""
    print(render([Result("settings", FAIL, str(exc))]))
    return 1


def run(args: argparse.Namespace, settings: Settings) -> int:
    results = run_checks(settings, timeout_s=args.timeout, devices=not args.no_devices)
    print(render(results))
    return exit_status(results)


def exit_status(results: Iterable[Result]) -> int:
    return 1 if any(r.status == FAIL and r.required for r in results) else 0


def render(results: list[Result]) -> str:
    width = max([len(r.what) for r in results] + [5])
    lines = [f"{'CHECK':<{width}}  {'STATUS':<6}  DETAIL"]
    lines += [f"{r.what:<{width}}  {r.status:<6}  {r.detail}" for r in results]
    failed = [r for r in results if r.status == FAIL and r.required]
    lines.append(f"{len(failed)} required check(s) failed." if failed else "Every required check passed.")
    return "\n".join(lines)


def run_checks(settings: Settings, *, timeout_s: float = 5.0, devices: bool = True) -> list[Result]:
    results = [Result("settings", OK, "every variable is valid")]
    database = check_database(settings, timeout_s)
    results += database
    results.append(_guard("InfluxDB", lambda: check_influx(settings, timeout_s)))
    results.append(_guard("SMTP", lambda: check_smtp(settings, timeout_s)))
    results.append(_guard("Telegram", lambda: check_telegram(settings, timeout_s)))
    if devices and all(r.status == OK for r in database):
        results += check_encoders(settings, timeout_s)
        results += check_channels(settings, timeout_s)
    return results


def _guard(what: str, check: Callable[[], Result]) -> Result:
    try:
        return check()
    except Exception as exc:  # one broken peer is one failed line, never a crash
        return Result(what, FAIL, f"{type(exc).__name__}: {_short(exc)}")


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:160]


# -- PostgreSQL ---------------------------------------------------------------------------------

def check_database(settings: Settings, timeout_s: float) -> list[Result]:
    if not settings.database_url:
        return [Result("PostgreSQL", FAIL, "DATABASE_URL is not set (castwatch up starts an embedded one)")]
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine

    from castwatch.common.db import alembic_config, sqlalchemy_url

    engine = create_engine(sqlalchemy_url(settings.database_url),
                           connect_args={"connect_timeout": max(1, int(timeout_s))})
    try:
        with engine.connect() as conn:
            version = conn.exec_driver_sql("SHOW server_version").scalar()
            current = MigrationContext.configure(conn).get_current_revision()
    except Exception as exc:
        return [Result("PostgreSQL", FAIL, f"cannot connect: {_short(exc)} (check DATABASE_URL)")]
    finally:
        engine.dispose()
    head = ScriptDirectory.from_config(alembic_config(settings.database_url)).get_current_head()
    if current == head:
        schema = Result("schema", OK, f"at the latest revision {head}")
    else:
        where = current or "no revision"
        schema = Result("schema", FAIL, f"at {where}, latest is {head}: run castwatch migrate")
    return [Result("PostgreSQL", OK, f"connected, server {version}"), schema]


# -- integrations -------------------------------------------------------------------------------

def check_influx(settings: Settings, timeout_s: float) -> Result:
    influx = settings.influx
    if not influx.url:
        return Result("InfluxDB", SKIP, "INFLUXDB_URL not set: no time series are stored", required=False)
    response = requests.post(
        f"{influx.url.rstrip('/')}/api/v2/write",
        params={"org": influx.org, "bucket": influx.bucket, "precision": "s"},
        data=f"castwatch_check ok=1i {int(time.time())}\n".encode(),
        headers={"Authorization": f"Token {influx.token or ''}", "Content-Type": "text/plain"},
        timeout=timeout_s, allow_redirects=False, stream=True)
    response.close()
    if response.status_code in (200, 204):
        return Result("InfluxDB", OK, f"test write accepted by {influx.url} (bucket {influx.bucket})")
    hint = {401: "check INFLUXDB_TOKEN", 403: "the token may not write to this bucket",
            404: "check INFLUXDB_ORG and INFLUXDB_BUCKET"}.get(response.status_code, "check INFLUXDB_URL")
    return Result("InfluxDB", FAIL, f"test write refused with HTTP {response.status_code}: {hint}")


def check_smtp(settings: Settings, timeout_s: float) -> Result:
    smtp = settings.notify.smtp
    if not smtp.host:
        return Result("SMTP", SKIP, "SMTP_HOST not set: no email is sent", required=False)
    context = ssl.create_default_context(cafile=str(smtp.ca_file) if smtp.ca_file else None)
    client: smtplib.SMTP
    if smtp.security == "tls":
        client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=timeout_s, context=context)
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=timeout_s)
    with client:
        client.ehlo()
        if smtp.security == "starttls":
            client.starttls(context=context)
            client.ehlo()
        if not smtp.username:
            return Result("SMTP", OK, f"connected to {smtp.host}:{smtp.port} ({smtp.security}), no login set")
        try:
            client.login(smtp.username, smtp.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            return Result("SMTP", FAIL, f"login refused ({exc.smtp_code}): check SMTP_USERNAME/SMTP_PASSWORD")
    return Result("SMTP", OK, f"logged in to {smtp.host}:{smtp.port} as {smtp.username}")


def check_telegram(settings: Settings, timeout_s: float) -> Result:
    telegram = settings.notify.telegram
    if not telegram.token:
        return Result("Telegram", SKIP, "TELEGRAM_BOT_TOKEN not set: no Telegram messages", required=False)
    response = requests.post(f"{telegram.api_base_url}{telegram.token}/getMe", timeout=timeout_s,
                            allow_redirects=False)
    if response.status_code == 401:
        return Result("Telegram", FAIL, "getMe refused (401): check TELEGRAM_BOT_TOKEN")
    if response.status_code != 200 or len(response.content) > FETCH_LIMIT_BYTES:
        return Result("Telegram", FAIL, f"getMe answered HTTP {response.status_code}")
    body = response.json()
    username = str((body.get("result") or {}).get("username", ""))[:64] if body.get("ok") else ""
    if not username:
        return Result("Telegram", FAIL, "getMe did not return a bot")
    return Result("Telegram", OK, f"bot @{username}")


# -- encoders and channels ----------------------------------------------------------------------

def _engine(settings: Settings) -> Engine:
    from castwatch.common.db import make_engine

    return make_engine(settings.require_database_url(), pool_size=1,
                       application_name="castwatch-check")


def check_encoders(settings: Settings, timeout_s: float) -> list[Result]:
    from castwatch.common.db import make_session_factory, transaction
    from castwatch.encoder_manager import credentials, store
    from castwatch.encoder_manager.drivers import DriverConfig, DriverError, create_driver, driver_class

    engine = _engine(settings)
    try:
        with transaction(make_session_factory(engine)) as session:
            rows, _groups = store.load_fleet(session)
    finally:
        engine.dispose()
    cfg = settings.encoders

    async def connect(row: store.EncoderRow) -> Result:
        what = f"encoder {row.name}"
        try:
            # the same binding and egress checks as the encoder manager: a check sends no secret
            # where the manager would not
            user, password = credentials.resolve(
                row.credentials_ref, cfg, row.driver_options.get("username"), address=row.address,
                password_only=driver_class(row.driver_kind).password_only)
            driver = create_driver(row.driver_kind, DriverConfig(
                address=row.address, username=user, password=password, options=row.driver_options,
                timeout_s=timeout_s, retries=0, egress=cfg.egress, max_reply_bytes=cfg.max_reply_bytes))
        except (credentials.CredentialsError, DriverError) as exc:
            return Result(what, WARN, f"cannot be polled: {_short(exc)}", required=False)
        try:
            await asyncio.wait_for(driver.connect(), timeout_s * 2)
            return Result(what, OK, f"{row.driver_kind} at {row.address} answered", required=False)
        except (DriverError, TimeoutError) as exc:
            return Result(what, WARN, f"{row.driver_kind} at {row.address}: {type(exc).__name__}",
                          required=False)
        finally:
            await driver.close()

    async def all_of() -> list[Result]:
        return list(await asyncio.gather(*(connect(r) for r in rows if r.enabled)))

    return asyncio.run(all_of())


def check_channels(settings: Settings, timeout_s: float) -> list[Result]:
    from sqlalchemy import select

    from castwatch.common.db import make_session_factory, transaction
    from castwatch.common.models import Channel

    engine = _engine(settings)
    try:
        with transaction(make_session_factory(engine)) as session:
            channels = [(c.code, c.input_url) for c in
                        session.scalars(select(Channel).where(Channel.enabled.is_(True)).order_by(Channel.code))]
    finally:
        engine.dispose()
    with ThreadPoolExecutor(max_workers=16, thread_name_prefix="check") as pool:
        return list(pool.map(lambda c: fetch_channel(c[0], c[1], timeout_s, settings.probe.egress),
                             channels))


def fetch_channel(code: str, url: str, timeout_s: float, policy: EgressPolicy) -> Result:
    """One GET of the channel's URL through the probe's egress policy: at most
    FETCH_LIMIT_BYTES, one deadline of ``2 × timeout_s``; the answer's status and size only."""
    what = f"channel {code}"
    try:
        got = fetch_sync(url, policy=policy, max_bytes=FETCH_LIMIT_BYTES, deadline_s=timeout_s * 2)
    except TooLarge:
        return Result(what, OK, f"answers (more than {FETCH_LIMIT_BYTES} bytes)", required=False)
    except (DownloadError, EgressDenied) as exc:
        return Result(what, WARN, str(exc), required=False)
    if got.body is None:
        return Result(what, WARN, f"HTTP {got.status}", required=False)
    return Result(what, OK, f"HTTP {got.status}, {len(got.body)} bytes", required=False)
