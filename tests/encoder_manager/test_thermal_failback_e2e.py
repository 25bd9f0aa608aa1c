"""Predictive overheat, pre-emptive moves and fail-back, end to end."""

from __future__ import annotations

from sqlalchemy import select

from castwatch.common.models import Alert, AlertEvent, EncoderGroup, FailoverEvent
from tests.encoder_manager.helpers import encoder_row, fast_group, wait_for


def open_alert(session_factory, subject: str, alert_type: str) -> Alert | None:
    with session_factory() as s:
        return s.scalars(select(Alert).where(Alert.subject == subject, Alert.alert_type == alert_type,
                                             Alert.state != "resolved")).first()


def test_a_rising_temperature_warns_before_the_limit_then_turns_critical(db, session_factory, make_sim,
                                                                         start_manager):
    sim = make_sim("generic_http", streaming=True, base_temperature_c=40.0)
    # test speed: a trend over 3 s of 0.2 s polls is enough history here (2 min by default)
    encoder_row(db, sim, "warming", thresholds={"temperature_max_c": 48, "clear_after_s": 0.5,
                                                "raise_after_count": 2, "overheat_min_span_s": 3})
    db.commit()
    start_manager()
    sim.state.set_faults(overheat=True, overheat_rate_c_per_s=0.25)  # 32 s to the limit: a trend
    warned = wait_for(lambda: open_alert(session_factory, "warming", "ENCODER_OVERHEAT"), timeout=20)
    assert warned.severity == "minor" and "reaches 48" in warned.summary
    sim.state.set_faults(overheat_rate_c_per_s=5.0)  # now it is over the limit
    wait_for(lambda: (a := open_alert(session_factory, "warming", "ENCODER_OVERHEAT")) and
             a.severity == "critical", timeout=25)
    with session_factory() as s:
        kinds = [e.kind for e in s.scalars(select(AlertEvent).where(AlertEvent.alert_id == warned.id))]
    assert kinds[:2] == ["opened", "updated"]


def test_an_encoder_heading_for_overheat_hands_its_output_to_the_backup(db, session_factory, make_sim,
                                                                        start_manager):
    hot_sim = make_sim("haivision_makito", streaming=True, base_temperature_c=40.0)
    cool_sim = make_sim("obs")
    group = fast_group(db, thresholds={"temperature_max_c": 60, "clear_after_s": 0.5,
                                       "overheat_min_span_s": 3})
    hot = encoder_row(db, hot_sim, "hot", group)
    cool = encoder_row(db, cool_sim, "cool", group, role="backup")
    group.active_encoder_id = hot.id
    db.commit()
    start_manager()
    hot_sim.state.set_faults(overheat=True, overheat_rate_c_per_s=1.0)

    def active() -> int | None:
        with session_factory() as s:
            return s.get(EncoderGroup, group.id).active_encoder_id

    wait_for(lambda: active() == cool.id, timeout=25)
    wait_for(lambda: not hot_sim.state.streaming, timeout=10)  # parked right after the switch
    assert cool_sim.state.streaming
    with session_factory() as s:
        [event] = s.scalars(select(FailoverEvent)).all()
    assert event.kind == "preemptive" and event.status == "succeeded"


def test_primary_preferred_fails_back_once_the_primary_is_healthy_again(db, session_factory, make_sim,
                                                                        start_manager):
    primary_sim = make_sim("aja_helo", streaming=True)
    backup_sim = make_sim("blackmagic")
    group = fast_group(db, preference="primary_preferred", failback_hold_s=1.0, min_switch_interval_s=1.0)
    primary = encoder_row(db, primary_sim, "first", group)
    backup = encoder_row(db, backup_sim, "second", group, role="backup")
    group.active_encoder_id = primary.id
    db.commit()
    start_manager()

    def active() -> int | None:
        with session_factory() as s:
            return s.get(EncoderGroup, group.id).active_encoder_id

    primary_sim.state.set_faults(stream_stop=True)
    wait_for(lambda: active() == backup.id, timeout=20)
    wait_for(lambda: open_alert(session_factory, group.name, "FAILOVER_ACTIVATED"), timeout=10)
    primary_sim.state.set_faults(stream_stop=False)
    wait_for(lambda: active() == primary.id, timeout=25)
    wait_for(lambda: not backup_sim.state.streaming, timeout=10)
    assert primary_sim.state.streaming
    wait_for(lambda: open_alert(session_factory, group.name, "FAILOVER_ACTIVATED") is None, timeout=10)
    with session_factory() as s:
        kinds = [(e.kind, e.status) for e in s.scalars(select(FailoverEvent).order_by(FailoverEvent.id))]
    assert kinds == [("automatic", "succeeded"), ("failback", "succeeded")]
