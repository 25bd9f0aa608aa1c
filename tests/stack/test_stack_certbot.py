"""The certbot profile's scripts, run for real with stand-in ``certbot`` and ``nginx`` commands
(no ACME server is reachable from CI): what certbot is asked to do, how the new certificate
reaches TLS_CERT_DIR, and that nginx reloads itself when it changes."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import yaml
from _stack_support import REPO, wait_until

RUN = REPO / "deploy" / "certbot" / "run.sh"
RELOAD = REPO / "deploy" / "nginx" / "40-reload-certificates.sh"

FAKE_CERTBOT = """#!/bin/sh
echo "$*" >> "$FAKE_LOG"
if [ "$1" = certonly ] || [ -n "${FAKE_RENEWED:-}" ]; then
  mkdir -p "$CERTBOT_LIVE_DIR/$PUBLIC_HOSTNAME"
  echo "chain-${FAKE_RENEWED:-1}" > "$CERTBOT_LIVE_DIR/$PUBLIC_HOSTNAME/fullchain.pem"
  echo "key-${FAKE_RENEWED:-1}" > "$CERTBOT_LIVE_DIR/$PUBLIC_HOSTNAME/privkey.pem"
fi
"""


def _bin(tmp: Path, name: str, text: str) -> Path:
    directory = tmp / "bin"
    directory.mkdir(exist_ok=True)
    (directory / name).write_text(text)
    (directory / name).chmod(0o755)
    return directory


def _run_certbot(tmp: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{_bin(tmp, 'certbot', FAKE_CERTBOT)}:{os.environ['PATH']}",
           "FAKE_LOG": str(tmp / "calls"), "PUBLIC_HOSTNAME": "castwatch.example.org",
           "CERTBOT_WEBROOT": str(tmp / "acme"), "CERTBOT_CERTS_DIR": str(tmp / "certs"),
           "CERTBOT_LIVE_DIR": str(tmp / "live"), "CERTBOT_ONCE": "true", **extra}
    (tmp / "certs").mkdir(exist_ok=True)
    return subprocess.run(["sh", str(RUN)], env=env, capture_output=True, text=True, timeout=30)


def test_the_first_run_obtains_a_certificate_through_the_webroot_and_installs_it(tmp_path: Path) -> None:
    out = _run_certbot(tmp_path, LETSENCRYPT_EMAIL="ops@example.org")
    assert out.returncode == 0, out.stderr
    (call,) = (tmp_path / "calls").read_text().splitlines()
    assert call.startswith("certonly --webroot -w " + str(tmp_path / "acme"))
    assert "-d castwatch.example.org" in call and "--email ops@example.org" in call
    assert "--staging" not in call
    assert (tmp_path / "certs" / "fullchain.pem").read_text() == "chain-1\n"
    assert (tmp_path / "certs" / "privkey.pem").read_text() == "key-1\n"
    assert "installed a new certificate" in out.stdout


def test_later_runs_renew_and_install_only_a_changed_certificate(tmp_path: Path) -> None:
    _run_certbot(tmp_path, LETSENCRYPT_STAGING="true")
    assert "--staging" in (tmp_path / "calls").read_text()
    same = _run_certbot(tmp_path)
    assert (tmp_path / "calls").read_text().splitlines()[-1].startswith("renew --webroot")
    assert "installed" not in same.stdout
    renewed = _run_certbot(tmp_path, FAKE_RENEWED="2")
    assert "installed a new certificate" in renewed.stdout
    assert (tmp_path / "certs" / "fullchain.pem").read_text() == "chain-2\n"


def test_nginx_reloads_itself_when_the_certificate_changes(tmp_path: Path) -> None:
    cert = tmp_path / "fullchain.pem"
    cert.write_text("old\n")
    reloads = tmp_path / "reloads"
    fake_nginx = f'#!/bin/sh\necho "$*" >> {reloads}\n'
    env = {**os.environ, "PATH": f"{_bin(tmp_path, 'nginx', fake_nginx)}:{os.environ['PATH']}",
           "CERT_RELOAD_FILE": str(cert), "CERT_RELOAD_CHECK_S": "0.2"}
    process = subprocess.Popen(["sh", str(RELOAD)], env=env, start_new_session=True)
    try:
        assert process.wait(10) == 0  # the entrypoint script returns; its loop runs on
        time.sleep(1)
        assert not reloads.exists()  # nothing changed, no reload
        cert.write_text("renewed\n")
        wait_until(lambda: reloads.exists() and reloads.read_text() == "-s reload\n", timeout_s=10,
                   what="nginx -s reload after the certificate changed")
        time.sleep(1)
        assert reloads.read_text() == "-s reload\n"  # once per change
    finally:
        os.killpg(process.pid, signal.SIGTERM)


def test_the_certbot_profile_is_opt_in_and_shares_the_webroot_and_certs_with_nginx() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    certbot, nginx = compose["services"]["certbot"], compose["services"]["nginx"]
    assert certbot["profiles"] == ["certbot"]
    assert "acme-challenges:/var/www/acme" in certbot["volumes"]
    assert "acme-challenges:/var/www/acme:ro" in nginx["volumes"]
    assert any(v.endswith(":/etc/nginx/certs") for v in certbot["volumes"])
    assert any("40-reload-certificates.sh:/docker-entrypoint.d/" in v for v in nginx["volumes"])


def test_the_certbot_healthcheck_fails_when_the_certificate_expires_within_10_days(tmp_path: Path) -> None:
    import sys

    from _stack_support import run_tool

    check = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]["certbot"]["healthcheck"]
    code = check["test"][3]
    for days, healthy in ((2, False), (60, True)):
        cert = tmp_path / f"{days}.pem"
        run_tool("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", str(days),
                 "-subj", "/CN=x",
                 "-keyout", str(tmp_path / "key.pem"), "-out", str(cert))
        result = subprocess.run([sys.executable, "-c", code, str(cert)], capture_output=True, timeout=30)
        assert (result.returncode == 0) is healthy, (days, result.stderr)
