"""Encoder pools, second review of #13 item 5: malformed capabilities, the API's proposal
against the manager's plan, a stream that never connects, a pool turning back into a classic
group. Makito X4 (and generic HTTP) simulators on loopback, the real manager and database."""

from __future__ import annotations

from tests.encoder_manager.helpers import wait_for
from tests.encoder_manager.test_pool_e2e import NAMES, carried_as_assigned, open_unassigned, pool_group


def test_a_malformed_capabilities_option_on_one_encoder_does_not_stop_the_pool(
        db, session_factory, makito, start_manager):
    names = NAMES[:3]
    sims = [makito(f"c{i}", names=names) for i in range(1, 3)]
    group, encoders, _ = pool_group(db, sims, max_outputs=2, names=names)
    encoders[0].driver_options = {"capabilities": 5}  # written before the API checked it
    db.commit()
    by_id = {e.id: s for e, s in zip(encoders, sims, strict=True)}
    start_manager()

    placed = wait_for(lambda: carried_as_assigned(session_factory, group.id, by_id, names), timeout=30)
    assert set(placed.values()) == set(by_id)  # the encoder with the bad option carries too
    assert not open_unassigned(session_factory)


def api_pool(session_factory, group_id: int) -> dict:
    """The CMS API's pool view (the real app on the test database)."""
    from castwatch.cms_api import create_app
    from castwatch.cms_api.auth import create_key
    from castwatch.common.db import transaction
    from tests.cms_api.support import api_settings, bearer

    with transaction(session_factory) as session:
        _, key = create_key(session, name=f"pool-reader-{group_id}", scope="read", expires_in=None)
    app = create_app(api_settings(), session_factory=session_factory, start_listener=False)
    resp = app.test_client().get(f"/api/v1/encoder-groups/{group_id}/pool", headers=bearer(key))
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_the_apis_proposal_is_the_managers_plan_for_the_same_rows(db, session_factory, make_sim, makito,
                                                                  start_manager):
    """Single-stream devices are wired to their output url, driver and option capabilities
    count: the API's proposal must say what the manager does, not place an output on a device
    that would push another destination."""
    from castwatch.common.models import Encoder, EncoderOutput
    from tests.encoder_manager.helpers import encoder_row, fast_group

    on_air_sim, standby_sim = make_sim("generic_http", streaming=True), make_sim("generic_http")
    multi = makito("multi", names=["hevc-out"])
    url = {"url": "srt://192.0.2.1:9000"}
    group = fast_group(db, "same-plan")
    on_air = encoder_row(db, on_air_sim, "same-primary", group, output=url)
    encoder_row(db, standby_sim, "same-backup", group, role="backup", output=url)
    # full once it carries hevc-out (max_outputs 1): the group is a pool by its 3 outputs
    multi_row = encoder_row(db, multi, "same-multi", group, driver_options={"capabilities": ["hevc"]})
    db.add_all([EncoderOutput(name="switched", group_id=group.id, destination=url["url"],
                              assigned_encoder_id=on_air.id),
                EncoderOutput(name="hevc-out", group_id=group.id, destination="srt://192.0.2.1:9002",
                              required_capabilities=["hevc"]),
                # only the standby has a free slot for it, and the standby can push only url
                EncoderOutput(name="second", group_id=group.id, destination="srt://192.0.2.1:9001",
                              bitrate_kbps=1)])
    db.commit()
    manager = start_manager().manager

    wait_for(lambda: open_unassigned(session_factory) == {"second"}, timeout=30)
    with session_factory() as s:
        wait_for(lambda: all(e.reachable for e in s.query(Encoder).populate_existing()), timeout=20)
    plan = manager.pools[group.id].last_plan
    assert plan is not None
    pool = api_pool(session_factory, group.id)
    assert pool["proposal"] == {str(k): v for k, v in plan.assignment.items()}
    ids = {o["name"]: o["id"] for o in pool["outputs"]}
    assert pool["proposal"][str(ids["second"])] is None and pool["unassigned"] == [ids["second"]]
    assert pool["proposal"][str(ids["hevc-out"])] == multi_row.id


def test_a_stream_stuck_connecting_is_given_up_and_moved(db, session_factory, makito, start_manager):
    from tests.encoder_manager.test_pool_e2e import assignment, pool_events

    names = NAMES[:2]
    stuck = makito("stuck", names=names, base_cpu_percent=5.0)  # most headroom: both land here first
    spare = makito("spare", names=names, base_cpu_percent=50.0)
    stuck.never_connects.add("out-2")  # its destination never answers: "connecting" for ever
    group, encoders, _ = pool_group(db, [stuck, spare], max_outputs=2, names=names)
    start_manager()

    wait_for(lambda: stuck.connecting_streams() == {"out-2"}, timeout=30)
    wait_for(lambda: assignment(session_factory, group.id)["out-2"] == encoders[0].id, timeout=10)
    placed = wait_for(lambda: carried_as_assigned(session_factory, group.id,
                                                  {encoders[0].id: stuck, encoders[1].id: spare}, names),
                      timeout=40)
    assert placed == {"out-1": encoders[0].id, "out-2": encoders[1].id}
    assert not stuck.connecting_streams()  # told to stop pushing at a destination that never answered
    gave_up = [e for e in pool_events(session_factory) if "never went live" in e.reason]
    assert [(e.from_encoder_id, e.status) for e in gave_up] == [(encoders[0].id, "failed")]
    assert not open_unassigned(session_factory)


def test_a_pool_turned_back_into_a_classic_group_stops_the_deleted_output_it_carried(
        db, session_factory, makito, start_manager):
    from sqlalchemy import select

    from castwatch.common.models import EncoderOutput

    names = NAMES[:2]
    sims = [makito("k1", names=names, base_cpu_percent=5.0), makito("k2", names=names, base_cpu_percent=50.0)]
    group, encoders, _ = pool_group(db, sims, max_outputs=1, names=names)  # a pool by its 2 outputs
    # recorded on air from its classic days: the classic failover will leave its streams alone
    group.active_encoder_id = encoders[1].id
    db.commit()
    by_id = {e.id: s for e, s in zip(encoders, sims, strict=True)}
    manager = start_manager().manager
    placed = wait_for(lambda: carried_as_assigned(session_factory, group.id, by_id, names), timeout=30)
    assert placed == {"out-1": encoders[0].id, "out-2": encoders[1].id}  # by headroom
    carrier = sims[1]

    gone = db.scalars(select(EncoderOutput).where(EncoderOutput.name == "out-2")).one()
    db.delete(gone)  # one output of one-output encoders: a classic group again
    db.commit()
    wait_for(lambda: group.id not in manager.pools, timeout=20)
    # the destination nobody manages any more is not pushed on: the pool's owed stop was sent
    wait_for(lambda: "out-2" not in carrier.live_streams(), timeout=20)
    assert carrier.state.requests_matching("/apis/streams/2/stop")


def test_a_migrated_output_named_after_its_group_adopts_the_makito_stream_on_air(
        db, session_factory, makito, start_manager):
    """Migration 0009 named a classic group's output after the group; the Makito has no stream of
    that name. When the group becomes a pool, the device's one live stream is adopted: it stays on
    air, managed, and no false ENCODER_OUTPUT_UNASSIGNED is raised."""
    from castwatch.common.models import EncoderOutput
    from tests.encoder_manager.helpers import encoder_row, fast_group
    from tests.encoder_manager.test_pool_e2e import assignment, pool_events

    on_air = makito("studio-mk", names=["cam-a", "extra"], streaming=True)
    on_air._live.add(1)  # "cam-a" has been on air since the group's classic days
    group = fast_group(db, "studio")
    enc = encoder_row(db, on_air, "studio-enc", group, max_outputs=2)
    group.active_encoder_id = enc.id
    db.add_all([EncoderOutput(name="studio", group_id=group.id, destination="srt://192.0.2.1:9000",
                              assigned_encoder_id=enc.id),  # as migrated
                EncoderOutput(name="extra", group_id=group.id, destination="srt://192.0.2.1:9001")])
    db.commit()
    start_manager()

    wait_for(lambda: assignment(session_factory, group.id) == {"cam-a": enc.id, "extra": enc.id}, timeout=30)
    wait_for(lambda: on_air.live_streams() == {"cam-a", "extra"}, timeout=20)
    assert [e.reason for e in pool_events(session_factory) if "adopts" in e.reason] == [
        "pool: migrated output studio adopts the stream cam-a live on studio-enc "
        "(named after it from now on)"]
    polls = len(on_air.state.requests_matching("/apis/status"))
    wait_for(lambda: len(on_air.state.requests_matching("/apis/status")) > polls + 10, timeout=20)
    assert not open_unassigned(session_factory)
    assert on_air.live_streams() == {"cam-a", "extra"}
    assert not on_air.state.requests_matching("/apis/streams/1/stop")


def test_a_pool_turned_classic_keeps_its_remaining_output_on_air_where_the_pool_carried_it(
        db, session_factory, makito, start_manager):
    from sqlalchemy import select

    from castwatch.common.models import EncoderGroup, EncoderOutput

    names = NAMES[:2]
    sims = [makito("h1", names=names, base_cpu_percent=5.0), makito("h2", names=names, base_cpu_percent=50.0)]
    group, encoders, _ = pool_group(db, sims, max_outputs=1, names=names)
    group.active_encoder_id = encoders[1].id  # stale: recorded on air before the group was a pool
    db.commit()
    by_id = {e.id: s for e, s in zip(encoders, sims, strict=True)}
    manager = start_manager().manager
    placed = wait_for(lambda: carried_as_assigned(session_factory, group.id, by_id, names), timeout=30)
    assert placed == {"out-1": encoders[0].id, "out-2": encoders[1].id}

    db.delete(db.scalars(select(EncoderOutput).where(EncoderOutput.name == "out-2")).one())
    db.commit()  # classic again: its on-air encoder is the one carrying out-1, not the stale one
    wait_for(lambda: group.id not in manager.pools, timeout=20)

    def active() -> int | None:
        with session_factory() as s:
            return s.get(EncoderGroup, group.id).active_encoder_id

    wait_for(lambda: active() == encoders[0].id, timeout=20)
    wait_for(lambda: not sims[1].live_streams(), timeout=20)
    polls = len(sims[0].state.requests_matching("/apis/status"))
    wait_for(lambda: len(sims[0].state.requests_matching("/apis/status")) > polls + 10, timeout=20)
    assert sims[0].live_streams() == {"out-1"}  # never parked
    assert not sims[0].state.requests_matching("/stop")
