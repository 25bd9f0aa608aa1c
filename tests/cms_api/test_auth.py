"""API keys at the door: missing, expired, revoked, wrong scope, anonymous reads, rate limits."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from castwatch.common.db import transaction
from castwatch.common.models import ApiKey, utcnow

from .support import bearer, channel_body


def test_no_key_is_401_with_the_error_shape(client):
    resp = client.get("/api/v1/channels")
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "unauthenticated"
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_both_header_forms_are_accepted(client, make_key):
    key = make_key("read")
    assert client.get("/api/v1/channels", headers=bearer(key)).status_code == 200
    assert client.get("/api/v1/channels", headers={"X-API-Key": key}).status_code == 200
    assert client.get("/api/v1/channels", headers=bearer(key + "x")).status_code == 401


def test_an_expired_key_is_401(client, make_key, session_factory):
    key = make_key("admin")
    with transaction(session_factory) as session:
        session.execute(update(ApiKey).values(expires_at=utcnow() - timedelta(seconds=1)))
    resp = client.get("/api/v1/channels", headers=bearer(key))
    assert resp.status_code == 401
    assert "expired" in resp.get_json()["error"]["message"]


def test_a_revoked_key_is_401(client, make_key, session_factory):
    key = make_key("admin")
    assert client.get("/api/v1/channels", headers=bearer(key)).status_code == 200
    with transaction(session_factory) as session:
        session.execute(update(ApiKey).values(revoked_at=utcnow()))
    resp = client.get("/api/v1/channels", headers=bearer(key))
    assert resp.status_code == 401
    assert "revoked" in resp.get_json()["error"]["message"]


def test_scopes_are_ordered_read_write_admin(client, make_key):
    read, write = bearer(make_key("read")), bearer(make_key("write"))
    resp = client.post("/api/v1/channels", json=channel_body(), headers=read)
    assert (resp.status_code, resp.get_json()["error"]["code"]) == (403, "forbidden")
    assert client.post("/api/v1/channels", json=channel_body(), headers=write).status_code == 201
    assert client.get("/api/v1/channels", headers=write).status_code == 200


def test_a_forbidden_write_never_reaches_the_database(client, reader, admin):
    client.post("/api/v1/channels", json=channel_body(), headers=reader)
    assert client.get("/api/v1/channels", headers=admin).get_json()["total"] == 0


def test_anonymous_reads_can_be_opened_but_writes_never(make_app):
    client = make_app(anonymous_read=True).test_client()
    assert client.get("/api/v1/channels").status_code == 200
    assert client.get("/api/monitoring/status").status_code == 200
    assert client.post("/api/v1/channels", json=channel_body()).status_code == 401
    assert client.delete("/api/v1/channels/1").status_code == 401


def test_the_key_used_is_recorded_as_last_used(client, make_key, db):
    key = make_key("read")
    client.get("/api/v1/channels", headers=bearer(key))
    assert db.query(ApiKey).one().last_used_at is not None


def test_too_many_requests_per_key_is_429_with_retry_after(make_app, make_key):
    client = make_app(rate_limit_per_minute=3).test_client()
    key = bearer(make_key("read"))
    statuses = [client.get("/api/v1/channels", headers=key).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    resp = client.get("/api/v1/channels", headers=key)
    assert resp.get_json()["error"]["code"] == "rate_limited"
    assert 1 <= int(resp.headers["Retry-After"]) <= 20
    other = bearer(make_key("read", name="other"))
    from_elsewhere = {"REMOTE_ADDR": "192.0.2.7"}
    assert client.get("/api/v1/channels", headers=other,
                      environ_overrides=from_elsewhere).status_code == 200


def test_many_keys_from_one_address_share_that_address_limit(make_app, make_key):
    client = make_app(rate_limit_per_minute=3).test_client()
    keys = [bearer(make_key("read", name=f"k{i}")) for i in range(4)]
    statuses = [client.get("/api/v1/channels", headers=k).status_code for k in keys]
    assert statuses == [200, 200, 200, 429]


def test_anonymous_callers_and_bad_keys_are_limited_per_address(make_app):
    client = make_app(rate_limit_per_minute=2, anonymous_read=True).test_client()
    assert [client.get("/api/v1/channels").status_code for _ in range(3)] == [200, 200, 429]
    guesser = make_app(rate_limit_per_minute=2).test_client()
    statuses = [guesser.get("/api/v1/channels", headers=bearer(f"cw_guess{i}")).status_code
                for i in range(3)]
    assert statuses == [401, 401, 429]


def test_health_needs_no_key(client):
    assert client.get("/api/v1/health").status_code == 200


def test_the_webhook_scope_can_post_alertmanager_alerts_and_nothing_else(client, make_key):
    """Issue #11 §1: Alertmanager's key is narrow; a write key cannot forge stack alerts."""
    hook = bearer(make_key("webhook"))
    body = {"alerts": [{"status": "firing", "labels": {"alertname": "CastwatchDown", "job": "api"}}]}
    resp = client.post("/api/v1/alertmanager/webhook", json=body, headers=hook)
    assert (resp.status_code, resp.get_json()["opened"]) == (200, 1)
    for method, path in (("get", "/api/v1/channels"), ("get", "/api/v1/alerts"), ("get", "/api/v1/me"),
                         ("post", "/api/v1/channels"), ("get", "/api/v1/keys"),
                         ("get", "/api/v1/encoders")):
        resp = getattr(client, method)(path, json=channel_body(), headers=hook)
        assert resp.status_code == 403, path
        assert "webhook" in resp.get_json()["error"]["message"]
    for scope, status in (("read", 403), ("write", 403), ("admin", 200)):
        resp = client.post("/api/v1/alertmanager/webhook", json=body, headers=bearer(make_key(scope)))
        assert resp.status_code == status, scope
    made = client.post("/api/v1/keys", json={"name": "am", "scope": "webhook"},
                       headers=bearer(make_key("admin")))
    assert (made.status_code, made.get_json()["scope"]) == (201, "webhook")
