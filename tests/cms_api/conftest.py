"""CMS API fixtures: the app on the test database, API keys of each scope, a live server."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.serving import make_server

from castwatch.cms_api import create_app
from castwatch.cms_api.auth import create_key
from castwatch.common.db import transaction
from castwatch.common.models import Probe, Template, TemplateRendition

from .support import api_settings, bearer


@pytest.fixture()
def make_app(session_factory: sessionmaker[Session]) -> Callable[..., Flask]:
    """Build an app on the test database with API settings overridden by keyword."""

    def build(**api: Any) -> Flask:
        return create_app(api_settings(**api), session_factory=session_factory, start_listener=False)

    return build


@pytest.fixture()
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture()
def make_key(session_factory: sessionmaker[Session]) -> Callable[..., str]:
    """Create an API key in the database; returns the plaintext."""

    def make(scope: str = "admin", name: str | None = None,
             expires_in: timedelta | None = timedelta(days=1)) -> str:
        with transaction(session_factory) as session:
            _, key = create_key(session, name=name or f"{scope}-key", scope=scope,
                                expires_in=expires_in)
        return key

    return make


@pytest.fixture()
def admin(make_key: Callable[..., str]) -> dict[str, str]:
    return bearer(make_key("admin", "ops"))


@pytest.fixture()
def writer(make_key: Callable[..., str]) -> dict[str, str]:
    return bearer(make_key("write", "writer"))


@pytest.fixture()
def reader(make_key: Callable[..., str]) -> dict[str, str]:
    return bearer(make_key("read", "reader"))


@pytest.fixture()
def catalog(session_factory: sessionmaker[Session]) -> dict[str, int]:
    """A probe and a 4K/HDR template, committed; returns their ids."""
    with transaction(session_factory) as session:
        probe = Probe(name="probe-1", status="online")
        template = Template(name="uhd", renditions=[
            TemplateRendition(name="2160p", bandwidth=16_000_000, resolution="3840x2160",
                              video_range="PQ"),
            TemplateRendition(name="720p", bandwidth=3_000_000, resolution="1280x720"),
        ])
        plain = Template(name="sd", renditions=[
            TemplateRendition(name="480p", bandwidth=1_000_000, resolution="854x480")])
        session.add_all([probe, template, plain])
        session.flush()
        return {"probe_id": probe.id, "template_id": template.id, "plain_template_id": plain.id}


@pytest.fixture()
def live_server(session_factory: sessionmaker[Session], database_url: str) -> Iterator[str]:
    """The app with its LISTEN thread, served over real HTTP on a free loopback port."""
    app = create_app(api_settings(), session_factory=session_factory, database_url=database_url)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="api-live-server", daemon=True)
    thread.start()
    hub = app.extensions["castwatch_live"]
    assert hub.listener is not None and hub.listener.connected.wait(10)
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
        hub.stop()
