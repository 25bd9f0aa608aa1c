"""Fixtures of the stack tests: a real ``castwatch api`` process on a free port, and a key."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from _stack_support import empty_tables, free_port, stop_process, wait_until
from sqlalchemy import Engine

from castwatch.cms_api.auth import create_key
from castwatch.common.db import make_session_factory, transaction


@pytest.fixture(scope="module")
def api_key(engine: Engine) -> Iterator[str]:
    """An admin API key in the test database; every table is emptied after the module."""
    with transaction(make_session_factory(engine)) as session:
        _row, key = create_key(session, name="stack-tests", scope="admin", expires_in=None)
    yield key
    empty_tables(engine)


@pytest.fixture(scope="module")
def api_port(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """Port of a real `castwatch api` (gunicorn) on the test database."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "API_BIND": f"127.0.0.1:{port}",
           "CASTWATCH_DATA_DIR": str(tmp_path_factory.mktemp("api-data"))}
    log = (tmp_path_factory.mktemp("api-log") / "api.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "castwatch.cli", "api"], env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: requests.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2).ok
                   or process.poll() is not None, timeout_s=40, what="the API to answer")
        assert process.poll() is None, Path(log.name).read_text()
        yield port
    finally:
        stop_process(process)
        log.close()
