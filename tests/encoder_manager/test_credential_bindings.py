"""Device secrets go only where the operator bound them (issue #11 §1).

A real ``castwatch encoders`` process, a real simulator that needs the secret, and a listener on
loopback standing in for an attacker that a row edit points an encoder at: the attacker never
receives the secret, the bound device does, and the encoder says why it is not polled.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select, update

from castwatch.common.env import ConfigError
from castwatch.common.models import Alert, Encoder
from castwatch.encoder_manager.bindings import allows, device_target, parse_bindings
from castwatch.encoder_manager.credentials import UnboundCredentialsError, resolve
from castwatch.encoder_manager.settings import EncoderSettings
from castwatch.settings import Settings
from tests.encoder_manager.helpers import encoder_row, wait_for
from tests.support.egress import LOOPBACK_ALLOW
from tests.support.processes import stop_process

SECRET = "studio-a-token-4711"


class Attacker(ThreadingHTTPServer):
    """Records every request (line, headers, body) it gets, answers 200 ``{}``."""

    def __init__(self) -> None:
        self.seen: list[bytes] = []
        super().__init__(("127.0.0.1", 0), _Recorder)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"


class _Recorder(BaseHTTPRequestHandler):
    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.seen.append(self.requestline.encode() + bytes(self.headers) + body)  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = do_PUT = _any

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture()
def attacker():
    server = Attacker()
    yield server
    server.shutdown()
    server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_manager_sends_a_secret_only_to_the_device_it_is_bound_to(
        database_url, db, make_sim, attacker, tmp_path):
    sim = make_sim("generic_http", streaming=True, password=SECRET)
    secrets_dir = tmp_path / "encoders"
    secrets_dir.mkdir()
    (secrets_dir / "monarch").write_text(f"admin:{SECRET}\n")
    own = tmp_path / "own"
    own.mkdir()
    (own / "database_url").write_text(database_url)
    good = encoder_row(db, sim, "studio-a", credentials_ref="env:ENCODER_SECRET_STUDIO_A")
    # a write key's attempt: the same secret, the attacker's address
    stolen = encoder_row(db, sim, "evil", address=attacker.address,
                         credentials_ref="env:ENCODER_SECRET_STUDIO_A")
    # a file secret that is bound to nothing
    unbound = encoder_row(db, sim, "evil-file", address=attacker.address,
                          credentials_ref=f"file:{secrets_dir}/monarch")
    db.commit()
    env = os.environ | {
        "DATABASE_URL": database_url.replace("postgresql+psycopg2://", "postgresql://"),
        "ENCODERS_METRICS_BIND": f"127.0.0.1:{free_port()}",
        "ENCODER_SECRET_STUDIO_A": SECRET,
        "ENCODERS_CREDENTIALS_DIR": str(secrets_dir),
        "ENCODERS_CREDENTIALS_BINDINGS": f"env:ENCODER_SECRET_STUDIO_A = {sim.address}",
        "ENCODERS_RELOAD_INTERVAL_S": "0.3", "ENCODERS_LOCK_INTERVAL_S": "0.2",
        "ENCODERS_POLL_INTERVAL_S": "0.2",
        # egress allows loopback (where the device and the attacker both listen): the binding
        # alone must keep the secret from the attacker
        "EGRESS_ALLOW": LOOPBACK_ALLOW,
    }
    proc = subprocess.Popen([sys.executable, "-m", "castwatch.cli", "encoders", "--run-for", "60"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        def sample(encoder_id: int) -> dict:
            db.expire_all()
            return db.get(Encoder, encoder_id).last_sample or {}

        # the bound device gets the secret (the simulator refuses polls without it)
        wait_for(lambda: sample(good.id).get("state") == "live", timeout=30)
        for row in (stolen, unbound):
            error = wait_for(lambda r=row: sample(r.id).get("error"), timeout=30)
            assert "withheld" in error and "not bound" in error
        # the row edit an attacker would make: point the working encoder at the listener
        db.execute(update(Encoder).where(Encoder.id == good.id).values(address=attacker.address))
        db.commit()
        wait_for(lambda: "withheld" in (sample(good.id).get("error") or ""), timeout=30)
        alert = wait_for(lambda: db.scalars(select(Alert).where(
            Alert.encoder_id == good.id, Alert.alert_type == "ENCODER_UNREACHABLE")).first(),
            timeout=30)
        assert "not bound" in alert.summary or "not bound" in str(alert.details)
    finally:
        stop_process(proc)
    assert all(SECRET.encode() not in request for request in attacker.seen)
    assert attacker.seen == []  # an unbound secret is not even half-sent: no request at all
    assert SECRET not in proc.stderr.read().decode()  # type: ignore[union-attr]


def test_bindings_allow_only_the_bound_hosts_and_ports():
    table = parse_bindings("env:ENCODER_SECRET_A = 10.0.4.21:80 helo.lan  # studio A\n"
                           "file:monarch = [fd00::5]:443; env:ENCODER_SECRET_B=10.0.4.30",
                           "/run/secrets/encoders")
    assert allows(table, "env:ENCODER_SECRET_A", "10.0.4.21:80", "/x") is None
    assert allows(table, "env:ENCODER_SECRET_A", "http://10.0.4.21/api", "/x") is None
    assert allows(table, "env:ENCODER_SECRET_A", "HELO.lan:8443", "/x") is None
    assert "not bound to 10.0.4.21:8080" in allows(table, "env:ENCODER_SECRET_A", "10.0.4.21:8080", "/x")
    assert "not bound" in allows(table, "env:ENCODER_SECRET_A", "10.0.4.30:80", "/x")
    assert "not bound" in allows(table, "env:ENCODER_SECRET_A", "http://helo.lan@evil:80", "/x")
    secrets_dir = "/run/secrets/encoders"
    assert allows(table, "file:/run/secrets/encoders/monarch", "https://[fd00::5]/", secrets_dir) is None
    assert allows(table, "file:/run/secrets/encoders/../encoders/monarch", "[fd00::5]:443",
                  "/run/secrets/encoders") is None
    assert "any device" in allows(table, "env:ENCODER_SECRET_C", "10.0.4.21:80", "/x")
    assert device_target("encoder.lan") == ("encoder.lan", 80)


def test_an_unbound_secret_is_never_read(tmp_path):
    cfg = EncoderSettings.from_env({"ENCODER_SECRET_A": "pw",
                                    "ENCODERS_CREDENTIALS_BINDINGS": "env:ENCODER_SECRET_A=10.0.0.1"})
    assert resolve("env:ENCODER_SECRET_A", cfg, "admin", address="10.0.0.1:80") == ("admin", "pw")
    with pytest.raises(UnboundCredentialsError, match="not bound to 10.0.0.2:80"):
        resolve("env:ENCODER_SECRET_A", cfg, "admin", address="10.0.0.2:80")


def test_a_bad_binding_names_its_variable():
    with pytest.raises(ConfigError, match="ENCODERS_CREDENTIALS_BINDINGS"):
        Settings.from_env({"ENCODERS_CREDENTIALS_BINDINGS": "env:ENCODER_SECRET_A 10.0.0.1"})
    with pytest.raises(ConfigError, match="ENCODERS_CREDENTIALS_BINDINGS"):
        Settings.from_env({"ENCODERS_CREDENTIALS_BINDINGS": "env:ENCODER_SECRET_A = 10.0.0.1:99999"})


def test_device_secrets_live_apart_from_castwatchs_own(tmp_path: Path):
    assert EncoderSettings().credentials_dir == "/run/secrets/encoders"
    own = {"DATABASE_URL_FILE": "/run/secrets/database_url"}
    assert EncoderSettings.from_env(own).credentials_dir == "/run/secrets/encoders"
    for folder in ("/run/secrets", "/run/secrets/", "/run", "/"):
        with pytest.raises(ConfigError, match="ENCODERS_CREDENTIALS_DIR.*DATABASE_URL_FILE"):
            EncoderSettings.from_env(own | {"ENCODERS_CREDENTIALS_DIR": folder})
    with pytest.raises(ConfigError, match="API_SECRET_KEY_FILE"):
        EncoderSettings.from_env({"API_SECRET_KEY_FILE": "/run/secrets/encoders/api_key"})


def test_a_process_with_device_secrets_beside_its_own_refuses_to_start(tmp_path):
    (tmp_path / "database_url").write_text("postgresql://x@127.0.0.1/x")
    env = os.environ | {"DATABASE_URL_FILE": str(tmp_path / "database_url"),
                        "ENCODERS_CREDENTIALS_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-m", "castwatch.cli", "encoders", "--run-for", "5"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "ENCODERS_CREDENTIALS_DIR" in done.stderr


def test_a_driver_path_cannot_carry_the_secret_to_another_host(attacker):
    """``driver_options`` paths are appended to the bound address; ``@host`` must not escape it."""
    import asyncio

    from castwatch.encoder_manager.drivers import DriverConfig, DriverError, create_driver

    async def poll() -> None:
        driver = create_driver("generic_http", DriverConfig(
            address="127.0.0.1:9", password=SECRET, timeout_s=2, retries=0,
            options={"status_path": f"@{attacker.address}/api/status"}))
        try:
            with pytest.raises(DriverError, match="leaves the device's address"):
                await driver.poll()
        finally:
            await driver.close()

    asyncio.run(poll())
    assert attacker.seen == []


def test_the_manager_gets_the_clear_stream_key_the_api_sealed(database_url, session_factory, db, make_sim):
    """Issue #11 §5: sealed at rest, opened in the manager (where a driver pushes the output)."""
    from prometheus_client import CollectorRegistry

    from castwatch.common.sealing import Sealer
    from castwatch.encoder_manager.manager import EncoderManager
    from castwatch.encoder_manager.metrics import EncoderMetrics
    from tests.encoder_manager.helpers import ManagerHandle, encoder_settings

    sealer = Sealer("operator-secret")
    sim = make_sim("generic_http", streaming=True, password="admin")
    row = encoder_row(db, sim, "obs-out", output={"protocol": "rtmp", "url": "rtmp://x.example/live",
                                                   "stream_key": sealer.seal("live_0123456789abcd")})
    db.commit()
    manager = EncoderManager(encoder_settings(), session_factory, database_url,
                             EncoderMetrics(CollectorRegistry()), sealer=sealer)
    handle = ManagerHandle(manager).start()
    try:
        worker = wait_for(lambda: manager.workers.get(row.id))
        assert worker.row.output["stream_key"] == "live_0123456789abcd"
    finally:
        handle.stop()
