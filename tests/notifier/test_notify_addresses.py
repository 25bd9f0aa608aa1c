"""Migration 0007 keeps today's recipients reachable: their Telegram and email columns become
``recipient_addresses`` rows, and a trigger keeps those rows in step with the columns."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg2
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from castwatch.common.db import downgrade, sqlalchemy_url, upgrade

SCRATCH = "castwatch_addresses_scratch"


@pytest.fixture()
def scratch_url(database_url: str) -> Iterator[str]:
    dsn = database_url.replace("postgresql+psycopg2://", "postgresql://", 1)
    admin = psycopg2.connect(dsn)
    admin.autocommit = True
    admin.cursor().execute(f"DROP DATABASE IF EXISTS {SCRATCH}")
    admin.cursor().execute(f"CREATE DATABASE {SCRATCH}")
    yield make_url(database_url).set(database=SCRATCH).render_as_string(hide_password=False)
    admin.cursor().execute(f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)")
    admin.close()


def test_migration_0007_copies_addresses_and_the_trigger_keeps_them_in_step(scratch_url: str) -> None:
    upgrade(scratch_url, "0005")
    engine = create_engine(sqlalchemy_url(scratch_url))
    try:
        with engine.begin() as conn:
            conn.execute(text("""
                INSERT INTO recipients (name, role, telegram_chat_id, email, telegram_enabled,
                                        email_enabled, disabled_reason) VALUES
                ('ann', 'engineer', 11, 'ann@example.test', true, true, NULL),
                ('bob', 'technician', -100, NULL, false, true, 'telegram disabled: forbidden'),
                ('cal', 'cablecaster', NULL, 'cal@example.test', true, false, NULL)"""))
        upgrade(scratch_url, "0007")
        query = text("""SELECT r.name, a.kind, a.value, a.enabled, a.disabled_reason
                        FROM recipient_addresses a JOIN recipients r ON r.id = a.recipient_id
                        ORDER BY r.name, a.kind""")
        with engine.begin() as conn:
            assert [tuple(r) for r in conn.execute(query)] == [
                ("ann", "email", "ann@example.test", True, None),
                ("ann", "telegram", "11", True, None),
                ("bob", "telegram", "-100", False, "telegram disabled: forbidden"),
                ("cal", "email", "cal@example.test", False, None),
            ]
            conn.execute(text(
                "UPDATE recipients SET telegram_chat_id = 12, email = NULL WHERE name = 'ann'"))
            conn.execute(text("UPDATE recipients SET telegram_enabled = true WHERE name = 'bob'"))
            conn.execute(text(
                "INSERT INTO recipients (name, role, email) VALUES ('dee', 'engineer', 'd@x.test')"))
            rows = {(r[0], r[1]): (r[2], r[3], r[4]) for r in conn.execute(query)}
        assert rows[("ann", "telegram")] == ("12", True, None) and ("ann", "email") not in rows
        assert rows[("bob", "telegram")] == ("-100", True, None)
        assert rows[("dee", "email")] == ("d@x.test", True, None)
        with engine.begin() as conn:  # a transport name, not a fixed list; no schema change needed
            conn.execute(text("""INSERT INTO recipient_addresses (recipient_id, kind, value)
                                 SELECT id, 'slack', 'https://hooks.slack.com/services/x' FROM recipients
                                 WHERE name = 'cal'"""))
            conn.execute(text("""INSERT INTO deliveries (recipient_id, transport, kind)
                                 SELECT id, 'slack', 'test' FROM recipients WHERE name = 'cal'"""))
        downgrade(scratch_url, "0005")
        with engine.begin() as conn:
            assert conn.execute(text("SELECT to_regclass('recipient_addresses')")).scalar() is None
            assert conn.execute(text("SELECT count(*) FROM deliveries")).scalar() == 0
    finally:
        engine.dispose()
