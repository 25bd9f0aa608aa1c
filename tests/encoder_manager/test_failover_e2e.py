"""Failover end to end: simulators on loopback, the real manager, the real database."""

from __future__ import annotations

from sqlalchemy import select

from castwatch.common.models import Alert, EncoderGroup, FailoverEvent
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
