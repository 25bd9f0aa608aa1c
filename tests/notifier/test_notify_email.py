"""Email end to end: alert in PostgreSQL → notifier → a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select
from sqlalchemy.orm import Session

from castwatch.common import alerts
from castwatch.common.alerts import AlertKey
from castwatch.common.models import Delivery

from .conftest import (
    NotifierThread,
    SmtpRecorder,
    add_person,
    add_rule,
    free_port,
    notify_settings,
    wait_for,
)


def statuses(db: Session) -> list[tuple[str, str, int, str | None]]:
    db.expire_all()
    return [(r.kind, r.status, r.attempts, r.last_error)
            for r in db.scalars(select(Delivery).order_by(Delivery.id))]


def test_every_update_of_an_alert_threads_under_its_first_email(
        db: Session, smtp: tuple[SmtpRecorder, int], notifier: Callable[..., NotifierThread]) -> None:
    recorder, port = smtp
    add_person(db, "tina", email="tina@example.test")
    add_rule(db, transports=["email"])
    alert, _ = alerts.fire(db, AlertKey("probe", "CH1/720p", "PLAYLIST_STALE"), severity="critical",
                           summary="Playlist stale for 12 s <b>",
                           details={"remediation": "Restart the packager"})
    db.commit()
    notifier(notify_settings(smtp_port=port))
    wait_for(lambda: len(recorder.messages) == 1)
    alerts.acknowledge(db, alert.id, actor="eddie")
    db.commit()
    wait_for(lambda: len(recorder.messages) == 2)
    first, second = recorder.messages
    assert first["To"] == "tina@example.test" and "PLAYLIST_STALE" in first["Subject"]
    assert first.is_multipart()
    parts = {p.get_content_type(): p.get_content() for p in first.walk() if not p.is_multipart()}
    assert "Restart the packager" in parts["text/plain"]
    assert "Playlist stale for 12 s &lt;b&gt;" in parts["text/html"]
    assert first["In-Reply-To"] is None
    assert second["In-Reply-To"] == first["Message-ID"] == second["References"]
    body = second.get_body(("plain",))
    assert body is not None and "eddie" in body.get_content()
    wait_for(lambda: [s[1] for s in statuses(db)] == ["sent", "sent"])


def test_a_421_is_retried_and_delivered(
        db: Session, smtp: tuple[SmtpRecorder, int], notifier: Callable[..., NotifierThread]) -> None:
    recorder, port = smtp
    recorder.script = ["421 4.3.2 Service not available, try later"]
    add_person(db, "tina", email="tina@example.test")
    add_rule(db, transports=["email"])
    alerts.fire(db, AlertKey("probe", "CH1", "PLAYLIST_STALE"), severity="critical", summary="stale")
    db.commit()
    notifier(notify_settings(smtp_port=port))
    wait_for(lambda: statuses(db) and statuses(db)[0][1] == "sent")
    assert recorder.attempts == 2 and len(recorder.messages) == 1


def test_a_550_fails_permanently_without_retrying(
        db: Session, smtp: tuple[SmtpRecorder, int], notifier: Callable[..., NotifierThread]) -> None:
    recorder, port = smtp
    recorder.script = ["550 5.1.1 No such user"]
    add_person(db, "tina", email="nobody@example.test")
    add_rule(db, transports=["email"])
    alerts.fire(db, AlertKey("probe", "CH1", "PLAYLIST_STALE"), severity="critical", summary="stale")
    db.commit()
    notifier(notify_settings(smtp_port=port))
    wait_for(lambda: statuses(db) and statuses(db)[0][1] == "failed")
    [(kind, status, attempts, error)] = statuses(db)
    assert attempts == 1 and "550" in (error or "")
    assert recorder.attempts == 1 and recorder.messages == []


def test_without_any_transport_configured_deliveries_fail_clearly(
        db: Session, notifier: Callable[..., NotifierThread]) -> None:
    add_person(db, "tina", telegram_chat_id=11, email="tina@example.test")
    add_rule(db)
    alerts.fire(db, AlertKey("probe", "CH1", "PLAYLIST_STALE"), severity="critical", summary="stale")
    db.commit()
    notifier(notify_settings())
    wait_for(lambda: len(statuses(db)) >= 2 and all(s[1] == "failed" for s in statuses(db)))
    assert all("transport not configured" in (s[3] or "") for s in statuses(db))


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (its own CA), written as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_mail_goes_over_verified_starttls_or_implicit_tls(
        security: str, tmp_path: Path, db: Session, notifier: Callable[..., NotifierThread]) -> None:
    cert, key = _self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    recorder, port = SmtpRecorder(), free_port()
    options = {"tls_context": server_tls, "require_starttls": True} if security == "starttls" \
        else {"ssl_context": server_tls}
    controller = Controller(recorder, hostname="127.0.0.1", port=port, ready_timeout=10,
                            **options)  # type: ignore[arg-type]
    controller.start()
    try:
        add_person(db, "tina", email="tina@example.test")
        add_rule(db, transports=["email"])
        alerts.fire(db, AlertKey("probe", "CH1", "PLAYLIST_STALE"), severity="critical", summary="stale")
        db.commit()
        settings = notify_settings(smtp_port=port)
        notifier(replace(settings, smtp=replace(settings.smtp, security=security, ca_file=cert)))
        wait_for(lambda: recorder.messages)
        assert recorder.messages[0]["To"] == "tina@example.test"
        wait_for(lambda: [s[1] for s in statuses(db)] == ["sent"])
    finally:
        controller.stop()
