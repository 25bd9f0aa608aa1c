"""Failover end to end: simulators on loopback, the real manager, the real database."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from castwatch.cms_api import create_app
from castwatch.cms_api.auth import create_key
from castwatch.common.db import transaction
from castwatch.common.models import Alert, EncoderGroup, FailoverEvent
from tests.cms_api.support import api_settings, bearer
from tests.encoder_manager.helpers import encoder_row, fast_group, wait_for


def open_alert_types(session_factory) -> set[str]:
    with session_factory() as s:
        return {a.alert_type for a in s.scalars(select(Alert).where(Alert.state != "resolved"))}


def active_of(session_factory, group_id: int) -> int | None:
    with session_factory() as s:
        return s.get(EncoderGroup, group_id).active_encoder_id


def test_it_fails_over_to_the_backup_when_the_primary_stream_stops(db, session_factory, make_sim,
                                                                   start_manager):
    primary_sim = make_sim("aja_helo", streaming=True)
    backup_sim = make_sim("matrox_monarch")
    group = fast_group(db)
    primary = encoder_row(db, primary_sim, "enc-primary", group)
    backup = encoder_row(db, backup_sim, "enc-backup", group, role="backup")
    group.active_encoder_id = primary.id
    db.commit()
    start_manager()
    wait_for(lambda: len(primary_sim.state.requests) > 3)

    primary_sim.state.set_faults(stream_stop=True)

    wait_for(lambda: backup_sim.state.requests_matching("StartStreaming"), timeout=20)
    wait_for(lambda: active_of(session_factory, group.id) == backup.id, timeout=20)
    assert backup_sim.state.streaming
    wait_for(lambda: "FAILOVER_ACTIVATED" in open_alert_types(session_factory), timeout=10)
    wait_for(lambda: primary_sim.state.requests_matching("value=4"), timeout=10)  # primary parked
    with session_factory() as s:
        events = s.scalars(select(FailoverEvent)).all()
    assert [(e.kind, e.status, e.to_encoder_id) for e in events] == [("automatic", "succeeded", backup.id)]


def test_the_api_shows_the_new_active_encoder_and_its_alert(db, session_factory, make_sim, start_manager):
    primary_sim = make_sim("haivision_makito", streaming=True)
    backup_sim = make_sim("generic_http")
    group = fast_group(db)
    primary = encoder_row(db, primary_sim, "api-primary", group)
    backup = encoder_row(db, backup_sim, "api-backup", group, role="backup")
    group.active_encoder_id = primary.id
    db.commit()
    app = create_app(api_settings(), session_factory=session_factory, start_listener=False)
    with transaction(session_factory) as session:
        _, key = create_key(session, name="viewer", scope="read", expires_in=timedelta(days=1))
    client, headers = app.test_client(), bearer(key)
    start_manager()
    primary_sim.state.set_faults(hang=True)

    def shown_active():
        return client.get(f"/api/v1/encoder-groups/{group.id}", headers=headers).get_json()[
            "active_encoder_id"]

    def shown_alert_types():
        page = client.get("/api/v1/alerts?source=encoders", headers=headers).get_json()
        return {a["alert_type"] for a in page["items"] if a["state"] != "resolved"}

    wait_for(lambda: shown_active() == backup.id)
    primary_row = client.get(f"/api/v1/encoders/{primary.id}", headers=headers).get_json()
    assert primary_row["reachable"] is False and "DriverTimeout" in primary_row["last_sample"]["error"]
    wait_for(lambda: {"FAILOVER_ACTIVATED", "ENCODER_UNREACHABLE"} <= shown_alert_types())


def alerts_of(session_factory, alert_type: str) -> list[Alert]:
    with session_factory() as s:
        return list(s.scalars(select(Alert).where(Alert.alert_type == alert_type)))


def test_a_primary_that_hangs_then_comes_back_streaming_is_stopped(db, session_factory, make_sim,
                                                                    start_manager):
    primary_sim = make_sim("aja_helo", streaming=True)
    backup_sim = make_sim("matrox_monarch")
    group = fast_group(db)
    primary = encoder_row(db, primary_sim, "hung-primary", group)
    backup = encoder_row(db, backup_sim, "hung-backup", group, role="backup")
    group.active_encoder_id = primary.id
    db.commit()
    manager = start_manager().manager
    wait_for(lambda: len(primary_sim.state.requests) > 3)

    primary_sim.state.set_faults(hang=True)  # no answer at all: the stop sent to it times out too
    wait_for(lambda: active_of(session_factory, group.id) == backup.id, timeout=20)

    def stop_attempts() -> int:
        park = manager.controllers[group.id].parks.get(primary.id)
        return park.attempts if park else 0

    wait_for(lambda: stop_attempts() >= 2, timeout=10)  # retried with back-off while it hangs
    assert primary_sim.state.streaming  # every stop so far was lost in the hang

    primary_sim.state.set_faults(hang=False)  # it answers again, still streaming
    wait_for(lambda: not primary_sim.state.streaming, timeout=15)
    assert backup_sim.state.streaming
    wait_for(lambda: stop_attempts() == 0, timeout=10)  # confirmed idle: no longer parked
    # if a poll saw it streaming before the stop got through, the alert it raised is resolved
    wait_for(lambda: all(a.state == "resolved" for a in alerts_of(session_factory, "ENCODER_NOT_PARKED")),
             timeout=10)


def test_a_standby_found_streaming_is_stopped_and_alerted_until_confirmed_idle(db, session_factory, make_sim,
                                                                              start_manager):
    primary_sim = make_sim("aja_helo", streaming=True)
    backup_sim = make_sim("obs", streaming=True)  # e.g. left on air by a controller that died
    group = fast_group(db)
    primary = encoder_row(db, primary_sim, "air-primary", group)
    encoder_row(db, backup_sim, "stray-backup", group, role="backup")
    group.active_encoder_id = primary.id
    db.commit()
    start_manager()
    wait_for(lambda: not backup_sim.state.streaming, timeout=15)
    assert primary_sim.state.streaming
    [alert] = wait_for(lambda: alerts_of(session_factory, "ENCODER_NOT_PARKED"), timeout=10)
    assert (alert.subject, alert.severity) == ("stray-backup", "major")
    assert "still streaming" in alert.summary
    wait_for(lambda: [a.state for a in alerts_of(session_factory, "ENCODER_NOT_PARKED")] == ["resolved"],
             timeout=10)
