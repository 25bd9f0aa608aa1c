"""The API explorer works in a real browser under the console's strict CSP (issue #11 §5)."""

from __future__ import annotations

from typing import Any


def test_the_explorer_runs_under_its_csp_and_refuses_framing(page: Any, api_server: Any) -> None:
    resp = page.goto("/api/v1/docs")
    assert resp is not None and resp.headers["x-frame-options"] == "DENY"
    page.wait_for_selector("details summary .path")  # its inline script ran and listed operations
    assert page.locator("details").count() > 20
    assert page.evaluate("getComputedStyle(document.querySelector('.keylabel')).color") \
        == "rgb(204, 204, 221)"  # its inline style applied too
    # the page fixture fails the test on any CSP violation reported in the console
