"""Migration 0006 seals the stream keys already stored (issue #11 §5)."""

from __future__ import annotations

import psycopg2
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from castwatch.common.db import sqlalchemy_url, upgrade
from castwatch.common.sealing import Sealer

KEY = "live_abcdefgh_legacy_9876"


@pytest.fixture()
def scratch_url(database_url: str):
    dsn = database_url.replace("postgresql+psycopg2://", "postgresql://", 1)
    admin = psycopg2.connect(dsn)
    admin.autocommit = True
    admin.cursor().execute("DROP DATABASE IF EXISTS castwatch_m0006_scratch")
    admin.cursor().execute("CREATE DATABASE castwatch_m0006_scratch")
    yield make_url(database_url).set(database="castwatch_m0006_scratch").render_as_string(
        hide_password=False)
    admin.cursor().execute("DROP DATABASE IF EXISTS castwatch_m0006_scratch WITH (FORCE)")
    admin.close()


def test_clear_stream_keys_are_sealed_and_never_left_behind(scratch_url, monkeypatch):
    upgrade(scratch_url, "0005")
    engine = create_engine(sqlalchemy_url(scratch_url))
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO encoders (name, driver_kind, address, role, output) VALUES "
                              "('obs', 'obs', '10.0.0.1:4455', 'primary', CAST(:o AS jsonb))"),
                         {"o": f'{{"protocol": "rtmp", "stream_key": "{KEY}"}}'})
        monkeypatch.delenv("CASTWATCH_SECRET_KEY", raising=False)
        monkeypatch.delenv("CASTWATCH_SECRET_KEY_FILE", raising=False)
        with pytest.raises(RuntimeError, match="CASTWATCH_SECRET_KEY"):
            upgrade(scratch_url)
        monkeypatch.setenv("CASTWATCH_SECRET_KEY", "operator-secret")
        upgrade(scratch_url)
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT output->>'stream_key' FROM encoders")).scalar_one()
            shown = conn.execute(text("SELECT output->>'stream_key' FROM grafana.encoders")).scalar_one()
            scope = conn.execute(text("SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                                      "WHERE conname = 'ck_api_keys_scope'")).scalar_one()
        assert stored.startswith("enc:v1:9876:") and KEY not in stored
        assert Sealer("operator-secret").open(stored) == KEY
        assert shown == "sk-…9876"
        assert "webhook" in scope
    finally:
        engine.dispose()
