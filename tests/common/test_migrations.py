from __future__ import annotations

import json
import select
import time

import psycopg2
import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from castwatch.common.db import downgrade, sqlalchemy_url, upgrade
from castwatch.common.models import Base


@pytest.fixture()
def scratch_url(database_url: str):
    """A second, empty database on the same server, dropped afterwards."""
    dsn = database_url.replace("postgresql+psycopg2://", "postgresql://", 1)
    admin = psycopg2.connect(dsn)
    admin.autocommit = True
    admin.cursor().execute("DROP DATABASE IF EXISTS castwatch_migrations_scratch")
    admin.cursor().execute("CREATE DATABASE castwatch_migrations_scratch")
    url = make_url(database_url).set(database="castwatch_migrations_scratch").render_as_string(
        hide_password=False)
    yield url
    admin.cursor().execute("DROP DATABASE IF EXISTS castwatch_migrations_scratch WITH (FORCE)")
    admin.close()


def _tables(url: str) -> set[str]:
    engine = create_engine(sqlalchemy_url(url))
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade_round_trips(scratch_url):
    upgrade(scratch_url)
    assert _tables(scratch_url) == set(Base.metadata.tables)
    downgrade(scratch_url, "base")
    assert _tables(scratch_url) == set()
    upgrade(scratch_url)
    assert _tables(scratch_url) == set(Base.metadata.tables)


def test_the_migrated_schema_matches_the_models(database_url):
    """Autogenerate finds nothing to do: models and migrations agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = create_engine(sqlalchemy_url(database_url))
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_changes_are_announced_on_the_bus_after_commit(engine, session_factory):
    dsn = engine.url.render_as_string(hide_password=False).replace("+psycopg2", "")
    listener = psycopg2.connect(dsn)
    listener.autocommit = True
    listener.cursor().execute("LISTEN castwatch_channels")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO channels (code, name, channel_type, tier, protocol, input_url)"
                          " VALUES ('CH1', 'One', 'LIVE', 1, 'HLS', 'http://o/master.m3u8')"))
    deadline = time.monotonic() + 10
    while not listener.notifies and time.monotonic() < deadline:
        select.select([listener], [], [], 0.5)
        listener.poll()
    notes = [json.loads(n.payload) for n in listener.notifies]
    listener.close()
    assert [(n["table"], n["op"]) for n in notes] == [("channels", "INSERT")]
    assert isinstance(notes[0]["id"], int)


def test_migrations_import_nothing_from_castwatch():
    """Migrations are frozen history: a revision never imports the live package."""
    import ast
    from pathlib import Path

    versions = Path(__file__).resolve().parents[2] / "migrations" / "versions"
    offenders = []
    for path in sorted(versions.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] == "castwatch"]
    assert offenders == []


def test_every_bus_table_has_its_notify_trigger_after_upgrade_head(database_url):
    """Each table the live bus announces has a trigger, whichever revision created it."""
    from castwatch.common.bus import NOTIFY_TABLES

    engine = create_engine(sqlalchemy_url(database_url))
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " WHERE NOT t.tgisinternal AND t.tgname = c.relname || '_notify'"
            " AND pg_get_triggerdef(t.oid) LIKE '%castwatch_notify()%'")).scalars().all()
    engine.dispose()
    assert set(NOTIFY_TABLES) <= set(rows)


def test_todays_groups_become_one_output_pools(scratch_url, monkeypatch):
    """0009 gives every group one output, assigned to its active encoder, pointing where its
    primary's output points (the stream key stays with the encoder)."""
    monkeypatch.setenv("CASTWATCH_SECRET_KEY", "migration-test-key")  # 0006 seals the stream key
    upgrade(scratch_url, "0005")
    engine = create_engine(sqlalchemy_url(scratch_url))
    try:
        with engine.begin() as conn:
            gid = conn.execute(text("INSERT INTO encoder_groups (name) VALUES ('council') "
                                    "RETURNING id")).scalar()
            out = json.dumps({"protocol": "rtmp", "url": "rtmp://cdn/live", "stream_key": "s3cret",
                              "bitrate_kbps": 6000})
            primary = conn.execute(text(
                "INSERT INTO encoders (name, driver_kind, address, group_id, role, output) VALUES "
                "('p', 'obs', 'a:1', :g, 'primary', CAST(:o AS jsonb)) RETURNING id"),
                {"g": gid, "o": out}).scalar()
            backup = conn.execute(text(
                "INSERT INTO encoders (name, driver_kind, address, group_id, role) VALUES "
                "('b', 'obs', 'a:2', :g, 'backup') RETURNING id"), {"g": gid}).scalar()
            conn.execute(text("UPDATE encoder_groups SET active_encoder_id = :b WHERE id = :g"),
                         {"b": backup, "g": gid})
        upgrade(scratch_url)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT name, group_id, destination, format, assigned_encoder_id "
                                     "FROM encoder_outputs")).all()
    finally:
        engine.dispose()
    assert len(rows) == 1 and primary
    name, group_id, destination, fmt, assigned = rows[0]
    assert (name, group_id, destination, assigned) == ("council", gid, "rtmp://cdn/live", backup)
    assert fmt == {"protocol": "rtmp", "bitrate_kbps": 6000} and "s3cret" not in json.dumps(fmt)
