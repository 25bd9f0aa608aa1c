"""Incident fixtures: a station seeded in the real test database, a correlator on it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from castwatch.common import alerts
from castwatch.common.db import transaction
from castwatch.common.models import (
    Alert,
    Channel,
    Encoder,
    EncoderGroup,
    NotificationRule,
    Recipient,
    Template,
    TemplateRendition,
)
from castwatch.incidents.correlator import Correlator
from castwatch.incidents.known_issues import load_library


@pytest.fixture()
def seeded(session_factory: sessionmaker[Session]) -> dict[str, Any]:
    """Origin A with NEWS (tier 1, group news-pair: enc-a active, enc-b backup), SPORT, MOVIES;
    a cablecaster and an engineer; one rule sending everything to both. Returns ids."""
    with transaction(session_factory) as s:
        tpl = Template(name="ladder", renditions=[
            TemplateRendition(name=n, bandwidth=b) for n, b in
            (("1080p", 6_000_000), ("720p", 3_000_000), ("480p", 1_000_000))])
        group = EncoderGroup(name="news-pair")
        s.add_all([tpl, group])
        s.flush()
        enc_a = Encoder(name="enc-a", driver_kind="generic_http", address="127.0.0.1:1",
                        group_id=group.id, role="primary", state="live")
        enc_b = Encoder(name="enc-b", driver_kind="generic_http", address="127.0.0.1:2",
                        group_id=group.id, role="backup", state="idle")
        s.add_all([enc_a, enc_b])
        s.flush()
        group.active_encoder_id = enc_a.id
        chans = {}
        for code, tier, gid in (("NEWS", 1, group.id), ("SPORT", 2, None), ("MOVIES", 3, None)):
            ch = Channel(code=code, name=code.title(), tier=tier, template_id=tpl.id,
                         input_url=f"http://origin-a.example:8080/{code.lower()}/master.m3u8",
                         encoder_group_id=gid)
            s.add(ch)
            s.flush()
            chans[code] = ch.id
        caster = Recipient(name="Cara", role="cablecaster", email="cara@example.org")
        eng = Recipient(name="Eli", role="engineer", email="eli@example.org")
        s.add_all([caster, eng, NotificationRule(name="all", roles=["cablecaster", "engineer"],
                                                 transports=["email"], group_wait_s=30)])
        s.flush()
        return {"channels": chans, "group": group.id, "enc_a": enc_a.id, "enc_b": enc_b.id,
                "template": tpl.id}


@pytest.fixture()
def correlator(session_factory: sessionmaker[Session]) -> Correlator:
    return Correlator(session_factory, load_library(), window_s=60)


@pytest.fixture()
def fire(session_factory: sessionmaker[Session]) -> Callable[..., int]:
    """Open an alert like its source would (committed); returns its id."""

    def make(source: str, subject: str, alert_type: str, severity: str = "major", **kw: Any) -> int:
        with transaction(session_factory) as s:
            alert, _ = alerts.fire(s, alerts.AlertKey(source, subject, alert_type), severity=severity,
                                   summary=f"{alert_type} on {subject}", **kw)
            return alert.id

    return make


@pytest.fixture()
def clear(session_factory: sessionmaker[Session]) -> Callable[[int], None]:
    def done(alert_id: int) -> None:
        with transaction(session_factory) as s:
            a = s.get(Alert, alert_id)
            assert a is not None
            alerts.clear(s, alerts.AlertKey(a.source, a.subject, a.alert_type))

    return done


@pytest.fixture()
def api(session_factory: sessionmaker[Session]):  # type: ignore[no-untyped-def]
    """A test client of the real API app with the incidents blueprint, and an admin header."""
    from castwatch.cms_api import create_app
    from castwatch.cms_api.auth import create_key
    from castwatch.cms_api.blueprints import incidents
    from tests.cms_api.support import api_settings, bearer

    app = create_app(api_settings(), session_factory=session_factory, start_listener=False)
    if "incidents" not in app.blueprints:  # until create_app registers it
        app.register_blueprint(incidents.bp)
    with transaction(session_factory) as s:
        _, key = create_key(s, name="ops", scope="admin", expires_in=timedelta(days=1))
    return app.test_client(), bearer(key)


class ServiceThread:
    """The correlator :class:`Service` (real LISTEN) on a thread, fast settings."""

    def __init__(self, factory: sessionmaker[Session], url: str, **kw: Any) -> None:
        import threading

        from prometheus_client import CollectorRegistry

        from castwatch.incidents.correlator import IncidentMetrics, Service

        self.service = Service(Correlator(factory, load_library(), window_s=kw.pop("window_s", 60)), url,
                               IncidentMetrics(CollectorRegistry()), poll_s=kw.pop("poll_s", 1.0),
                               settle_s=kw.pop("settle_s", 0.2), **kw)
        self._thread = threading.Thread(target=self.service.run, name="incidents", daemon=True)

    def __enter__(self) -> ServiceThread:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.service.stop()
        self._thread.join(10)


@pytest.fixture()
def correlator_thread(session_factory: sessionmaker[Session], database_url: str):  # type: ignore[no-untyped-def]
    with ServiceThread(session_factory, database_url) as thread:
        yield thread
