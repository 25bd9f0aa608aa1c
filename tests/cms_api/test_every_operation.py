"""Every operation in the OpenAPI document guards itself: 401 without a key, 403 below its scope,
404 for an unknown id — read from the document, so a new endpoint is covered automatically."""

from __future__ import annotations

import re

import pytest


@pytest.fixture()
def operations(client) -> list[tuple[str, str, dict]]:
    spec = client.get("/api/v1/openapi.json").get_json()
    return [(path, method, op) for path, item in spec["paths"].items() for method, op in item.items()]


def _url(path: str, ident: int = 424242) -> str:
    return re.sub(r"\{[a-z_]+\}", str(ident), path)


def _call(client, method: str, path: str, headers: dict[str, str] | None = None):
    return client.open(_url(path), method=method.upper(), headers=headers or {},
                       json={} if method in ("post", "put") else None)


def test_every_guarded_operation_refuses_a_missing_key(client, operations):
    guarded = [(p, m) for p, m, op in operations if op["security"]]
    assert len(guarded) > 40
    for path, method in guarded:
        resp = _call(client, method, path)
        assert resp.status_code == 401, (method, path, resp.status_code)
        assert resp.get_json()["error"]["code"] == "unauthenticated"


def test_every_operation_above_read_refuses_a_read_key(client, reader, operations):
    for path, method, op in operations:
        if op.get("x-scope") in ("write", "admin"):
            resp = _call(client, method, path, reader)
            assert resp.status_code == 403, (method, path, resp.status_code)


def test_every_operation_on_an_unknown_id_answers_404_or_refuses_the_body(client, admin, operations):
    for path, method, _op in operations:
        if "{" not in path:
            continue
        resp = _call(client, method, path, admin)
        assert resp.status_code in (400, 404), (method, path, resp.status_code)
        if resp.status_code == 404:
            assert resp.get_json()["error"]["code"] == "not_found"
        # A valid body for an unknown id must still be 404: an empty update is valid for PUTs.
        if method == "put":
            assert resp.status_code == 404, path
