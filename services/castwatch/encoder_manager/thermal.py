"""Thermal management and load balancing: pure functions over encoder load snapshots.

- :func:`headroom` scores how much more work an encoder can take (0 = none) from CPU,
  temperature and the number of streams it already runs;
- :func:`choose_encoder` assigns an output to the encoder with the most headroom, skipping
  ones that are cooling down, over a limit, or predicted to overheat;
- :func:`shed_outputs` picks the lowest-priority outputs to move off a hot encoder;
- :class:`CoolDown` keeps an encoder out of rotation after a thermal event until it has
  stayed below ``limit - margin`` for ``hold_s`` (no ping-pong between hot encoders).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Load:
    encoder_id: int
    cpu_percent: float | None
    temperature_c: float | None
    streams: int
    max_streams: int = 1
    temperature_max_c: float = 75.0
    cpu_max_percent: float = 90.0
    overheat_predicted: bool = False
    cooling: bool = False


def headroom(load: Load) -> float:
    """0..1, the smallest of CPU, temperature and stream-slot headroom (unknown = assume half)."""
    if load.cooling or load.overheat_predicted or load.streams >= load.max_streams:
        return 0.0
    cpu = 0.5 if load.cpu_percent is None else max(0.0, 1 - load.cpu_percent / load.cpu_max_percent)
    temp = 0.5 if load.temperature_c is None else max(
        0.0, (load.temperature_max_c - load.temperature_c) / max(load.temperature_max_c - 25.0, 1.0))
    slots = 1 - load.streams / load.max_streams
    return round(min(cpu, min(temp, 1.0), slots), 4)


def choose_encoder(loads: Sequence[Load], *, exclude: frozenset[int] = frozenset()) -> int | None:
    """The encoder id with the most headroom (> 0), ties broken by id; None when all are full."""
    best = max(((headroom(x), -x.encoder_id) for x in loads if x.encoder_id not in exclude),
               default=None)
    if best is None or best[0] <= 0:
        return None
    return -best[1]


@dataclass(frozen=True)
class Output:
    name: str
    priority: int  # higher = more important


def shed_outputs(outputs: Sequence[Output], count: int) -> list[Output]:
    """The ``count`` least important outputs (lowest priority first, then name)."""
    return sorted(outputs, key=lambda o: (o.priority, o.name))[:max(0, count)]


@dataclass
class CoolDown:
    """Tracks encoders taken out of rotation for heat; ``cooling(id, temp, now)`` each poll."""

    margin_c: float = 10.0
    hold_s: float = 120.0
    _since: dict[int, float | None] = field(default_factory=dict)

    def start(self, encoder_id: int) -> None:
        self._since[encoder_id] = None

    def cooling(self, encoder_id: int, temperature_c: float | None, limit_c: float, now: float) -> bool:
        """True while the encoder must not take load; ends after ``hold_s`` below the margin."""
        if encoder_id not in self._since:
            return False
        if temperature_c is None or temperature_c > limit_c - self.margin_c:
            self._since[encoder_id] = None
            return True
        since = self._since[encoder_id]
        if since is None:
            self._since[encoder_id] = now
            return True
        if now - since >= self.hold_s:
            del self._since[encoder_id]
            return False
        return True
