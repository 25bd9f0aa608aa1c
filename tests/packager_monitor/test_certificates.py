"""CERT_EXPIRING against a real TLS origin whose certificate (from a private CA made with the
openssl command) expires in 5 days, and against one that does not verify."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests

from castwatch.common.env import ConfigError
from castwatch.packager_monitor.certs import check_certificate
from castwatch.packager_monitor.context import ChannelConfig
from castwatch.packager_monitor.service import StaticSource
from castwatch.packager_monitor.settings import ProbeSettings
from castwatch.simulators.origin.model import SimConfig
from castwatch.simulators.origin.server import SimulatorThread
from tests.support.egress import LOOPBACK

from .conftest import ProbeThread, wait_for


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ca.pem, and leaf.pem/leaf.key for 127.0.0.1 valid for 5 days, signed by the CA."""
    if shutil.which("openssl") is None:
        pytest.fail("the openssl command is needed to make test certificates")
    d = tmp_path_factory.mktemp("pki")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
             "-days", "30", "-subj", "/CN=castwatch test CA", cwd=d)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr",
             "-subj", "/CN=127.0.0.1", cwd=d)
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    _openssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "leaf.pem", "-days", "5", "-extfile", "ext.cnf", cwd=d)
    return d


def _server_context(pki: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki / "leaf.pem", pki / "leaf.key")
    return ctx


def test_the_certificate_check_reads_days_left_or_the_verification_error(pki: Path):
    with SimulatorThread(SimConfig(channels=1), ssl_context=_server_context(pki)) as sim:
        trusted = check_certificate("127.0.0.1", sim.port, policy=LOOPBACK, ca_file=str(pki / "ca.pem"))
        untrusted = check_certificate("127.0.0.1", sim.port, policy=LOOPBACK)
    assert trusted is not None and trusted.error is None and 4.9 < (trusted.days_left or 0) <= 5.0
    assert untrusted is not None and untrusted.days_left is None and untrusted.error
    # nothing listening: not a certificate issue
    assert check_certificate("127.0.0.1", 9, policy=LOOPBACK, timeout_s=1) is None


@pytest.mark.parametrize("trust, expected", [(True, "expires in 5 days"), (False, "does not verify")])
def test_an_https_channel_raises_cert_expiring(pki: Path, trust: bool, expected: str):
    with SimulatorThread(SimConfig(channels=1), ssl_context=_server_context(pki)) as sim:
        channel = ChannelConfig(None, "CH_TLS", sim.master_url("CH_SIM_001"), "HLS")
        settings = ProbeSettings(egress=LOOPBACK,
                                 name="probe-tls", ca_file=str(pki / "ca.pem") if trust else None)
        with ProbeThread(settings, source=StaticSource([channel])) as probe:
            def cert_op():  # type: ignore[no-untyped-def]
                return next((o for o in probe.alert_ops() if o.alert_type == "CERT_EXPIRING"), None)

            def polled() -> bool:
                return bool(probe.service and any(w.facts for w, _, _ in probe.service.workers.values()))
            op = wait_for(cert_op, 15, "CERT_EXPIRING")
            if trust:  # the stream itself is fetched fine over the private CA
                wait_for(polled, 10, "the https channel to be polled")
    assert op.subject == "CH_TLS" and op.severity == "critical" and expected in op.summary


@contextmanager
def _plain_master(text: str) -> Iterator[str]:
    """An http server that answers every GET with ``text`` (a master playlist)."""
    body = text.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.apple.mpegurl")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/master.m3u8"
    finally:
        server.shutdown()
        server.server_close()


def test_the_https_host_of_a_rendition_is_checked_even_when_the_master_is_plain_http(pki: Path):
    """Every https origin the probe polls is checked, not only the channel URL's host."""
    with SimulatorThread(SimConfig(channels=1), ssl_context=_server_context(pki)) as sim:
        tls_master = sim.master_url("CH_SIM_001")
        text = requests.get(tls_master, verify=str(pki / "ca.pem"), timeout=5).text
        absolute = "\n".join(line if line.startswith("#") or not line.strip() else urljoin(tls_master, line)
                             for line in text.splitlines())
        with _plain_master(absolute) as plain_url:
            channel = ChannelConfig(None, "CH_CDN", plain_url, "HLS")
            settings = ProbeSettings(egress=LOOPBACK, name="probe-cdn", ca_file=str(pki / "ca.pem"))
            with ProbeThread(settings, source=StaticSource([channel])) as probe:
                op = wait_for(lambda: next((o for o in probe.alert_ops()
                                            if o.alert_type == "CERT_EXPIRING"), None),
                              15, "CERT_EXPIRING for the rendition host")
    assert op.subject == "CH_CDN" and "127.0.0.1" in op.summary and "expires in 5 days" in op.summary


@pytest.mark.parametrize("trust, expected, severity", [(True, "expires in 5 days", "critical"),
                                                        (False, "does not verify", "critical")])
def test_castwatch_watches_its_own_public_certificate(pki: Path, trust: bool, expected: str,
                                                      severity: str):
    """PROBE_OWN_CERT_URL: CERT_EXPIRING for castwatch/<host>, with no channel at all."""
    with SimulatorThread(SimConfig(channels=1), ssl_context=_server_context(pki)) as sim:
        settings = ProbeSettings(egress=LOOPBACK, name="probe-own", own_cert_url=f"https://127.0.0.1:{sim.port}/",
                                 ca_file=str(pki / "ca.pem") if trust else None)
        with ProbeThread(settings, source=StaticSource([])) as probe:
            op = wait_for(lambda: next((o for o in probe.alert_ops()
                                        if o.alert_type == "CERT_EXPIRING"), None), 15, "own CERT_EXPIRING")
    assert op.kind == "fire" and op.subject == "castwatch/127.0.0.1" and op.channel_id is None
    assert op.severity == severity and expected in op.summary and op.summary.startswith("castwatch:")


def test_the_own_certificate_url_comes_from_the_probe_or_the_public_url():
    assert ProbeSettings.from_env({}).own_cert_url is None
    public = {"NOTIFY_PUBLIC_URL": "https://castwatch.example.org/"}
    assert ProbeSettings.from_env(public).own_cert_url == "https://castwatch.example.org/"
    assert ProbeSettings.from_env({"NOTIFY_PUBLIC_URL": "http://castwatch.local"}).own_cert_url is None
    assert ProbeSettings.from_env({**public, "PROBE_OWN_CERT_URL": "none"}).own_cert_url is None
    own = {**public, "PROBE_OWN_CERT_URL": "https://cw.example.net:8443"}
    assert ProbeSettings.from_env(own).own_cert_url == "https://cw.example.net:8443"
    with pytest.raises(ConfigError, match="PROBE_OWN_CERT_URL"):
        ProbeSettings.from_env({"PROBE_OWN_CERT_URL": "http://cw.example.net"})
