"""Editing a channel restarts its worker without losing its open alerts (real PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import select

from castwatch.common.models import Alert, Channel
from castwatch.packager_monitor.settings import ProbeSettings
from castwatch.simulators.origin.model import SimConfig
from castwatch.simulators.origin.server import SimulatorThread
from tests.support.egress import LOOPBACK

from .conftest import ProbeThread, wait_for


def test_an_alert_opened_before_a_channel_edit_resolves_after_it(session_factory):
    with SimulatorThread(SimConfig(channels=1, segment_s=1.0)) as sim:
        with session_factory() as s, s.begin():
            s.add(Channel(code="CH_SIM_001", name="one", input_url=sim.master_url("CH_SIM_001")))
        settings = ProbeSettings(egress=LOOPBACK,
                                 name="probe-edit", lease_ttl_s=1.5, clear_hold_s=2, status_interval_s=1)
        with ProbeThread(settings, session_factory) as probe:
            wait_for(lambda: any(len(w.facts) == 4 for w in probe.workers()), 15, "all renditions polled")
            sim.model.set_fault("CH_SIM_001", "720p", "stall")

            def alert() -> Alert | None:
                with session_factory() as s:
                    return s.scalar(select(Alert).where(Alert.alert_type == "PLAYLIST_STALE"))
            opened = wait_for(alert, 10, "PLAYLIST_STALE")
            with session_factory() as s, s.begin():  # an operator edits the URL meanwhile
                s.scalar(select(Channel)).input_url = sim.master_url("CH_SIM_001") + "?edited=1"
            wait_for(lambda: any("edited" in w.cfg.url for w in probe.workers()), 10,
                     "the worker restarted with the new URL")
            sim.model.clear_fault()

            def resolved() -> bool:
                with session_factory() as s:
                    a = s.get(Alert, opened.id)
                    return a is not None and a.state == "resolved"
            wait_for(resolved, 15, "the alert opened before the edit to resolve")
