"""Alerts: active list, filtered list, one alert with history, acknowledge and resolve."""

from __future__ import annotations

from datetime import timedelta

import pytest

from castwatch.common import alerts
from castwatch.common.db import transaction
from castwatch.common.models import Alert, AlertEvent, Channel, utcnow


@pytest.fixture()
def seeded(session_factory) -> dict[str, int]:
    """Three alerts: a critical stale playlist on a channel, a minor one, a resolved one."""
    now = utcnow()
    with transaction(session_factory) as session:
        channel = Channel(code="CH1", name="One", input_url="https://o/1.m3u8")
        session.add(channel)
        session.flush()
        stale, _ = alerts.fire(session, alerts.AlertKey("probe", "CH1/720p", "PLAYLIST_STALE"),
                               severity="critical", summary="stale", channel_id=channel.id,
                               now=now - timedelta(hours=1))
        slow, _ = alerts.fire(session, alerts.AlertKey("probe", "CH1/480p", "SEGMENT_SLOW"),
                              severity="minor", summary="slow", channel_id=channel.id, now=now)
        old, _ = alerts.fire(session, alerts.AlertKey("encoders", "enc-1", "ENCODER_OVERHEAT"),
                             severity="major", summary="hot", now=now - timedelta(days=2))
        alerts.clear(session, alerts.AlertKey("encoders", "enc-1", "ENCODER_OVERHEAT"))
        return {"stale": stale.id, "slow": slow.id, "old": old.id, "channel": channel.id}


def test_active_alerts_are_open_ones_most_severe_first(client, reader, seeded):
    active = client.get("/api/v1/alerts/active", headers=reader).get_json()
    assert [a["id"] for a in active] == [seeded["stale"], seeded["slow"]]


def test_alert_lists_filter_by_state_severity_channel_type_and_time(client, reader, seeded):
    def ids(query: str) -> list[int]:
        resp = client.get(f"/api/v1/alerts?{query}", headers=reader)
        assert resp.status_code == 200, resp.get_json()
        return [a["id"] for a in resp.get_json()["items"]]

    assert ids("") == [seeded["slow"], seeded["stale"], seeded["old"]]
    assert ids("state=resolved") == [seeded["old"]]
    assert ids("state=firing&state=acknowledged") == [seeded["slow"], seeded["stale"]]
    assert ids("severity=critical&severity=major") == [seeded["stale"], seeded["old"]]
    assert ids(f"channel={seeded['channel']}") == [seeded["slow"], seeded["stale"]]
    assert ids("type=SEGMENT_SLOW") == [seeded["slow"]]
    since = (utcnow() - timedelta(minutes=90)).isoformat()
    assert ids(f"since={since.replace('+', '%2B')}") == [seeded["slow"], seeded["stale"]]
    until = (utcnow() - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S")
    assert ids(f"until={until}") == [seeded["stale"], seeded["old"]]
    for bad in ("state=open", "severity=huge", "since=yesterday", "channel=0"):
        resp = client.get(f"/api/v1/alerts?{bad}", headers=reader)
        assert resp.status_code == 400
        assert resp.get_json()["error"]["field"] == bad.split("=")[0]


def test_acknowledge_records_the_key_name_and_note(client, writer, seeded, db):
    resp = client.post(f"/api/v1/alerts/{seeded['stale']}/acknowledge", json={"note": "on it"},
                       headers=writer)
    assert resp.status_code == 200, resp.get_json()
    assert (resp.get_json()["state"], resp.get_json()["acknowledged_by"]) == ("acknowledged", "writer")
    event = db.query(AlertEvent).filter_by(alert_id=seeded["stale"], kind="acknowledged").one()
    assert (event.actor, event.note) == ("writer", "on it")
    detail = client.get(f"/api/v1/alerts/{seeded['stale']}", headers=writer).get_json()
    assert [e["kind"] for e in detail["events"]] == ["opened", "acknowledged"]


def test_resolve_works_without_a_body_and_twice_is_a_conflict(client, writer, seeded, db):
    path = f"/api/v1/alerts/{seeded['slow']}/resolve"
    resp = client.post(path, headers=writer)
    assert resp.status_code == 200, resp.get_json()
    assert db.get(Alert, seeded["slow"]).resolved_by == "writer"
    again = client.post(path, headers=writer)
    assert (again.status_code, again.get_json()["error"]["code"]) == (409, "invalid_state")
    ack = client.post(f"/api/v1/alerts/{seeded['slow']}/acknowledge", headers=writer)
    assert ack.status_code == 409


def test_changing_alerts_needs_the_write_scope_and_existing_ids(client, reader, writer, seeded):
    assert client.post(f"/api/v1/alerts/{seeded['stale']}/resolve", headers=reader).status_code == 403
    assert client.post("/api/v1/alerts/4242/resolve", headers=writer).status_code == 404
    assert client.post("/api/v1/alerts/99999999999/acknowledge", headers=writer).status_code == 404
    assert client.get("/api/v1/alerts/4242", headers=writer).status_code == 404
    resp = client.post(f"/api/v1/alerts/{seeded['stale']}/resolve", json={"why": "x"}, headers=writer)
    assert (resp.status_code, resp.get_json()["error"]["field"]) == (400, "why")
