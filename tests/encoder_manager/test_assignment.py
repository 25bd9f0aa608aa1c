"""Load-balanced assignment of outputs over a pool of encoders: a pure function."""

from __future__ import annotations

from castwatch.encoder_manager.assignment import PoolEncoder, PoolOutput, assign

OUTPUTS = [PoolOutput(i, f"out-{i}", bitrate_kbps=6000, priority=10 - i) for i in range(1, 7)]


def pool(overrides: dict[int, dict] | None = None) -> list[PoolEncoder]:
    overrides = overrides or {}
    encs = [PoolEncoder(eid, cpu_percent=30.0, temperature_c=50.0, max_outputs=2,
                        bitrate_budget_kbps=15000) for eid in (1, 2, 3, 4)]
    return [PoolEncoder(**{**e.__dict__, **overrides.get(e.encoder_id, {})}) for e in encs]


def test_a_pool_of_four_encoders_carries_six_outputs_and_reassigns_when_one_dies():
    plan = assign(OUTPUTS, pool(), {})
    assert not plan.unassigned
    per_encoder = {}
    for oid, eid in plan.assignment.items():
        per_encoder.setdefault(eid, []).append(oid)
    assert all(len(v) <= 2 for v in per_encoder.values()) and len(per_encoder) >= 3
    dead = plan.assignment[1]
    survivors = pool({dead: {"usable": False}})
    again = assign(OUTPUTS, survivors, plan.assignment)
    assert not again.unassigned and dead not in again.assignment.values()
    moved = {m.output_id for m in again.moves}
    assert moved == {oid for oid, eid in plan.assignment.items() if eid == dead}  # only those moved
    assert all(m.reason == "encoder failed" for m in again.moves)


def test_live_outputs_are_not_moved_to_balance_load():
    current = {1: 1, 2: 1}  # two outputs on encoder 1 while 2..4 are idle
    plan = assign(OUTPUTS[:2], pool(), current)
    assert plan.assignment == current and plan.moves == []


def test_a_hot_encoder_sheds_its_least_important_output():
    current = {1: 1, 2: 1}
    plan = assign(OUTPUTS[:2], pool({1: {"hot": True}}), current)
    assert plan.assignment[1] == 1  # the more important one stays
    assert plan.assignment[2] not in (1, None)
    assert [m.reason for m in plan.moves] == ["thermal shedding"]


def test_capabilities_and_bitrate_budgets_are_respected():
    outs = [PoolOutput(1, "hevc-4k", bitrate_kbps=20000, capabilities=frozenset({"hevc"}))]
    encs = [PoolEncoder(1, max_outputs=4, bitrate_budget_kbps=30000),
            PoolEncoder(2, max_outputs=4, bitrate_budget_kbps=10000, capabilities=frozenset({"hevc"})),
            PoolEncoder(3, max_outputs=4, bitrate_budget_kbps=30000, capabilities=frozenset({"hevc"}))]
    assert assign(outs, encs, {}).assignment == {1: 3}
    full = assign(outs, encs[:2], {})
    assert full.unassigned == [1] and "no room" in full.moves[0].reason


def test_the_emptiest_encoder_wins_and_the_most_important_output_is_placed_first():
    encs = [PoolEncoder(1, cpu_percent=80.0, max_outputs=1),
            PoolEncoder(2, cpu_percent=10.0, max_outputs=1)]
    outs = [PoolOutput(1, "minor", priority=0), PoolOutput(2, "major", priority=5)]
    assert assign(outs, encs, {}).assignment == {2: 2, 1: 1}


def test_an_encoder_wired_to_one_destination_takes_only_the_output_with_that_destination():
    # a classic standby (one configured stream) must not be started for another output: it would
    # push its own destination, the on-air encoder's, a second time
    encoders = [PoolEncoder(1, wired_to="srt://a"), PoolEncoder(2, wired_to="srt://a"),
                PoolEncoder(3, max_outputs=2)]
    outputs = [PoolOutput(10, "main", destination="srt://a"), PoolOutput(11, "second", destination="srt://b")]
    plan = assign(outputs, encoders[:2], {10: 1, 11: None})
    assert plan.assignment == {10: 1, 11: None}
    plan = assign(outputs, encoders, {10: None, 11: None})
    assert plan.assignment[11] == 3 and plan.assignment[10] in (1, 2, 3)


def test_capabilities_from_driver_options_are_a_list_of_short_strings_or_ignored():
    from castwatch.encoder_manager.assignment import parse_capabilities, pool_encoder

    assert parse_capabilities(None) == frozenset()
    assert parse_capabilities(["hevc", " multi_output "]) == {"hevc", "multi_output"}
    for bad in ("hevc", 5, {"hevc": 1}, ["hevc", 5], [""], ["x" * 41], ["a"] * 51):
        assert parse_capabilities(bad) is None, bad

    def build(options: dict) -> PoolEncoder:
        return pool_encoder(1, usable=True, hot=False, cpu_percent=None, temperature_c=None,
                            temperature_max_c=75.0, cpu_max_percent=90.0, max_outputs=2,
                            bitrate_budget_kbps=None, driver_capabilities={"start_stop"},
                            driver_options=options, output={"url": "srt://192.0.2.1:9000"})

    # "hevc" as a string is not the capabilities h, e, v, c: it is ignored, nothing raises
    assert build({"capabilities": "hevc"}).capabilities == {"start_stop"}
    assert build({"capabilities": 5}).capabilities == {"start_stop"}
    assert build({"capabilities": ["hevc"]}).capabilities == {"start_stop", "hevc"}
    assert build({}).wired_to == "srt://192.0.2.1:9000"  # one configured output
    assert build({"capabilities": ["multi_output"]}).wired_to is None
