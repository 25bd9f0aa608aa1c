"""Every fault of the simulators' plan leads to the right alert through the real manager."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from castwatch.common.models import Alert, AlertEvent, Encoder
from tests.encoder_manager.helpers import encoder_row, wait_for


def open_alerts(session_factory) -> dict[tuple[str, str], Alert]:
    with session_factory() as s:
        rows = s.scalars(select(Alert).where(Alert.state != "resolved"))
        return {(a.subject, a.alert_type): a for a in rows}


FAULTS = [
    ("aja_helo", {"hang": True}, "ENCODER_UNREACHABLE"),
    ("haivision_makito", {"http_error": 500}, "ENCODER_UNREACHABLE"),
    ("generic_http", {"http_error": 401}, "ENCODER_UNREACHABLE"),
    ("blackmagic", {"malformed": True}, "ENCODER_UNREACHABLE"),
    ("aja_helo", {"stream_stop": True}, "ENCODER_STREAM_DOWN"),
    ("haivision_makito", {"overheat": True, "overheat_rate_c_per_s": 40.0}, "ENCODER_OVERHEAT"),
    ("obs", {"drop_rate_per_s": 60.0}, "ENCODER_DROPPED_FRAMES"),
    ("haivision_makito", {"link_errors": True}, "ENCODER_LINK_ERRORS"),
    ("generic_http", {"link_errors": True}, "ENCODER_LINK_ERRORS"),
]


@pytest.mark.parametrize(("kind", "faults", "alert_type"), FAULTS,
                         ids=[f"{k}-{next(iter(f))}" for k, f, _ in FAULTS])
def test_a_fault_raises_its_alert(kind, faults, alert_type, db, session_factory, make_sim, start_manager):
    sim = make_sim(kind, streaming=True)
    enc = encoder_row(db, sim, f"{kind}-1")
    db.commit()
    start_manager()
    wait_for(lambda: len(sim.state.requests) >= 2)
    sim.state.set_faults(**faults)
    alert = wait_for(lambda: open_alerts(session_factory).get((enc.name, alert_type)), timeout=20)
    assert alert.source == "encoders" and alert.encoder_id == enc.id
    assert alert.summary


def test_cpu_over_the_encoders_own_threshold_raises_cpu_high(db, session_factory, make_sim, start_manager):
    sim = make_sim("generic_http", streaming=True)
    enc = encoder_row(db, sim, "busy", thresholds={"cpu_max_percent": 40, "clear_after_s": 0.5})
    db.commit()
    start_manager()
    alert = wait_for(lambda: open_alerts(session_factory).get(("busy", "ENCODER_CPU_HIGH")), timeout=20)
    assert alert.encoder_id == enc.id and alert.severity == "major"


def test_an_alert_resolves_after_the_condition_stays_clear(db, session_factory, make_sim, start_manager):
    sim = make_sim("haivision_makito", streaming=True)
    encoder_row(db, sim, "linky")
    db.commit()
    start_manager()
    sim.state.set_faults(link_errors=True)
    alert = wait_for(lambda: open_alerts(session_factory).get(("linky", "ENCODER_LINK_ERRORS")), timeout=20)
    sim.state.set_faults(link_errors=False)
    wait_for(lambda: ("linky", "ENCODER_LINK_ERRORS") not in open_alerts(session_factory), timeout=20)
    with session_factory() as s:
        kinds = [e.kind for e in s.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert.id))]
    assert kinds == ["opened", "resolved"]


def test_an_expired_session_raises_nothing(db, session_factory, make_sim, start_manager):
    sim = make_sim("aja_helo", streaming=True)
    sim.state.set_faults(session_ttl_s=0.3)
    encoder_row(db, sim, "sessiony")
    db.commit()
    start_manager()
    wait_for(lambda: len(sim.state.requests_matching("/authenticator/login")) >= 3, timeout=20)
    assert open_alerts(session_factory) == {}


def test_malformed_replies_never_stop_the_loop_and_rows_stay_current(db, session_factory, make_sim,
                                                                     start_manager):
    broken = make_sim("obs", streaming=True)
    broken.state.set_faults(malformed=True)
    healthy = make_sim("haivision_makito", streaming=True)
    encoder_row(db, broken, "broken")
    good = encoder_row(db, healthy, "good")
    db.commit()
    handle = start_manager()
    wait_for(lambda: open_alerts(session_factory).get(("broken", "ENCODER_UNREACHABLE")), timeout=20)
    count = len(healthy.state.requests)
    wait_for(lambda: len(healthy.state.requests) > count + 6, timeout=10)

    def row():
        with session_factory() as s:
            return s.get(Encoder, good.id)

    current = wait_for(lambda: (r := row()).last_seen_at is not None and r, timeout=10)
    assert current.state == "live" and current.reachable is True
    assert current.last_sample["temperature_c"] == 45.0 and current.instability_score is not None
    assert handle.manager.metrics.loop_errors.labels("poll")._value.get() == 0
