"""The demo's pieces alone: idempotent seeding on the real schema, the fault rotation's plan."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from castwatch.common.models import ApiKey, Channel, Encoder, EncoderGroup, NotificationRule
from castwatch.demo.faults import fault_plan, schedule
from castwatch.demo.seed import DemoTopology, seed


def test_seeding_twice_keeps_one_row_each_and_replaces_the_admin_key(
        session_factory: sessionmaker[Session]) -> None:
    topo = DemoTopology("http://127.0.0.1:1", ("DEMO_001", "DEMO_002"), "127.0.0.1:2", "127.0.0.1:3")
    with session_factory.begin() as session:
        first = seed(session, topo)
    moved = DemoTopology("http://127.0.0.1:9", ("DEMO_001", "DEMO_002"), "127.0.0.1:8", "127.0.0.1:7")
    with session_factory.begin() as session:
        second = seed(session, moved, notify=False, credentials_ref="env:ENCODER_SECRET_DEMO")
    assert first.channel_ids == second.channel_ids and first.group_id == second.group_id
    assert first.admin_key != second.admin_key
    with session_factory() as session:
        assert session.query(EncoderGroup).count() == 1
        assert session.query(Encoder).count() == 2
        urls = {c.code: c.input_url for c in session.scalars(select(Channel))}
        assert urls["DEMO_001"].startswith("http://127.0.0.1:9/")
        primary = session.get(Encoder, second.primary_id)
        assert primary is not None and primary.address == "127.0.0.1:8"
        assert primary.credentials_ref == "env:ENCODER_SECRET_DEMO"
        keys = session.scalars(select(ApiKey).order_by(ApiKey.id)).all()
        assert [k.revoked_at is not None for k in keys] == [True, False]
        rule = session.scalar(select(NotificationRule))
        assert rule is not None and rule.enabled is False  # no transport configured the 2nd time


def test_faults_start_one_interval_apart_and_never_outlast_their_interval() -> None:
    assert schedule(0, first_delay_s=45, interval_s=180, duration_s=60) == (45, 105)
    assert schedule(2, first_delay_s=45, interval_s=180, duration_s=60) == (405, 465)
    assert schedule(1, first_delay_s=5, interval_s=10, duration_s=30) == (15, 25)


def test_the_rotation_breaks_a_playlist_first_and_every_fault_can_be_cleared() -> None:
    plan = fault_plan("http://o", ["A", "B", "C"], "http://p", "http://b")
    assert [f.name for f in plan] == ["playlist_error", "encoder_down", "stall", "slow_segments",
                                      "overheat"]
    first = plan[0].inject[0]
    assert (first.url, first.json) == ("http://o/_sim/faults", {
        "channel": "B", "rendition": None, "fault": "playlist_status", "value": 500})
    assert all(f.inject and f.clear for f in plan)
    assert plan[1].inject[0].url == "http://p/_sim/faults"
