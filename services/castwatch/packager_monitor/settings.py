"""Settings of this process area, read from the environment by ``Settings.from_env``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class ProbeSettings:
    """Defaults must be usable on a laptop; every field has one."""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ProbeSettings:
        return cls()
