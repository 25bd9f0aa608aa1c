"""Health checks (database up and down) and the encoder seed's monitoring views."""

from __future__ import annotations

from castwatch.cms_api import create_app
from castwatch.common import alerts
from castwatch.common.db import make_engine, make_session_factory, transaction
from castwatch.common.models import Channel, Encoder, EncoderGroup, Probe

from .support import api_settings, bearer


def test_health_is_public_and_checks_the_database(client):
    resp = client.get("/api/v1/health")
    assert resp.status_code == 200
    assert resp.get_json()["database"] == "ok"


def test_health_is_503_when_the_database_is_down():
    engine = make_engine("postgresql://postgres@127.0.0.1:9/nothing")
    app = create_app(api_settings(), session_factory=make_session_factory(engine),
                     start_listener=False)
    client = app.test_client()
    resp = client.get("/api/v1/health")
    assert (resp.status_code, resp.get_json()["database"]) == (503, "down")
    resp = client.get("/api/v1/channels", headers=bearer("cw_whatever"))
    assert (resp.status_code, resp.get_json()["error"]["code"]) == (503, "database_unavailable")
    engine.dispose()


def _seed(session_factory) -> dict[str, int]:
    with transaction(session_factory) as session:
        group = EncoderGroup(name="council")
        session.add(group)
        session.flush()
        primary = Encoder(name="helo-a", driver_kind="aja_helo", address="a", group_id=group.id,
                          state="failed", reachable=False)
        backup = Encoder(name="helo-b", driver_kind="aja_helo", address="b", group_id=group.id,
                         role="backup", state="live", reachable=True)
        loose = Encoder(name="obs", driver_kind="obs", address="c", state="idle")
        session.add_all([primary, backup, loose, Probe(name="p1", status="online"),
                         Channel(code="C1", name="c", input_url="https://o/c.m3u8", status="ok")])
        session.flush()
        group.active_encoder_id = backup.id
        alerts.fire(session, alerts.AlertKey("encoders", "helo-a", "ENCODER_UNREACHABLE"),
                    severity="critical", summary="down", encoder_id=primary.id, group_id=group.id)
        alerts.fire(session, alerts.AlertKey("probe", "C1/720p", "SEGMENT_SLOW"),
                    severity="minor", summary="slow")
        return {"group": group.id, "primary": primary.id, "backup": backup.id, "loose": loose.id}


def test_detailed_health_counts_states_and_open_alerts(client, reader, session_factory):
    _seed(session_factory)
    for path in ("/health/detailed", "/api/v1/health/detailed"):
        body = client.get(path, headers=reader).get_json()
        assert body["status"] == "critical"
        assert body["open_alerts"] == {"critical": 1, "minor": 1}
        assert body["encoders"] == {"failed": 1, "live": 1, "idle": 1}
        assert body["channels"] == {"ok": 1}
        assert [p["name"] for p in body["probes"]] == ["p1"]
    assert client.get("/health/detailed").status_code == 401


def test_encoder_health_says_whether_it_is_healthy_and_active(client, reader, session_factory):
    ids = _seed(session_factory)
    primary = client.get(f"/health/encoder/{ids['primary']}", headers=reader).get_json()
    assert (primary["healthy"], primary["is_active"]) == (False, False)
    assert [a["alert_type"] for a in primary["open_alerts"]] == ["ENCODER_UNREACHABLE"]
    backup = client.get(f"/api/v1/health/encoder/{ids['backup']}", headers=reader).get_json()
    assert (backup["healthy"], backup["is_active"]) == (True, True)
    assert client.get("/health/encoder/999", headers=reader).status_code == 404


def test_monitoring_status_and_alerts_come_from_the_database(client, reader, session_factory):
    ids = _seed(session_factory)
    status = client.get("/api/monitoring/status", headers=reader).get_json()
    assert status["status"] == "degraded"
    [group] = status["groups"]
    assert group["active_encoder_id"] == ids["backup"]
    assert {e["name"]: e["active"] for e in group["encoders"]} == {"helo-a": False, "helo-b": True}
    assert [e["name"] for e in status["ungrouped"]] == ["obs"]
    assert status["open_encoder_alerts"] == 1
    alerts_now = client.get("/api/monitoring/alerts", headers=reader).get_json()
    assert [a["alert_type"] for a in alerts_now] == ["ENCODER_UNREACHABLE"]
