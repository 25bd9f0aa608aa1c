"""Encoder drivers: one module per device family, looked up by ``driver_kind``.

Adding a family: a module with an :class:`EncoderDriver` subclass, one line in
:data:`REGISTRY`, a simulator and a test file. Nothing else moves.
"""

from __future__ import annotations

import importlib
from typing import Any

from castwatch.encoder_manager.drivers.base import (
    DriverAuthExpired,
    DriverBusy,
    DriverConfig,
    DriverConnectionError,
    DriverError,
    DriverHTTPError,
    DriverProtocolError,
    DriverTimeout,
    EncoderDriver,
)

#: driver_kind → "module:Class"
REGISTRY: dict[str, str] = {
    "aja_helo": "castwatch.encoder_manager.drivers.aja_helo:AjaHeloDriver",
    "matrox_monarch": "castwatch.encoder_manager.drivers.matrox_monarch:MatroxMonarchDriver",
    "haivision_makito": "castwatch.encoder_manager.drivers.haivision_makito:HaivisionMakitoDriver",
    "obs": "castwatch.encoder_manager.drivers.obs:ObsDriver",
    "blackmagic": "castwatch.encoder_manager.drivers.blackmagic:BlackmagicDriver",
    "generic_http": "castwatch.encoder_manager.drivers.generic_http:GenericHttpDriver",
}


def driver_class(kind: str) -> type[EncoderDriver]:
    """The driver class for ``kind``; ``DriverError`` when there is none."""
    try:
        module_name, _, class_name = REGISTRY[kind].partition(":")
    except KeyError:
        raise DriverError(f"no driver for kind {kind!r}") from None
    cls: type[EncoderDriver] = getattr(importlib.import_module(module_name), class_name)
    return cls


def create_driver(kind: str, config: DriverConfig, **kwargs: Any) -> EncoderDriver:
    """A driver instance; ``kwargs`` (e.g. a shared ``connector``) go to HTTP drivers."""
    return driver_class(kind)(config, **kwargs)  # type: ignore[call-arg]


__all__ = [
    "REGISTRY", "DriverAuthExpired", "DriverBusy", "DriverConfig", "DriverConnectionError",
    "DriverError", "DriverHTTPError", "DriverProtocolError", "DriverTimeout", "EncoderDriver",
    "create_driver", "driver_class",
]
