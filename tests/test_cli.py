from __future__ import annotations

import subprocess
import sys

import pytest

from castwatch.cli import COMMANDS


def _castwatch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "castwatch.cli", *args], capture_output=True,
                          text=True, timeout=60, env=env)


def test_castwatch_help_lists_every_subcommand():
    out = _castwatch("--help")
    assert out.returncode == 0
    for name in COMMANDS:
        assert name in out.stdout


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_subcommand_explains_itself(command):
    out = _castwatch(command, "--help")
    assert out.returncode == 0, out.stderr
    assert "usage: castwatch " + command in out.stdout


def test_a_bad_setting_stops_start_up_with_the_variable_named():
    import os

    env = dict(os.environ, LOG_FORMAT="xml")
    out = _castwatch("migrate", env=env)
    assert out.returncode == 2
    assert "LOG_FORMAT" in out.stderr


def test_migrate_upgrades_the_database_it_is_given(database_url):
    import os

    from sqlalchemy import create_engine, text

    from castwatch.common.db import sqlalchemy_url

    env = dict(os.environ, DATABASE_URL=database_url.replace("+psycopg2", ""))
    out = _castwatch("migrate", env=env)
    assert out.returncode == 0, out.stderr
    engine = create_engine(sqlalchemy_url(database_url))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
