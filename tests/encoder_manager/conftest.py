"""Encoder-manager fixtures: simulators on loopback hosted by one event-loop thread."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from castwatch.simulators.encoders import EncoderSimulator, SimHost, SimState, simulator_class
from castwatch.simulators.encoders.haivision_makito import HaivisionMakitoSimulator
from tests.encoder_manager.helpers import ManagerHandle, encoder_settings

T = TypeVar("T")
KINDS = ("aja_helo", "matrox_monarch", "haivision_makito", "obs", "blackmagic", "generic_http")


@pytest.fixture(scope="session")
def sim_host() -> Iterator[SimHost]:
    host = SimHost().start()
    yield host
    host.stop()


@pytest.fixture()
def make_sim(sim_host: SimHost) -> Iterator[Callable[..., EncoderSimulator]]:
    """``make_sim(kind, **state_fields)`` → a started simulator (stopped after the test)."""
    started: list[EncoderSimulator] = []

    def make(kind: str, **state: Any) -> EncoderSimulator:
        sim = simulator_class(kind)(SimState(name=f"{kind}-sim", **state))
        sim_host.run(sim.start())
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim_host.run(sim.stop())


@pytest.fixture()
def start_manager(database_url: str, session_factory: Any) -> Iterator[Callable[..., ManagerHandle]]:
    """``start_manager(replica="a", **settings)`` → a running manager, stopped after the test."""
    from prometheus_client import CollectorRegistry

    from castwatch.encoder_manager.manager import EncoderManager
    from castwatch.encoder_manager.metrics import EncoderMetrics

    handles: list[ManagerHandle] = []

    def start(replica: str = "a", influx: Any = None, **overrides: Any) -> ManagerHandle:
        cfg = encoder_settings(replica_name=replica, **overrides)
        manager = EncoderManager(cfg, session_factory, database_url, EncoderMetrics(CollectorRegistry()),
                                 influx)
        handle = ManagerHandle(manager).start()
        handles.append(handle)
        return handle

    yield start
    for handle in handles:
        handle.stop()


POOL_NAMES = [f"out-{i}" for i in range(1, 7)]


@pytest.fixture()
def makito(sim_host: SimHost) -> Iterator[Callable[..., HaivisionMakitoSimulator]]:
    """``makito(name, **state)`` → a started Makito simulator with a stream per pool output."""
    started: list[HaivisionMakitoSimulator] = []

    def make(name: str, names: list[str] = POOL_NAMES, **state: Any) -> HaivisionMakitoSimulator:
        sim = HaivisionMakitoSimulator(SimState(name=name, **state), stream_names=names)
        sim_host.run(sim.start())
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim_host.run(sim.stop())
