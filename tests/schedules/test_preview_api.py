"""The source preview on the real API app and database, against the schedule simulator on loopback."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from castwatch.common.db import transaction
from castwatch.common.models import Alert, ScheduleItem, ScheduleSource, utcnow
from castwatch.schedules.service import ScheduleService
from castwatch.schedules.settings import ScheduleSettings
from castwatch.simulators.schedules.server import ScheduleSimulator
from tests.schedules.documents import legistar_html, redesigned_html
from tests.schedules.test_service import CHI
from tests.support.egress import LOOPBACK


@pytest.fixture()
def api(session_factory: sessionmaker[Session]):  # type: ignore[no-untyped-def]
    """A test client of the real API app and a write-scoped key's header."""
    from castwatch.cms_api import create_app
    from castwatch.cms_api.auth import create_key
    from castwatch.cms_api.blueprints import incidents
    from tests.cms_api.support import api_settings, bearer

    app = create_app(api_settings(), session_factory=session_factory, start_listener=False)
    if "incidents" not in app.blueprints:
        app.register_blueprint(incidents.bp)
    with transaction(session_factory) as s:
        _, key = create_key(s, name="station", scope="write", expires_in=timedelta(days=1))
    return app.test_client(), bearer(key)


def _page() -> bytes:
    now = utcnow().replace(second=0, microsecond=0)
    council, commission = (now + timedelta(days=2)).astimezone(CHI), (now + timedelta(days=3)).astimezone(CHI)
    return legistar_html([("City Council", council, f"{council:%-I:%M %p}", "Council Chambers"),
                          ("Planning Commission", commission, "Canceled", "<em>CANCELLED</em>")])


def _count(factory: sessionmaker[Session], model: Any) -> int:
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_a_source_preview_shows_what_would_be_imported_and_ignored_and_saves_nothing(
    api: Any, sim: ScheduleSimulator, council: dict[str, Any], session_factory: sessionmaker[Session],
) -> None:
    client, auth = api
    sim.documents["/calendar.aspx"] = ("text/html", _page())
    body = {"name": "springfield-legistar", "kind": "html", "url": f"{sim.url}/calendar.aspx",
            "channel_id": council["channel"], "timezone": "America/Chicago"}
    created = client.post("/api/v1/schedules/sources", json=body, headers=auth)
    assert created.status_code == 201 and created.get_json()["timezone"] == "America/Chicago"
    source_id = created.get_json()["id"]
    r = client.post(f"/api/v1/schedules/sources/{source_id}/preview", headers=auth)
    assert r.status_code == 200, r.get_json()
    preview = r.get_json()
    assert preview["error"] is None
    assert [(i["title"], i["status"], i["kind"]) for i in preview["would_import"]] == [
        ("City Council", "scheduled", "live_event"), ("Planning Commission", "cancelled", "live_event")]
    assert {i["reason"] for i in preview["ignored"]} == {
        "a posting, effective or minutes date, not a meeting"}
    assert preview["ignored_total"] == 2 and preview["stats"]["tables"] == 1
    assert _count(session_factory, ScheduleItem) == 0
    with session_factory() as s:
        row = s.get(ScheduleSource, source_id)
        assert row is not None and row.last_import_at is None

    # after a good import, a redesigned page previews as the failure it would be
    assert ScheduleService(session_factory, ScheduleSettings(egress=LOOPBACK)).import_source(source_id)
    sim.documents["/calendar.aspx"] = ("text/html", redesigned_html())
    preview = client.post(f"/api/v1/schedules/sources/{source_id}/preview?days=7", headers=auth).get_json()
    assert preview["would_import"] == []
    assert "found nothing where the last good import found 2" in preview["error"]
    assert _count(session_factory, ScheduleItem) == 2

    sim.fail = True
    down = client.post(f"/api/v1/schedules/sources/{source_id}/preview", headers=auth).get_json()
    assert "503" in down["error"] and down["would_import"] == [] and down["stats"] == {}

    # the real import fails the same way; deleting the source resolves its failing alert
    assert not ScheduleService(session_factory, ScheduleSettings(egress=LOOPBACK)).import_source(source_id)
    failing = select(Alert.state).where(Alert.alert_type == "SCHEDULE_SOURCE_FAILING")
    with session_factory() as s:
        assert s.scalar(failing) == "firing"
    assert client.delete(f"/api/v1/schedules/sources/{source_id}", headers=auth).status_code == 204
    with session_factory() as s:
        assert s.scalar(failing) == "resolved"


def test_a_new_source_is_previewed_before_it_is_added_and_bad_input_is_refused(
    api: Any, sim: ScheduleSimulator, council: dict[str, Any], session_factory: sessionmaker[Session],
) -> None:
    client, auth = api
    sim.documents["/calendar.aspx"] = ("text/html", _page())
    body = {"name": "trial", "kind": "html", "url": f"{sim.url}/calendar.aspx",
            "channel_id": council["channel"], "timezone": "America/Chicago"}
    r = client.post("/api/v1/schedules/sources/preview", json=body, headers=auth)
    assert r.status_code == 200 and len(r.get_json()["would_import"]) == 2
    assert _count(session_factory, ScheduleSource) == 0
    bad = client.post("/api/v1/schedules/sources/preview", json=body | {"timezone": "Mars/Olympus"},
                      headers=auth)
    assert bad.status_code == 400 and bad.get_json()["error"]["field"].endswith("timezone")
    assert client.post("/api/v1/schedules/sources/preview", json=body | {"channel_id": 9999},
                       headers=auth).status_code == 404
    assert client.post("/api/v1/schedules/sources/424242/preview", headers=auth).status_code == 404
    assert client.post("/api/v1/schedules/sources/preview?days=0", json=body, headers=auth).status_code == 400
