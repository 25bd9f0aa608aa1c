"""Incident and schedule endpoints on the real API app and database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from castwatch.common.db import transaction
from castwatch.common.models import ScheduleItem, ScheduleSource, utcnow
from castwatch.incidents.correlator import Correlator


def test_incidents_list_and_detail_show_root_cause_symptoms_impact_and_timeline(
    api: Any, seeded: dict[str, Any], correlator: Correlator, fire: Callable[..., int],
) -> None:
    client, auth = api
    ids = [fire("probe", f"{c}/720p", "PLAYLIST_STALE", "critical", channel_id=seeded["channels"][c])
           for c in ("NEWS", "SPORT", "MOVIES")]
    correlator.run_once()
    page = client.get("/api/v1/incidents?state=open", headers=auth).get_json()
    assert page["total"] == 1
    inc = page["items"][0]
    assert inc["root_kind"] == "origin" and inc["impact"]["channels"] == 3
    detail = client.get(f"/api/v1/incidents/{inc['id']}", headers=auth).get_json()
    assert detail["root_cause"]["alert_type"] == "ORIGIN_DOWN"
    assert detail["root_cause"]["remediation"] == detail["remediation"]
    assert sorted(s["alert_id"] for s in detail["symptoms"]) == ids
    kinds = [e["kind"] for e in detail["timeline"]]
    assert kinds[0] == "incident_opened" and kinds.count("opened") == 4 and "note" in kinds
    by_channel = client.get(f"/api/v1/incidents?channel={seeded['channels']['SPORT']}", headers=auth)
    assert by_channel.get_json()["total"] == 1
    assert client.get("/api/v1/incidents?state=resolved", headers=auth).get_json()["total"] == 0


def test_incident_endpoints_need_a_key_and_answer_404_for_unknown_ids(api: Any) -> None:
    client, auth = api
    assert client.get("/api/v1/incidents").status_code == 401
    for ident in (1, 2**31, 2**40):
        r = client.get(f"/api/v1/incidents/{ident}", headers=auth)
        assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    assert client.get("/api/v1/incidents?state=bogus", headers=auth).status_code == 400


def test_schedule_sources_are_created_validated_listed_and_deleted(api: Any, seeded: dict[str, Any]) -> None:
    client, auth = api
    body = {"name": "council-ics", "kind": "ical", "url": "http://127.0.0.1:9/c.ics",
            "channel_id": seeded["channels"]["NEWS"]}
    r = client.post("/api/v1/schedules/sources", json=body, headers=auth)
    assert r.status_code == 201, r.get_json()
    assert client.post("/api/v1/schedules/sources", json=body | {"kind": "fax"},
                       headers=auth).status_code == 400
    assert client.post("/api/v1/schedules/sources", json=body | {"name": "x", "channel_id": 999},
                       headers=auth).status_code == 404
    assert [s["name"] for s in client.get("/api/v1/schedules/sources", headers=auth).get_json()] == [
        "council-ics"]
    assert client.delete(f"/api/v1/schedules/sources/{r.get_json()['id']}", headers=auth).status_code == 204


def test_off_air_now_lists_channels_in_a_planned_off_air_time(
    api: Any, seeded: dict[str, Any], session_factory: sessionmaker[Session],
) -> None:
    client, auth = api
    now = utcnow()
    ch = seeded["channels"]["SPORT"]
    with transaction(session_factory) as s:
        src = ScheduleSource(name="cc", kind="cablecast", url="http://127.0.0.1:9", channel_id=ch)
        s.add(src)
        s.flush()
        s.add_all([
            ScheduleItem(source_id=src.id, channel_id=ch, external_id="1", title="Off air", kind="off_air",
                         starts_at=now - timedelta(minutes=5), ends_at=now + timedelta(minutes=55)),
            ScheduleItem(source_id=src.id, channel_id=ch, external_id="2", title="Later", kind="off_air",
                         starts_at=now + timedelta(hours=2), ends_at=now + timedelta(hours=3)),
        ])
    rows = client.get("/api/v1/schedules/off-air", headers=auth).get_json()
    assert [(r["channel_code"], r["title"]) for r in rows] == [("SPORT", "Off air")]
    items = client.get(f"/api/v1/schedules/items?channel={ch}&kind=off_air", headers=auth).get_json()
    assert items["total"] == 2
