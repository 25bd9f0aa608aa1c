"""``GET /api/v1/meta``: the vocabulary the console reads instead of copying it."""

from __future__ import annotations

from castwatch.common import vocab


def test_meta_serves_the_vocabulary_without_a_key(client):
    resp = client.get("/api/v1/meta")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["severities"] == [{"name": "critical", "rank": 3}, {"name": "major", "rank": 2},
                                  {"name": "minor", "rank": 1}, {"name": "info", "rank": 0}]
    types = {t["name"]: t for t in body["alert_types"]}
    assert set(types) == {t.name for t in vocab.ALERT_TYPES}
    assert types["VIDEO_FROZEN"]["severity"] == "critical"
    assert types["PLAYLIST_STALE"]["source"] == "probe"
    assert types["CERT_EXPIRING"]["sources"] == ["probe", "encoders"]
    assert types["ENCODER_UNREACHABLE"]["description"]
    assert body["alert_type_prefixes"] == [{"prefix": "STACK_", "source": "stack"}]
    assert body["driver_kinds"] == list(vocab.DRIVER_KINDS)
    assert body["transports"] == list(vocab.TRANSPORTS)
    assert body["simulator_kinds"] == list(vocab.SIMULATOR_KINDS)
    assert body["recipient_roles"] == list(vocab.RECIPIENT_ROLES)


def test_meta_is_documented_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    op = spec["paths"]["/api/v1/meta"]["get"]
    assert "200" in op["responses"]
