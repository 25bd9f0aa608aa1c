"""Auto-remediation: pure decisions, and a failed primary brought back as a healthy standby."""

from __future__ import annotations

from sqlalchemy import select

from castwatch.common.models import Alert, AlertEvent, EncoderGroup
from castwatch.encoder_manager.remediation import (
    EXHAUSTED,
    REBOOT,
    RECONNECT,
    RESET_OUTPUT,
    RESTORED,
    RemedyPolicy,
    step,
)
from tests.encoder_manager.helpers import encoder_row, fast_group, wait_for

POLICY = RemedyPolicy(max_attempts=3, backoff_s=10.0, max_backoff_s=40.0)


def run_ladder(capabilities, allow_reboot, until: float):
    rem, done = None, []
    t = 0.0
    while t <= until:
        rem, what = step(rem, healthy=False, capabilities=capabilities, allow_reboot=allow_reboot,
                         now=t, policy=POLICY)
        if what:
            done.append((t, what))
        t += 1.0
    return rem, done


def test_remedies_escalate_with_back_off_and_stop_after_the_bounded_attempts():
    rem, done = run_ladder({"reboot"}, True, 200)
    assert done == [(10.0, RECONNECT), (20.0, RESET_OUTPUT), (40.0, REBOOT), (80.0, EXHAUSTED)]
    assert rem is not None and rem.tried == (RECONNECT, RESET_OUTPUT, REBOOT) and rem.exhausted


def test_no_reboot_unless_the_device_can_and_the_operator_allowed_it():
    for caps, allowed in (({"reboot"}, False), (set(), True)):
        _rem, done = run_ladder(caps, allowed, 200)
        assert REBOOT not in [w for _t, w in done]


def test_a_standby_that_turns_healthy_ends_its_remediation():
    rem, what = step(None, healthy=False, capabilities=(), allow_reboot=False, now=0, policy=POLICY)
    rem, what = step(rem, healthy=False, capabilities=(), allow_reboot=False, now=10, policy=POLICY)
    assert what == RECONNECT
    kw = dict(capabilities=(), allow_reboot=False, now=11, policy=POLICY)
    assert step(rem, healthy=True, **kw) == (None, RESTORED)
    assert step(None, healthy=True, **kw) == (None, None)


def test_a_remediation_restores_redundancy_after_a_failover(db, session_factory, make_sim, start_manager):
    primary_sim, backup_sim = make_sim("haivision_makito", streaming=True), make_sim("obs")
    group = fast_group(db, failback_hold_s=1.0,
                       thresholds={"clear_after_s": 0.6, "raise_after_count": 2, "remedy_backoff_s": 0.5})
    primary = encoder_row(db, primary_sim, "wedged", group, driver_options={"allow_reboot": True})
    backup = encoder_row(db, backup_sim, "spare", group, role="backup")
    group.active_encoder_id = primary.id
    db.commit()
    start_manager()
    wait_for(lambda: len(primary_sim.state.requests) > 3)
    primary_sim.state.set_faults(stream_stop=True)  # wedged: its stream stays failed until a reboot

    def activated() -> list[Alert]:
        with session_factory() as s:
            return list(s.scalars(select(Alert).where(Alert.alert_type == "FAILOVER_ACTIVATED")))

    wait_for(lambda: activated(), timeout=20)
    with session_factory() as s:
        assert s.get(EncoderGroup, group.id).active_encoder_id == backup.id
    wait_for(lambda: primary_sim.state.requests_matching("/apis/reboot"), timeout=20)
    wait_for(lambda: [a.state for a in activated()] == ["resolved"], timeout=20)  # redundancy back
    assert backup_sim.state.streaming and not primary_sim.state.streaming  # the air was not touched
    with session_factory() as s:
        notes = [e.note for e in s.scalars(select(AlertEvent).where(AlertEvent.actor == "remediation"))]
    assert any("reconnect" in n for n in notes) and any("reboot" in n for n in notes)


def test_exhausted_remediation_says_what_was_tried(db, session_factory, make_sim, start_manager):
    primary_sim, backup_sim = make_sim("aja_helo", streaming=True), make_sim("matrox_monarch")
    group = fast_group(db, thresholds={"clear_after_s": 0.6, "raise_after_count": 2, "remedy_backoff_s": 0.2,
                                       "remedy_max_attempts": 2})
    primary = encoder_row(db, primary_sim, "dead-helo", group)
    encoder_row(db, backup_sim, "monarch", group, role="backup")
    group.active_encoder_id = primary.id
    db.commit()
    start_manager()
    wait_for(lambda: len(primary_sim.state.requests) > 3)
    primary_sim.state.set_faults(stream_stop=True)  # the HELO keeps failing: nothing castwatch can do

    def summary() -> str:
        with session_factory() as s:
            alert = s.scalars(select(Alert).where(Alert.alert_type == "FAILOVER_ACTIVATED",
                                                  Alert.state != "resolved")).first()
            return alert.summary if alert else ""

    text = wait_for(lambda: "could not be brought back" in summary() and summary(), timeout=30)
    assert "reconnect" in text and "reset_output" in text and "dead-helo" in text
