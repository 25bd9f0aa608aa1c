"""Browser tests of the ops console: the real API (subprocess) on the real test database, driven
in Debian's Chromium by Playwright. Nothing is mocked; no browser is ever downloaded.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy.orm import Session, sessionmaker

from castwatch.cms_api.auth import create_key

from .browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[2]
playwright_sync = pytest.importorskip("playwright.sync_api")
if not os.path.exists(CHROMIUM):  # pragma: no cover - CI installs Debian's chromium
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ApiServer:
    """The API in a child process on a fixed loopback port, so it can be stopped and restarted."""

    def __init__(self, database_url: str, port: int) -> None:
        self.database_url = database_url
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = ARTIFACTS / f"api-{port}.log"

    def start(self, timeout_s: float = 30.0) -> None:
        env = dict(os.environ, DATABASE_URL=self.database_url, LOG_LEVEL="WARNING",
                   API_KEY_CACHE_SECONDS="1")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(Path(__file__).with_name("serve_api.py")), str(self.port)],
                env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the API exited with {self.proc.returncode}; see {self.log}")
            try:
                if requests.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the API did not become healthy within {timeout_s} s; see {self.log}")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None


@pytest.fixture(scope="session")
def api_server(database_url: str) -> Iterator[ApiServer]:
    server = ApiServer(database_url, free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def admin_key(session_factory: sessionmaker[Session]) -> str:
    """A fresh admin API key stored in the test database (emptied after each test)."""
    with session_factory() as session:
        _row, key = create_key(session, name="ops-admin", scope="admin", expires_in=timedelta(days=1))
        session.commit()
    return key


class Rest:
    """A plain HTTP client of the API (the 'separate request' the tests make beside the UI)."""

    def __init__(self, base: str, key: str) -> None:
        self.base = base
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {key}"

    def call(self, method: str, path: str, expect: int | None = None, **kw: Any) -> Any:
        resp = self.http.request(method, self.base + path, timeout=10, **kw)
        if expect is not None:
            assert resp.status_code == expect, resp.text
        return resp.json() if resp.content else None

    def post(self, path: str, body: dict[str, Any], expect: int | None = None) -> Any:
        return self.call("POST", path, expect, json=body)


@pytest.fixture()
def rest(api_server: ApiServer, admin_key: str) -> Rest:
    return Rest(api_server.url + "/api/v1", admin_key)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    with playwright_sync.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture()
def page(browser: Any, api_server: ApiServer) -> Iterator[Any]:
    """A fresh browser context (empty sessionStorage); uncaught page errors fail the test."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=api_server.url)
    context.set_default_timeout(10_000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield pg
    finally:
        context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture()
def sign_in(page: Any, admin_key: str) -> Callable[..., Any]:
    """sign_in(hash="#/overview") opens the console and signs in with the admin key."""

    def go(hash_: str = "#/overview", key: str | None = None) -> Any:
        page.goto("/" + hash_)
        page.fill("#signin-key", key or admin_key)
        page.click("#signin-form button[type=submit]")
        page.wait_for_selector("#topbar:not([hidden])")
        page.wait_for_selector("body[data-ready]")  # the page has loaded its data and rendered
        return page

    return go
