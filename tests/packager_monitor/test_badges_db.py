"""The probe writes a channel's badges and status to its row (real PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import select

from castwatch.common.models import Alert, Channel
from castwatch.packager_monitor.settings import ProbeSettings
from castwatch.simulators.origin.model import SimConfig
from castwatch.simulators.origin.server import SimulatorThread
from tests.support.egress import LOOPBACK

from .conftest import ProbeThread, wait_for


def test_a_uhd_hdr_atmos_channel_gets_its_badges_and_an_hd_one_none(session_factory):
    with SimulatorThread(SimConfig(channels=2, segment_s=1.0, uhd_channels=1)) as sim:
        with session_factory() as s, s.begin():
            for code in sim.model.channels:
                s.add(Channel(code=code, name=code, input_url=sim.master_url(code)))
        settings = ProbeSettings(egress=LOOPBACK, name="probe-badges", lease_ttl_s=3, status_interval_s=1)
        with ProbeThread(settings, session_factory):
            def rows() -> dict[str, Channel] | None:
                with session_factory() as s:
                    found = {c.code: c for c in s.scalars(select(Channel))}
                return found if all(c.status == "ok" and c.last_check for c in found.values()) else None
            channels = wait_for(rows, 20, "both channels checked")
    uhd, hd = channels["CH_SIM_001"], channels["CH_SIM_002"]
    assert (uhd.is_4k, uhd.is_hdr, uhd.is_atmos) == (True, True, True)
    assert (hd.is_4k, hd.is_hdr, hd.is_atmos) == (False, False, False)
    assert "2160p" in uhd.last_check["renditions"] and "2160p" not in hd.last_check["renditions"]
    with session_factory() as s:
        assert list(s.scalars(select(Alert))) == []
