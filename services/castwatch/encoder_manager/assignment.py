"""Load-balanced assignment of outputs to a pool of encoders. Pure, no I/O, no clock.

An output is a destination + format + the capabilities it needs, with a bitrate and a
priority. An encoder of the pool carries up to ``max_outputs`` outputs within its bitrate
budget. :func:`assign` takes the current assignment and the encoders' state and returns the
next one plus the moves, by these rules:

- an output stays where it is while its encoder is usable and not shedding (hysteresis: a live
  output is never moved to balance load alone);
- an output whose encoder failed (unreachable, stream failed, disabled) is re-assigned;
- an encoder over its thermal limit or predicted to overheat sheds its least important outputs
  (``thermal.shed_outputs``) until it is within ``shed_to`` of its capacity;
- an unassigned output (new, or moved) goes to the usable encoder with the most headroom that
  has its capabilities and room for its bitrate — headroom as in ``thermal.headroom`` (CPU,
  temperature, slots) and bitrate budget left, the smallest of them; ties by encoder id;
- an encoder ``wired_to`` a destination (a device that streams one configured output, whatever
  output name it is told to start) takes only an output with that destination: anything else
  would have it push its own destination a second time;
- more important outputs are placed first; one that fits nowhere stays unassigned (reported).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from castwatch.encoder_manager.thermal import Load, Output, headroom, shed_outputs


@dataclass(frozen=True)
class PoolOutput:
    output_id: int
    name: str
    bitrate_kbps: float = 0.0
    priority: int = 0  # higher = more important
    capabilities: frozenset[str] = frozenset()
    destination: str = ""


@dataclass(frozen=True)
class PoolEncoder:
    encoder_id: int
    usable: bool = True  # reachable, stream not failed, enabled
    cpu_percent: float | None = None
    temperature_c: float | None = None
    temperature_max_c: float = 75.0
    cpu_max_percent: float = 90.0
    max_outputs: int = 1
    bitrate_budget_kbps: float | None = None
    capabilities: frozenset[str] = frozenset()
    hot: bool = False  # over its thermal limit or a confirmed overheat prediction
    wired_to: str | None = None  # the one destination it can push; None = it starts outputs by name


@dataclass(frozen=True)
class Move:
    output_id: int
    from_id: int | None
    to_id: int | None
    reason: str


@dataclass(frozen=True)
class Plan:
    assignment: dict[int, int | None]
    moves: list[Move] = field(default_factory=list)

    @property
    def unassigned(self) -> list[int]:
        return [oid for oid, eid in self.assignment.items() if eid is None]


def _base_headroom(enc: PoolEncoder) -> float:
    """CPU/temperature headroom of an encoder (``thermal.headroom`` with no slot limit)."""
    return headroom(Load(enc.encoder_id, enc.cpu_percent, enc.temperature_c, streams=0,
                         max_streams=1, temperature_max_c=enc.temperature_max_c,
                         cpu_max_percent=enc.cpu_max_percent, overheat_predicted=enc.hot))


class _Slot:
    """Running load of one encoder while a plan is built (so scoring stays O(1))."""

    __slots__ = ("base", "budget", "caps", "count", "enc", "used")

    def __init__(self, enc: PoolEncoder) -> None:
        self.enc, self.base, self.caps = enc, _base_headroom(enc), enc.capabilities
        self.budget = enc.bitrate_budget_kbps or 0.0
        self.count, self.used = 0, 0.0

    def add(self, out: PoolOutput) -> None:
        self.count += 1
        self.used += out.bitrate_kbps

    def remove(self, out: PoolOutput) -> None:
        self.count -= 1
        self.used -= out.bitrate_kbps

    def score(self, out: PoolOutput) -> float:
        """Headroom after adding ``out`` (0 = no room): the smallest of CPU/temperature, slots
        and bitrate budget left."""
        enc = self.enc
        if self.count + 1 > enc.max_outputs or (out.capabilities and not out.capabilities <= self.caps):
            return 0.0
        if enc.wired_to is not None and out.destination != enc.wired_to:
            return 0.0
        room = min(self.base, 1 - self.count / enc.max_outputs)
        if self.budget:
            used = self.used + out.bitrate_kbps
            if used > self.budget:
                return 0.0
            room = min(room, 1 - used / self.budget + 1e-9)
        return room


CAPABILITY_MAX_CHARS = 40
CAPABILITIES_MAX = 50


def parse_capabilities(value: Any) -> frozenset[str] | None:
    """An encoder's ``driver_options["capabilities"]``: absent (``None``) is no extra
    capability; a list of at most ``CAPABILITIES_MAX`` strings of 1..``CAPABILITY_MAX_CHARS``
    characters is those capabilities; anything else (a bare string such as ``"hevc"``, a number,
    an object, a list holding other things) is malformed: ``None``. The API refuses a malformed
    value; the pool loop ignores one it meets (an older row) and keeps running."""
    if value is None:
        return frozenset()
    if not isinstance(value, list) or len(value) > CAPABILITIES_MAX:
        return None
    if not all(isinstance(c, str) and 0 < len(c.strip()) <= CAPABILITY_MAX_CHARS for c in value):
        return None
    return frozenset(c.strip() for c in value)


def pool_output(output_id: int, name: str, *, bitrate_kbps: float, priority: int,
                capabilities: Iterable[str], destination: str | None) -> PoolOutput:
    """An output as the planner sees it, from its row (the manager's ``store.OutputRow`` and
    the API's ``EncoderOutput`` both build it here, so the API's proposal is the manager's plan)."""
    return PoolOutput(output_id, name, float(bitrate_kbps), priority,
                      frozenset(str(c) for c in capabilities), destination or "")


def pool_encoder(encoder_id: int, *, usable: bool, hot: bool, cpu_percent: float | None,
                 temperature_c: float | None, temperature_max_c: float, cpu_max_percent: float,
                 max_outputs: int, bitrate_budget_kbps: float | None, driver_capabilities: Iterable[str],
                 driver_options: Mapping[str, Any], output: Mapping[str, Any]) -> PoolEncoder:
    """An encoder as the planner sees it, from its row and newest state (shared by the manager
    and the API). Capabilities are the driver's plus ``driver_options["capabilities"]`` (a
    malformed value adds nothing: :func:`parse_capabilities`); without ``multi_output`` the
    device streams its one configured output whatever name it is told, so it is *wired to*
    ``output["url"]`` when that is set."""
    caps = frozenset(driver_capabilities) | (parse_capabilities(driver_options.get("capabilities"))
                                             or frozenset())
    url = output.get("url")
    wired = url if isinstance(url, str) and url and "multi_output" not in caps else None
    return PoolEncoder(encoder_id, usable=usable, cpu_percent=cpu_percent, temperature_c=temperature_c,
                       temperature_max_c=temperature_max_c, cpu_max_percent=cpu_max_percent,
                       max_outputs=max_outputs, bitrate_budget_kbps=bitrate_budget_kbps,
                       capabilities=caps, hot=hot, wired_to=wired)


def is_pool(outputs: int, max_outputs: Iterable[int]) -> bool:
    """Which groups are pools (the encoder manager assigns their outputs; the others keep the
    primary/backup failover): more than one output, or an encoder that carries several."""
    return outputs > 1 or any(m > 1 for m in max_outputs)


def slot_headroom(enc: PoolEncoder, carried: int, carried_kbps: float) -> float:
    """0..1, what is left of ``enc`` carrying ``carried`` outputs of ``carried_kbps``: the
    smallest of CPU/temperature headroom, output slots and bitrate budget left (for display)."""
    room = min(_base_headroom(enc), max(0.0, 1 - carried / max(enc.max_outputs, 1)))
    if enc.bitrate_budget_kbps:
        room = min(room, max(0.0, 1 - carried_kbps / enc.bitrate_budget_kbps))
    return round(room, 4)


def assign(outputs: Sequence[PoolOutput], encoders: Sequence[PoolEncoder],
           current: Mapping[int, int | None], *, shed_to: float = 0.5) -> Plan:
    """The next assignment (see the module docstring)."""
    by_id = {e.encoder_id: e for e in encoders}
    carried: dict[int, list[PoolOutput]] = {e.encoder_id: [] for e in encoders}
    slots = {e.encoder_id: _Slot(e) for e in encoders if e.usable}
    result: dict[int, int | None] = {}
    moves: list[Move] = []
    pending: list[tuple[PoolOutput, int | None, str]] = []
    for out in outputs:
        eid = current.get(out.output_id)
        enc = by_id.get(eid) if eid is not None else None
        if enc is not None and enc.usable:
            carried[enc.encoder_id].append(out)
            slots[enc.encoder_id].add(out)
            result[out.output_id] = enc.encoder_id
        else:
            pending.append((out, eid, "encoder failed" if eid is not None else "new output"))
    for enc in encoders:  # thermal pressure: shed the least important outputs
        mine = carried[enc.encoder_id]
        if enc.hot and enc.usable and mine:
            keep = int(enc.max_outputs * shed_to)
            names = {o.name: o for o in mine}
            for shed in shed_outputs([Output(o.name, o.priority) for o in mine], len(mine) - keep):
                out = names[shed.name]
                mine.remove(out)
                slots[enc.encoder_id].remove(out)
                pending.append((out, enc.encoder_id, "thermal shedding"))
    pending.sort(key=lambda p: (-p[0].priority, p[0].name))
    for out, from_id, reason in pending:
        best_score, to_id = 0.0, None
        for eid, slot in slots.items():
            if eid == from_id:
                continue
            score = slot.score(out)
            if score > best_score or (score == best_score and score > 0 and to_id is not None
                                      and eid < to_id):
                best_score, to_id = score, eid
        if to_id is not None:
            carried[to_id].append(out)
            slots[to_id].add(out)
        result[out.output_id] = to_id
        if to_id != from_id or to_id is None:
            moves.append(Move(out.output_id, from_id, to_id, reason if to_id else f"{reason}; no room"))
    return Plan(result, moves)
