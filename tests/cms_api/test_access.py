"""``GET /api/v1/me`` and API-key administration over the real API and database."""

from __future__ import annotations

from sqlalchemy import select

from castwatch.cms_api.auth import hash_key
from castwatch.common.models import ApiKey

from .support import bearer


def test_me_names_the_caller_and_its_scope(client, make_key):
    key = make_key("write", name="deploy-bot")
    resp = client.get("/api/v1/me", headers=bearer(key))
    assert resp.status_code == 200
    assert resp.json["name"] == "deploy-bot" and resp.json["scope"] == "write"
    assert client.get("/api/v1/me").status_code == 401


def test_an_admin_creates_a_key_that_is_shown_once_and_only_its_hash_is_stored(
        client, admin, session_factory):
    resp = client.post("/api/v1/keys", headers=admin,
                       json={"name": "grafana", "scope": "read", "expires_in_days": 30})
    assert resp.status_code == 201, resp.json
    created = resp.json
    key = created["key"]
    assert key.startswith("cw_") and created["prefix"] == key[:11] and created["state"] == "active"
    with session_factory() as session:
        row = session.get(ApiKey, created["id"])
        assert row.key_hash == hash_key(key) and key not in (row.prefix, row.key_hash)
        assert 29 <= (row.expires_at - row.created_at).days <= 30
    me = client.get("/api/v1/me", headers=bearer(key)).json
    assert (me["name"], me["scope"]) == ("grafana", "read")
    listed = client.get("/api/v1/keys", headers=admin).json
    assert [k["name"] for k in listed][:2] == ["grafana", "ops"]  # newest first
    assert all("key" not in k and "key_hash" not in k for k in listed)


def test_a_key_without_expiry_never_expires_and_a_bad_scope_is_refused(client, admin):
    never = client.post("/api/v1/keys", headers=admin,
                        json={"name": "wall", "scope": "read", "expires_in_days": None}).json
    assert never["expires_at"] is None
    default = client.post("/api/v1/keys", headers=admin, json={"name": "ci"}).json
    assert default["scope"] == "read" and default["expires_at"] is not None  # 90 days, as the CLI
    bad = client.post("/api/v1/keys", headers=admin, json={"name": "x", "scope": "root"})
    assert bad.status_code == 400 and bad.json["error"]["field"] == "scope"
    zero = client.post("/api/v1/keys", headers=admin, json={"name": "x", "expires_in_days": 0})
    assert zero.status_code == 400 and zero.json["error"]["field"] == "expires_in_days"


def test_key_endpoints_need_the_admin_scope(client, writer, reader):
    for headers in (writer, reader):
        assert client.get("/api/v1/keys", headers=headers).status_code == 403
        assert client.post("/api/v1/keys", headers=headers, json={"name": "x"}).status_code == 403
        assert client.post("/api/v1/keys/1/revoke", headers=headers).status_code == 403


def test_a_revoked_key_is_refused_at_once_and_revoking_again_is_harmless(client, admin, make_key):
    victim = make_key("write", name="leaked")
    assert client.get("/api/v1/me", headers=bearer(victim)).status_code == 200
    ident = next(k["id"] for k in client.get("/api/v1/keys", headers=admin).json
                 if k["name"] == "leaked")
    revoked = client.post(f"/api/v1/keys/{ident}/revoke", headers=admin)
    assert revoked.status_code == 200 and revoked.json["state"] == "revoked"
    refused = client.get("/api/v1/me", headers=bearer(victim))
    assert refused.status_code == 401 and "revoked" in refused.json["error"]["message"]
    again = client.post(f"/api/v1/keys/{ident}/revoke", headers=admin)
    assert again.status_code == 200 and again.json["revoked_at"] == revoked.json["revoked_at"]
    assert client.post("/api/v1/keys/999999/revoke", headers=admin).status_code == 404


def test_an_admin_cannot_revoke_its_own_key_without_saying_so(client, make_key, session_factory):
    key = make_key("admin", name="me-admin")
    with session_factory() as session:
        ident = session.scalars(select(ApiKey.id).where(ApiKey.name == "me-admin")).one()
    refused = client.post(f"/api/v1/keys/{ident}/revoke", headers=bearer(key))
    assert refused.status_code == 409
    assert refused.json["error"]["code"] == "own_key" and refused.json["error"]["field"] == "allow_self"
    assert client.get("/api/v1/me", headers=bearer(key)).status_code == 200
    done = client.post(f"/api/v1/keys/{ident}/revoke", headers=bearer(key), json={"allow_self": True})
    assert done.status_code == 200
    assert client.get("/api/v1/me", headers=bearer(key)).status_code == 401
