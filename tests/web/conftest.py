"""Browser tests of the ops console: the real API (subprocess) on the real test database, driven
in Debian's Chromium by Playwright. Nothing is mocked; no browser is ever downloaded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests
from playwright.sync_api import sync_playwright
from sqlalchemy.orm import Session, sessionmaker

from castwatch.cms_api.auth import create_key

from .browser import CHROMIUM, CHROMIUM_ARGS
from .server import ApiServer, free_port


@pytest.fixture(scope="package")
def api_server(database_url: str) -> Iterator[ApiServer]:
    """``castwatch api`` for the browser tests; stopped when tests/web is done."""
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


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture()
def page(browser: Any, api_server: ApiServer) -> Iterator[Any]:
    """A fresh browser context (empty sessionStorage); uncaught page errors and CSP violations
    fail the test."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=api_server.url)
    context.set_default_timeout(10_000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    # Anything the Content-Security-Policy blocked (an inline style or script) is a bug too.
    pg.on("console", lambda msg: errors.append(msg.text)
          if msg.type == "error" and "Content Security Policy" in msg.text else None)
    try:
        yield pg
    finally:
        context.close()
    assert not errors, f"errors in the page: {errors}"


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
