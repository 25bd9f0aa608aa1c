"""CERT_EXPIRING against a real TLS origin whose certificate (from a private CA made with the
openssl command) expires in 5 days, and against one that does not verify."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

from castwatch.packager_monitor.certs import check_certificate
from castwatch.packager_monitor.context import ChannelConfig
from castwatch.packager_monitor.service import StaticSource
from castwatch.packager_monitor.settings import ProbeSettings
from castwatch.simulators.origin.model import SimConfig
from castwatch.simulators.origin.server import SimulatorThread

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
        trusted = check_certificate("127.0.0.1", sim.port, ca_file=str(pki / "ca.pem"))
        untrusted = check_certificate("127.0.0.1", sim.port)
    assert trusted is not None and trusted.error is None and 4.9 < (trusted.days_left or 0) <= 5.0
    assert untrusted is not None and untrusted.days_left is None and untrusted.error
    assert check_certificate("127.0.0.1", 9, timeout_s=1) is None  # nothing listening: not a cert issue


@pytest.mark.parametrize("trust, expected", [(True, "expires in 5 days"), (False, "does not verify")])
def test_an_https_channel_raises_cert_expiring(pki: Path, trust: bool, expected: str):
    with SimulatorThread(SimConfig(channels=1), ssl_context=_server_context(pki)) as sim:
        channel = ChannelConfig(None, "CH_TLS", sim.master_url("CH_SIM_001"), "HLS")
        settings = ProbeSettings(name="probe-tls", ca_file=str(pki / "ca.pem") if trust else None)
        with ProbeThread(settings, source=StaticSource([channel])) as probe:
            def cert_op():  # type: ignore[no-untyped-def]
                return next((o for o in probe.alert_ops() if o.alert_type == "CERT_EXPIRING"), None)

            def polled() -> bool:
                return bool(probe.service and any(w.facts for w, _, _ in probe.service.workers.values()))
            op = wait_for(cert_op, 15, "CERT_EXPIRING")
            if trust:  # the stream itself is fetched fine over the private CA
                wait_for(polled, 10, "the https channel to be polled")
    assert op.subject == "CH_TLS" and op.severity == "critical" and expected in op.summary
