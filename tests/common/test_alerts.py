from __future__ import annotations

import pytest
from sqlalchemy import select

from castwatch.common import alerts
from castwatch.common.alerts import AlertKey, AlertStateError
from castwatch.common.models import Alert, AlertEvent

KEY = AlertKey("probe", "CH_TV_HD_001/720p", "PLAYLIST_STALE")


def test_fire_opens_once_and_refreshes_after(db):
    first, opened = alerts.fire(db, KEY, severity="major", summary="no new segment for 9 s")
    again, opened_again = alerts.fire(db, KEY, severity="major", summary="no new segment for 12 s")
    db.commit()
    assert opened and not opened_again
    assert first.id == again.id
    assert again.summary == "no new segment for 12 s"
    kinds = db.scalars(select(AlertEvent.kind).where(AlertEvent.alert_id == first.id)).all()
    assert kinds == ["opened"]


def test_a_severity_change_is_recorded(db):
    alert, _ = alerts.fire(db, KEY, severity="minor", summary="x")
    alerts.fire(db, KEY, severity="critical", summary="x")
    db.commit()
    assert alert.severity == "critical"
    assert [e.kind for e in alert.events] == ["opened", "updated"]


def test_clear_resolves_and_a_new_condition_opens_a_new_alert(db):
    first, _ = alerts.fire(db, KEY, severity="major", summary="x")
    resolved = alerts.clear(db, KEY)
    second, opened = alerts.fire(db, KEY, severity="major", summary="y")
    db.commit()
    assert resolved is not None and resolved.state == "resolved"
    assert opened and second.id != first.id
    assert alerts.clear(db, AlertKey("probe", "other", "PLAYLIST_STALE")) is None


def test_acknowledge_and_resolve_record_who_and_why(db):
    alert, _ = alerts.fire(db, KEY, severity="major", summary="x")
    alerts.acknowledge(db, alert.id, actor="alice", note="on it")
    alerts.resolve(db, alert.id, actor="bob", note="origin restarted")
    db.commit()
    events = db.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert.id)).all()
    assert [(e.kind, e.actor, e.note) for e in events][1:] == [
        ("acknowledged", "alice", "on it"), ("resolved", "bob", "origin restarted")]
    with pytest.raises(AlertStateError):
        alerts.acknowledge(db, alert.id, actor="carol")


def test_the_database_refuses_a_second_open_alert_for_a_key(db):
    alerts.fire(db, KEY, severity="major", summary="x")
    db.commit()
    db.add(Alert(source=KEY.source, subject=KEY.subject, alert_type=KEY.alert_type,
                 severity="major", summary="dup"))
    with pytest.raises(Exception, match="uq_alerts_open_key"):
        db.commit()
    db.rollback()
