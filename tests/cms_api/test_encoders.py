"""Encoders and encoder groups (CRUD), control commands and the newest metrics sample."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from castwatch.common.db import transaction
from castwatch.common.models import Encoder, EncoderCommand, EncoderOutput

ENCODER = {"name": "helo-1", "driver_kind": "aja_helo", "address": "10.0.0.5:80",
           "credentials_ref": "env:ENCODER_SECRET_HELO"}


@pytest.fixture()
def group(client, admin) -> dict:
    resp = client.post("/api/v1/encoder-groups", json={"name": "council", "failure_threshold": 2},
                       headers=admin)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def test_it_creates_reads_updates_and_deletes_an_encoder(client, admin, group):
    resp = client.post("/api/v1/encoders", json=ENCODER | {"group_id": group["id"]}, headers=admin)
    assert resp.status_code == 201, resp.get_json()
    made = resp.get_json()
    assert (made["role"], made["state"], made["group_id"]) == ("primary", "unknown", group["id"])
    assert client.get(f"/api/v1/encoders/{made['id']}", headers=admin).get_json() == made
    assert client.get("/api/v1/encoders", headers=admin).get_json() == [made]
    resp = client.put(f"/api/v1/encoders/{made['id']}", json={"role": "backup", "priority": 5},
                      headers=admin)
    assert (resp.get_json()["role"], resp.get_json()["priority"]) == ("backup", 5)
    assert resp.get_json()["name"] == "helo-1"
    assert client.delete(f"/api/v1/encoders/{made['id']}", headers=admin).status_code == 204
    assert client.get(f"/api/v1/encoders/{made['id']}", headers=admin).status_code == 404


def test_encoder_input_is_validated(client, admin):
    cases = [
        (ENCODER | {"driver_kind": "toaster"}, "driver_kind"),
        (ENCODER | {"credentials_ref": "hunter2"}, "credentials_ref"),
        (ENCODER | {"credentials_ref": "env:DATABASE_URL"}, "credentials_ref"),
        (ENCODER | {"credentials_ref": "file:/etc/shadow"}, "credentials_ref"),
        (ENCODER | {"group_id": 99}, "group_id"),
        ({k: v for k, v in ENCODER.items() if k != "address"}, "address"),
        (ENCODER | {"password": "x"}, "password"),
    ]
    for body, field in cases:
        resp = client.post("/api/v1/encoders", json=body, headers=admin)
        assert resp.status_code == 400, body
        assert resp.get_json()["error"]["field"] == field
    assert client.post("/api/v1/encoders", json=ENCODER, headers=admin).status_code == 201
    assert client.post("/api/v1/encoders", json=ENCODER, headers=admin).status_code == 409


def test_output_problems_from_the_encoder_validator_name_the_field(client, admin):
    bad = ENCODER | {"output": {"protocol": "rtmp", "bitrate_kbps": 999_999}}
    resp = client.post("/api/v1/encoders", json=bad, headers=admin)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["field"] == "output.bitrate_kbps"
    assert client.get("/api/v1/encoders", headers=admin).get_json() == []
    made = client.post("/api/v1/encoders", json=ENCODER, headers=admin).get_json()
    resp = client.put(f"/api/v1/encoders/{made['id']}", json={"output": {"protocol": "pigeon"}},
                      headers=admin)
    assert (resp.status_code, resp.get_json()["error"]["field"]) == (400, "output.protocol")


def test_groups_have_crud_and_validation(client, admin, group):
    assert group["failure_threshold"] == 2 and group["preference"] == "equal"
    gid = group["id"]
    assert client.get("/api/v1/encoder-groups", headers=admin).get_json() == [group]
    resp = client.put(f"/api/v1/encoder-groups/{gid}", json={"preference": "primary_preferred"},
                      headers=admin)
    assert resp.get_json()["preference"] == "primary_preferred"
    for body, field in (({"failure_threshold": 0}, "failure_threshold"),
                        ({"preference": "random"}, "preference"), ({"name": None}, None)):
        resp = client.put(f"/api/v1/encoder-groups/{gid}", json=body, headers=admin)
        assert resp.status_code == 400
        if field:
            assert resp.get_json()["error"]["field"] == field
    assert client.post("/api/v1/encoder-groups", json={"name": "council"},
                       headers=admin).status_code == 409
    assert client.delete(f"/api/v1/encoder-groups/{gid}", headers=admin).status_code == 204
    assert client.get(f"/api/v1/encoder-groups/{gid}", headers=admin).status_code == 404


def test_control_queues_a_command_for_the_encoder_manager(client, writer, admin, db):
    made = client.post("/api/v1/encoders", json=ENCODER, headers=admin).get_json()
    for path in (f"/api/v1/encoders/{made['id']}/control", f"/encoders/{made['id']}/control"):
        resp = client.post(path, json={"action": "failover"}, headers=writer)
        assert resp.status_code == 202, resp.get_json()
        assert (resp.get_json()["status"], resp.get_json()["requested_by"]) == ("pending", "writer")
    commands = db.query(EncoderCommand).all()
    assert [(c.action, c.encoder_id) for c in commands] == [("failover", made["id"])] * 2
    listed = client.get(f"/api/v1/encoders/{made['id']}/commands", headers=writer).get_json()
    assert len(listed) == 2
    resp = client.post(f"/encoders/{made['id']}/control", json={"action": "explode"}, headers=writer)
    assert (resp.status_code, resp.get_json()["error"]["field"]) == (400, "action")
    assert client.post("/encoders/999/control", json={"action": "stop"}, headers=writer).status_code == 404


def test_metrics_answer_the_newest_sample(client, reader, session_factory):
    with transaction(session_factory) as session:
        encoder = Encoder(name="obs-1", driver_kind="obs", address="127.0.0.1:4455", state="live",
                          reachable=True, last_sample={"temperature_c": 61.5, "bitrate_kbps": 5800})
        session.add(encoder)
        session.flush()
        ident = encoder.id
    for path in (f"/encoders/{ident}/metrics", f"/api/v1/encoders/{ident}/metrics"):
        body = client.get(path, headers=reader).get_json()
        assert body["sample"] == {"temperature_c": 61.5, "bitrate_kbps": 5800}
        assert body["state"] == "live"
    assert client.get("/encoders/999/metrics", headers=reader).status_code == 404


def test_only_an_admin_key_decides_where_a_device_secret_goes(client, admin, writer):
    """Issue #11 §1: a write key can rename or regroup an encoder, never re-point its secret."""
    resp = client.post("/api/v1/encoders", json=ENCODER, headers=writer)
    assert (resp.status_code, resp.get_json()["error"]["field"]) == (403, "credentials_ref")
    made = client.post("/api/v1/encoders", json=ENCODER, headers=admin).get_json()
    url = f"/api/v1/encoders/{made['id']}"
    for change in ({"address": "127.0.0.1:9999"}, {"driver_kind": "generic_http"},
                   {"driver_options": {"auth": "basic"}}, {"credentials_ref": "env:ENCODER_SECRET_X"}):
        resp = client.put(url, json=change, headers=writer)
        assert resp.status_code == 403, change
        assert "admin" in resp.get_json()["error"]["message"]
    assert client.get(url, headers=admin).get_json()["address"] == "10.0.0.5:80"
    # unchanged values and other fields are fine for a write key
    resp = client.put(url, json={"name": "helo-renamed", "address": "10.0.0.5:80"}, headers=writer)
    assert (resp.status_code, resp.get_json()["name"]) == (200, "helo-renamed")
    # an admin may move it only to an address the operator bound the secret to
    resp = client.put(url, json={"address": "http://attacker.example:80"}, headers=admin)
    assert (resp.status_code, resp.get_json()["error"]["field"]) == (400, "credentials_ref")
    assert "not bound to attacker.example:80" in resp.get_json()["error"]["message"]
    resp = client.put(url, json={"address": "helo-2.studio.lan:8080"}, headers=admin)
    assert resp.status_code == 200
    resp = client.post("/api/v1/encoders", json=ENCODER | {"name": "x", "address": "10.9.9.9:80"},
                       headers=admin)
    assert (resp.status_code, resp.get_json()["error"]["field"]) == (400, "credentials_ref")
    # a write key may still add an encoder without a secret
    bare = {k: v for k, v in ENCODER.items() if k != "credentials_ref"} | {"name": "bare"}
    assert client.post("/api/v1/encoders", json=bare, headers=writer).status_code == 201


def test_local_recording_is_a_control_action_and_a_group_policy(client, writer, admin, db, group):
    made = client.post("/api/v1/encoders", json=ENCODER, headers=admin).get_json()
    for action in ("record_start", "record_stop"):
        resp = client.post(f"/encoders/{made['id']}/control", json={"action": action}, headers=writer)
        assert resp.status_code == 202 and resp.get_json()["action"] == action
    assert [c.action for c in db.query(EncoderCommand).order_by(EncoderCommand.id)] == [
        "record_start", "record_stop"]
    assert (group["record_on_backup"], group["record_during_meetings"]) == (False, False)
    resp = client.put(f"/api/v1/encoder-groups/{group['id']}",
                      json={"record_on_backup": True, "record_during_meetings": True}, headers=admin)
    assert (resp.get_json()["record_on_backup"], resp.get_json()["record_during_meetings"]) == (True, True)
    resp = client.put(f"/api/v1/encoder-groups/{group['id']}", json={"record_on_backup": None},
                      headers=admin)
    assert resp.status_code == 400


def test_a_groups_pool_shows_its_outputs_what_carries_them_and_the_assignments_proposal(
        client, admin, reader, group, session_factory):
    gid = group["id"]
    with transaction(session_factory) as s:
        for i in (1, 2):
            s.add(Encoder(name=f"pool-{i}", driver_kind="obs", address=f"127.0.0.1:{i}", group_id=gid,
                          state="idle", reachable=True, max_outputs=2, bitrate_budget_kbps=20000,
                          last_sample={"cpu_percent": 10 * i, "temperature_c": 40}))
    for i in range(3):
        resp = client.post(f"/api/v1/encoder-groups/{gid}/outputs", headers=admin,
                           json={"name": f"stream-{i}", "destination": "srt://cdn:9000",
                                 "bitrate_kbps": 6000})
        assert resp.status_code == 201, resp.get_json()
    assert client.post(f"/api/v1/encoder-groups/{gid}/outputs", headers=admin,
                       json={"name": "stream-0"}).status_code == 409
    pool = client.get(f"/api/v1/encoder-groups/{gid}/pool", headers=reader).get_json()
    assert [o["name"] for o in pool["outputs"]] == ["stream-0", "stream-1", "stream-2"]
    assert all(o["assigned_encoder_id"] is None for o in pool["outputs"])
    proposed = list(pool["proposal"].values())
    assert None not in proposed and max(proposed.count(e["id"]) for e in pool["encoders"]) == 2
    assert pool["unassigned"] == []
    first = pool["outputs"][0]["id"]
    assert client.delete(f"/api/v1/encoder-outputs/{first}", headers=admin).status_code == 204
    pool = client.get(f"/api/v1/encoder-groups/{gid}/pool", headers=reader).get_json()
    assert len(pool["outputs"]) == 2


def test_the_pool_view_shows_load_headroom_what_each_encoder_carries_and_what_is_off_air(
        client, admin, reader, group, session_factory):
    """What the console's pool panel reads."""
    gid = group["id"]
    ids = []
    for i in range(3):
        out = client.post(f"/api/v1/encoder-groups/{gid}/outputs", headers=admin,
                          json={"name": f"feed-{i}", "bitrate_kbps": 5000, "priority": 3 - i}).get_json()
        ids.append(out["id"])
    with transaction(session_factory) as s:
        cool = Encoder(name="cool", driver_kind="obs", address="127.0.0.1:1", group_id=gid, state="live",
                       reachable=True, max_outputs=2, bitrate_budget_kbps=20000,
                       last_sample={"cpu_percent": 45, "temperature_c": 50})
        hot = Encoder(name="hot", driver_kind="obs", address="127.0.0.1:2", group_id=gid, state="live",
                      reachable=True, max_outputs=2, thresholds={"temperature_max_c": 70},
                      last_sample={"cpu_percent": 30, "temperature_c": 71})
        s.add_all([cool, hot])
        s.flush()
        s.execute(update(EncoderOutput).where(EncoderOutput.id.in_(ids[:2])).values(assigned_encoder_id=cool.id))
        cool_id, hot_id = cool.id, hot.id
    pool = client.get(f"/api/v1/encoder-groups/{gid}/pool", headers=reader).get_json()
    assert pool["is_pool"] is True and pool["off_air"] == [ids[2]]
    shown = {e["name"]: e for e in pool["encoders"]}
    assert shown["cool"]["carried"] == ids[:2] and shown["cool"]["carried_kbps"] == 10000
    assert shown["cool"]["headroom"] == 0.0  # both slots taken
    assert (shown["cool"]["cpu_percent"], shown["cool"]["temperature_c"]) == (45, 50)
    assert shown["hot"]["hot"] is True and shown["hot"]["temperature_max_c"] == 70  # the encoder's limit
    assert shown["hot"]["headroom"] == 0.0 and shown["hot"]["usable"] is True
    assert pool["proposal"][str(ids[2])] is None and pool["unassigned"] == [ids[2]]  # fits nowhere
    with transaction(session_factory) as s:
        s.execute(update(Encoder).where(Encoder.id == hot_id).values(
            last_sample={"cpu_percent": 30, "temperature_c": 40}))
    pool = client.get(f"/api/v1/encoder-groups/{gid}/pool", headers=reader).get_json()
    cooled = next(e for e in pool["encoders"] if e["id"] == hot_id)
    assert not cooled["hot"] and 0 < cooled["headroom"] <= 1
    # proposed, not carried yet (the encoder manager carries out the assignment)
    assert pool["proposal"][str(ids[2])] == hot_id and pool["off_air"] == [ids[2]]
    assert cool_id != hot_id


def test_a_one_output_group_of_one_output_encoders_is_not_a_pool(client, admin, reader, group):
    client.post(f"/api/v1/encoder-groups/{group['id']}/outputs", headers=admin, json={"name": "only"})
    pool = client.get(f"/api/v1/encoder-groups/{group['id']}/pool", headers=reader).get_json()
    assert pool["is_pool"] is False


def test_an_encoders_pool_capacity_is_set_through_the_api_and_makes_its_group_a_pool(
        client, admin, writer, reader, group):
    made = client.post("/api/v1/encoders", headers=admin,
                       json={"name": "makito-1", "driver_kind": "haivision_makito", "address": "127.0.0.1:1",
                             "group_id": group["id"]}).get_json()
    assert (made["max_outputs"], made["bitrate_budget_kbps"]) == (1, None)
    client.post(f"/api/v1/encoder-groups/{group['id']}/outputs", headers=admin, json={"name": "only"})
    pool = client.get(f"/api/v1/encoder-groups/{group['id']}/pool", headers=reader).get_json()
    assert pool["is_pool"] is False
    resp = client.put(f"/api/v1/encoders/{made['id']}", headers=writer,  # not a device field: write scope
                      json={"max_outputs": 3, "bitrate_budget_kbps": 25000})
    assert resp.status_code == 200, resp.get_json()
    assert (resp.get_json()["max_outputs"], resp.get_json()["bitrate_budget_kbps"]) == (3, 25000)
    pool = client.get(f"/api/v1/encoder-groups/{group['id']}/pool", headers=reader).get_json()
    assert pool["is_pool"] is True
    assert next(e for e in pool["encoders"] if e["id"] == made["id"])["max_outputs"] == 3
    for bad in ({"max_outputs": 0}, {"max_outputs": None}, {"bitrate_budget_kbps": 0}):
        resp = client.put(f"/api/v1/encoders/{made['id']}", headers=writer, json=bad)
        assert resp.status_code == 400 and next(iter(bad)) in str(resp.get_json()["error"])
    cleared = client.put(f"/api/v1/encoders/{made['id']}", headers=writer, json={"bitrate_budget_kbps": None})
    assert cleared.status_code == 200 and cleared.get_json()["bitrate_budget_kbps"] is None


def test_an_output_is_changed_through_the_api(client, admin, writer, reader, group):
    made = client.post(f"/api/v1/encoder-groups/{group['id']}/outputs", headers=admin,
                       json={"name": "feed-a", "bitrate_kbps": 4000}).get_json()
    client.post(f"/api/v1/encoder-groups/{group['id']}/outputs", headers=admin, json={"name": "feed-b"})
    url = f"/api/v1/encoder-outputs/{made['id']}"
    resp = client.put(url, headers=writer, json={"name": "feed-a2", "priority": 5, "enabled": False,
                                                 "required_capabilities": ["hevc"]})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert (body["name"], body["priority"], body["enabled"], body["required_capabilities"],
            body["bitrate_kbps"]) == ("feed-a2", 5, False, ["hevc"], 4000)
    pool = client.get(f"/api/v1/encoder-groups/{group['id']}/pool", headers=reader).get_json()
    assert next(o for o in pool["outputs"] if o["id"] == made["id"])["name"] == "feed-a2"
    assert made["id"] not in pool["off_air"]  # disabled: not off air, nothing to alert
    resp = client.put(url, headers=writer, json={"name": "feed-b"})
    assert (resp.status_code, resp.get_json()["error"]["field"]) == (409, "name")
    assert client.put(url, headers=writer, json={"enabled": None}).status_code == 400
    assert client.put(url, headers=reader, json={"priority": 1}).status_code == 403
    assert client.put("/api/v1/encoder-outputs/999999", headers=writer, json={}).status_code == 404


def test_the_admin_check_comes_before_every_other_check(client, admin, writer):
    """crud_resource's ``guard`` runs first: a write key re-pointing a secret learns 403, not
    that the name is taken (409) nor that the group is unknown (400)."""
    made = client.post("/api/v1/encoders", json=ENCODER, headers=admin).get_json()
    other = client.post("/api/v1/encoders", json=ENCODER | {"name": "helo-2"}, headers=admin)
    assert other.status_code == 201
    resp = client.post("/api/v1/encoders", json=ENCODER | {"group_id": 999999}, headers=writer)
    assert (resp.status_code, resp.get_json()["error"]["field"]) == (403, "credentials_ref")
    resp = client.put(f"/api/v1/encoders/{made['id']}", headers=writer,
                      json={"name": "helo-2", "driver_kind": "generic_http"})
    assert (resp.status_code, resp.get_json()["error"]["field"]) == (403, "driver_kind")
    resp = client.put(f"/api/v1/encoders/{made['id']}", json={"name": "helo-2"}, headers=writer)
    assert (resp.status_code, resp.get_json()["error"]["field"]) == (409, "name")
    resp = client.put(f"/api/v1/encoders/{made['id']}", json={"group_id": 999999}, headers=writer)
    assert (resp.status_code, resp.get_json()["error"]["field"]) == (400, "group_id")


def test_a_malformed_capabilities_driver_option_is_refused_naming_the_field(client, admin):
    """The pool loop reads ``driver_options.capabilities``: a bare string would become its
    characters, a number would not iterate — both refused on save, with a clear 400."""
    for bad in ("hevc", 5, {"hevc": True}, ["hevc", 7], ["x" * 41], [""]):
        resp = client.post("/api/v1/encoders", json=ENCODER | {"driver_options": {"capabilities": bad}},
                           headers=admin)
        assert resp.status_code == 400, bad
        error = resp.get_json()["error"]
        assert error["field"] == "driver_options.capabilities" and "list" in error["message"]
    made = client.post("/api/v1/encoders", json=ENCODER | {"driver_options": {"capabilities": ["hevc"]}},
                       headers=admin)
    assert made.status_code == 201, made.get_json()
    resp = client.put(f"/api/v1/encoders/{made.get_json()['id']}",
                      json={"driver_options": {"capabilities": "hevc"}}, headers=admin)
    assert (resp.status_code, resp.get_json()["error"]["field"]) == (400, "driver_options.capabilities")
