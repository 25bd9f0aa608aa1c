"""Encoder simulators: one per driver family, sharing :mod:`state` and the ``/_sim`` API."""

from __future__ import annotations

import importlib

from castwatch.simulators.encoders.base import EncoderSimulator, SimHost
from castwatch.simulators.encoders.state import FaultPlan, SimState

SIMULATORS: dict[str, str] = {
    "aja_helo": "castwatch.simulators.encoders.aja_helo:AjaHeloSimulator",
    "matrox_monarch": "castwatch.simulators.encoders.matrox_monarch:MatroxMonarchSimulator",
    "haivision_makito": "castwatch.simulators.encoders.haivision_makito:HaivisionMakitoSimulator",
    "obs": "castwatch.simulators.encoders.obs:ObsSimulator",
    "blackmagic": "castwatch.simulators.encoders.blackmagic:BlackmagicSimulator",
    "generic_http": "castwatch.simulators.encoders.generic_http:GenericHttpSimulator",
}


def simulator_class(kind: str) -> type[EncoderSimulator]:
    module_name, _, class_name = SIMULATORS[kind].partition(":")
    cls: type[EncoderSimulator] = getattr(importlib.import_module(module_name), class_name)
    return cls


__all__ = ["SIMULATORS", "EncoderSimulator", "FaultPlan", "SimHost", "SimState", "simulator_class"]
