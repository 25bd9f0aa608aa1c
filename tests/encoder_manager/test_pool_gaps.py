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
