"""Recipients, notification rules and maintenance windows: CRUD and validation."""

from __future__ import annotations

from .support import channel_body

ALICE = {"name": "alice", "role": "cablecaster", "telegram_chat_id": 123456789,
         "email": "alice@example.org", "timezone": "America/Chicago"}


def test_recipients_have_crud(client, admin):
    resp = client.post("/api/v1/recipients", json=ALICE, headers=admin)
    assert resp.status_code == 201, resp.get_json()
    made = resp.get_json()
    assert (made["telegram_enabled"], made["enabled"]) == (True, True)
    assert client.get(f"/api/v1/recipients/{made['id']}", headers=admin).get_json() == made
    resp = client.put(f"/api/v1/recipients/{made['id']}", json={"role": "engineer"}, headers=admin)
    assert resp.get_json()["role"] == "engineer"
    resp = client.put(f"/api/v1/recipients/{made['id']}", json={"telegram_user_id": 4242},
                      headers=admin)
    assert resp.get_json()["telegram_user_id"] == 4242
    made = resp.get_json()
    assert [r["name"] for r in client.get("/api/v1/recipients", headers=admin).get_json()] == ["alice"]
    assert client.delete(f"/api/v1/recipients/{made['id']}", headers=admin).status_code == 204
    assert client.get(f"/api/v1/recipients/{made['id']}", headers=admin).status_code == 404


def test_recipients_are_validated(client, admin):
    cases = [
        ({"name": "bob", "role": "cablecaster"}, None),
        (ALICE | {"role": "boss"}, "role"),
        (ALICE | {"email": "not-an-address"}, "email"),
        (ALICE | {"timezone": "Mars/Olympus"}, "timezone"),
        (ALICE | {"phone": "555"}, "phone"),
        (ALICE | {"telegram_user_id": 0}, "telegram_user_id"),
    ]
    for body, field in cases:
        resp = client.post("/api/v1/recipients", json=body, headers=admin)
        assert resp.status_code == 400, body
        assert resp.get_json()["error"]["field"] == field
    made = client.post("/api/v1/recipients", json=ALICE, headers=admin).get_json()
    assert client.post("/api/v1/recipients", json=ALICE, headers=admin).status_code == 409
    resp = client.put(f"/api/v1/recipients/{made['id']}",
                      json={"telegram_chat_id": None, "email": None}, headers=admin)
    assert (resp.status_code, resp.get_json()["error"]["field"]) == (400, "telegram_chat_id")


def test_notification_rules_have_crud_and_checked_references(client, admin):
    alice = client.post("/api/v1/recipients", json=ALICE, headers=admin).get_json()
    rule = {"name": "tier-1 critical", "match": {"severities": ["critical"], "tiers": [1],
                                                 "schedule": {"days": [0, 1, 2, 3, 4],
                                                              "start": "08:00", "end": "18:00"}},
            "roles": ["engineer"], "recipient_ids": [alice["id"]],
            "escalation": [{"after_s": 600, "roles": ["management"]}]}
    resp = client.post("/api/v1/notification-rules", json=rule, headers=admin)
    assert resp.status_code == 201, resp.get_json()
    made = resp.get_json()
    assert made["match"] == {"severities": ["critical"], "tiers": [1], "schedule": {
        "days": [0, 1, 2, 3, 4], "start": "08:00", "end": "18:00", "timezone": "UTC"}}
    assert made["transports"] == ["telegram", "email"]
    resp = client.put(f"/api/v1/notification-rules/{made['id']}",
                      json={"repeat_interval_s": 3600}, headers=admin)
    assert resp.get_json()["repeat_interval_s"] == 3600
    for body, field in ((rule | {"name": "x", "recipient_ids": [999]}, "recipient_ids"),
                        (rule | {"name": "x", "match": {"channel_ids": [5]}}, "match.channel_ids"),
                        (rule | {"name": "x", "repeat_interval_s": 5}, "repeat_interval_s"),
                        (rule | {"name": "x", "match": {"colour": "red"}}, "match.colour"),
                        (rule | {"name": "x", "match": {"schedule": {"start": "25:00"}}},
                         "match.schedule.start")):
        resp = client.post("/api/v1/notification-rules", json=body, headers=admin)
        assert resp.status_code == 400, body
        assert resp.get_json()["error"]["field"] == field
    assert client.delete(f"/api/v1/notification-rules/{made['id']}", headers=admin).status_code == 204


def test_maintenance_windows_are_one_off_or_weekly_and_record_their_author(client, admin):
    channel = client.post("/api/v1/channels", json=channel_body(), headers=admin).get_json()
    weekly = {"name": "Tuesday council", "weekdays": [1], "start_time": "18:30",
              "duration_minutes": 180, "timezone": "America/Chicago", "channel_ids": [channel["id"]]}
    resp = client.post("/api/v1/maintenance-windows", json=weekly, headers=admin)
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["created_by"] == "ops"
    one_off = {"name": "upgrade", "starts_at": "2026-12-01T02:00:00Z",
               "ends_at": "2026-12-01T04:00:00Z"}
    made = client.post("/api/v1/maintenance-windows", json=one_off, headers=admin).get_json()
    assert made["ends_at"].startswith("2026-12-01T04:00")
    resp = client.put(f"/api/v1/maintenance-windows/{made['id']}",
                      json={"ends_at": "2026-12-01T01:00:00Z"}, headers=admin)
    assert resp.status_code == 400
    for body in ({"name": "nothing"}, one_off | {"ends_at": "2026-11-30T00:00:00Z"},
                 weekly | {"channel_ids": [999]}, weekly | {"weekdays": [7]}):
        assert client.post("/api/v1/maintenance-windows", json=body,
                           headers=admin).status_code == 400, body
    assert len(client.get("/api/v1/maintenance-windows", headers=admin).get_json()) == 2


SLACK_URL = "https://hooks.slack.com/services/T000/B000/secretpart1234"


def test_recipient_addresses_mirror_the_legacy_fields_and_keep_secret_urls_write_only(client, admin):
    resp = client.post("/api/v1/recipients", headers=admin, json=ALICE | {
        "addresses": [{"kind": "slack", "value": SLACK_URL}]})
    assert resp.status_code == 201, resp.get_json()
    made = resp.get_json()
    by_kind = {a["kind"]: a for a in made["addresses"]}
    assert by_kind["telegram"]["value"] == "123456789" and by_kind["email"]["value"] == "alice@example.org"
    assert by_kind["slack"] == {"kind": "slack", "value": "…1234", "enabled": True,
                                "disabled_reason": None, "secret": True}
    assert "secretpart" not in str(client.get("/api/v1/recipients", headers=admin).get_json())
    # the legacy fields and the addresses list are one thing
    resp = client.put(f"/api/v1/recipients/{made['id']}", headers=admin, json={
        "addresses": [{"kind": "telegram", "value": "-1001", "enabled": False},
                      {"kind": "slack", "enabled": False}]})  # value omitted: the stored URL stays
    out = resp.get_json()
    assert (out["telegram_chat_id"], out["telegram_enabled"]) == (-1001, False)
    by_kind = {a["kind"]: a for a in out["addresses"]}
    assert by_kind["telegram"] == {"kind": "telegram", "value": "-1001", "enabled": False,
                                   "disabled_reason": None, "secret": False}
    assert by_kind["slack"]["enabled"] is False and by_kind["slack"]["value"] == "…1234"
    resp = client.put(f"/api/v1/recipients/{made['id']}", headers=admin, json={"email": "a2@example.org"})
    assert {a["kind"]: a["value"] for a in resp.get_json()["addresses"]}["email"] == "a2@example.org"
    # kinds other than telegram/email that are not listed are removed
    resp = client.put(f"/api/v1/recipients/{made['id']}", headers=admin, json={"addresses": []})
    assert sorted(a["kind"] for a in resp.get_json()["addresses"]) == ["email", "telegram"]


def test_a_person_reached_only_over_slack_is_valid_and_bad_addresses_are_refused(client, admin):
    resp = client.post("/api/v1/recipients", headers=admin, json={
        "name": "sam", "role": "engineer", "addresses": [{"kind": "slack", "value": SLACK_URL}]})
    assert resp.status_code == 201, resp.get_json()
    cases = [
        ([{"kind": "slack", "value": "https://evil.example/services/x"}], "addresses.0.value"),
        ([{"kind": "webhook", "value": "ftp://x.example/"}], "addresses.0.value"),
        ([{"kind": "pager", "value": "555"}], "addresses.0.kind"),
        ([{"kind": "slack"}], "addresses.0.value"),
        ([{"kind": "slack", "value": SLACK_URL}, {"kind": "slack", "value": SLACK_URL}], None),
    ]
    for addresses, field in cases:
        resp = client.post("/api/v1/recipients", headers=admin, json={
            "name": "x", "role": "engineer", "addresses": addresses})
        assert resp.status_code == 400, addresses
        assert resp.get_json()["error"]["field"] == field, resp.get_json()
    rule = {"name": "slack-all", "roles": ["engineer"], "transports": ["slack", "webhook"]}
    assert client.post("/api/v1/notification-rules", json=rule, headers=admin).status_code == 201
    bad = client.post("/api/v1/notification-rules", headers=admin,
                      json=rule | {"name": "x", "transports": ["pager"]})
    assert bad.status_code == 400
