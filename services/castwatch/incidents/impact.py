"""Impact and severity of an incident, and its one-line title. Pure.

Severity follows what viewers and the station lose, not the loudest member alert:

- a planned off-air time → ``info`` (nobody expects a picture);
- channels off the air → ``critical`` when a tier-1 channel or three channels or more are
  dark, else ``major``;
- a successful failover with the picture back → ``major``: *redundancy lost*, not off air;
- otherwise the worst severity among members that were not judged expected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from castwatch.incidents.facts import DOWN_TYPES, ORIGIN_DOWN, AlertView, FailoverView, worst
from castwatch.incidents.rules import Group
from castwatch.incidents.topology import Topology

#: Member types that mean the channels are dark (unless a successful failover covers them).
OFF_AIR_TYPES = DOWN_TYPES | {ORIGIN_DOWN, "FAILOVER_FAILED", "SCHEDULED_EVENT_NOT_LIVE"}


@dataclass(frozen=True)
class Impact:
    channel_ids: tuple[int, ...] = ()
    channel_codes: tuple[str, ...] = ()
    tiers: dict[str, int] = field(default_factory=dict)
    #: ``intact``, ``lost`` (running on the backup), ``none`` (no standby) or ``n/a``
    redundancy: str = "n/a"
    off_air: bool = False

    def as_dict(self) -> dict[str, object]:
        return {"channels": len(self.channel_ids), "channel_ids": list(self.channel_ids),
                "channel_codes": list(self.channel_codes), "tiers": dict(self.tiers),
                "redundancy": self.redundancy, "off_air": self.off_air}


def _switched(group_id: int | None, failovers: Sequence[FailoverView],
              since: datetime) -> FailoverView | None:
    done = [f for f in failovers if f.group_id == group_id and f.status == "succeeded"
            and f.ended_at >= since]
    return max(done, key=lambda f: f.ended_at) if done else None


def assess(
    group: Group, alerts: Mapping[int, AlertView], topo: Topology, failovers: Sequence[FailoverView],
    expected: frozenset[int] = frozenset(), window_s: float = 60.0,
) -> Impact:
    """Which channels (and tiers) the incident touches, whether they are dark, and redundancy."""
    members = [alerts[i] for i in group.member_ids if i in alerts]
    affected = set(group.channel_ids) if group.root_kind in ("origin", "encoder", "group") \
        else {a.channel_id for a in members if a.channel_id is not None}
    nodes = sorted((topo.channels[c] for c in affected if c in topo.channels), key=lambda n: n.code)
    tiers: dict[str, int] = {}
    for n in nodes:
        tiers[str(n.tier)] = tiers.get(str(n.tier), 0) + 1
    group_id = _group_id(group, members, topo)
    opened = min((a.opened_at for a in members), default=None)
    switch = _switched(group_id, failovers, opened - timedelta(seconds=window_s)) if opened else None
    redundancy = "n/a"
    if group_id is not None:
        redundancy = "lost" if switch is not None else (
            "intact" if topo.has_standby(group_id) else "none")
    dark = [a for a in members if a.id not in expected and a.alert_type in OFF_AIR_TYPES | {
        "ENCODER_STREAM_DOWN", "ENCODER_UNREACHABLE"} and _carries(a, topo)]
    if switch is not None:  # the backup took over: only probe evidence after the switch counts
        dark = [a for a in dark if a.source == "probe" and a.opened_at > switch.ended_at]
    return Impact(tuple(n.id for n in nodes), tuple(n.code for n in nodes), tiers, redundancy,
                  bool(dark))


def _carries(alert: AlertView, topo: Topology) -> bool:
    """An encoder alert darkens channels only for the encoder that carries them."""
    if alert.encoder_id is None:
        return True
    active = topo.active_encoder(alert.group_id or topo.group_of_encoder(alert.encoder_id))
    return active is None or active.id == alert.encoder_id


def _group_id(group: Group, members: Sequence[AlertView], topo: Topology) -> int | None:
    if group.key.startswith("group:"):
        return int(group.key.split(":", 1)[1])
    ids = {a.group_id or topo.group_of_encoder(a.encoder_id) for a in members} - {None}
    if len(ids) == 1:
        return ids.pop()
    chans = {topo.channels[c].group_id for c in group.channel_ids if c in topo.channels} - {None}
    return chans.pop() if len(chans) == 1 and group.root_kind == "channel" else None


def incident_severity(
    impact: Impact, members: Sequence[AlertView], expected: frozenset[int] = frozenset(),
    planned_off_air: bool = False,
) -> str:
    """The incident's severity from its impact and redundancy (see the module docstring)."""
    if planned_off_air:
        return "info"
    if impact.off_air:
        return "critical" if impact.tiers.get("1") or len(impact.channel_ids) >= 3 else "major"
    if impact.redundancy == "lost":
        return "major"
    return worst([a.severity for a in members if a.id not in expected])


def title(group: Group, impact: Impact, members: Sequence[AlertView], root: AlertView | None) -> str:
    """One line for lists and messages: cause first, then what it does."""
    n = len(impact.channel_ids)
    chans = f"{n} channel{'s' if n != 1 else ''}"
    if group.root_kind == "origin":
        return f"Origin {group.root_subject} down: {chans} stale"
    if group.root_kind in ("encoder", "group") and root is not None:
        what = root.alert_type.replace("_", " ").lower()
        if impact.redundancy == "lost" and not impact.off_air:
            return f"{root.subject}: {what} — failed over, redundancy lost ({chans} on backup)"
        if impact.off_air:
            return f"{root.subject}: {what} — {chans} off the air"
        return f"{root.subject}: {what}" + (f" ({chans} affected)" if n else "")
    if group.root_kind == "channel" and root is not None:
        return f"{group.root_subject}: {root.alert_type} on {group.scope or 'the channel'}" + (
            f" (+{len(members) - 1} related)" if len(members) > 1 else "")
    return root.summary if root is not None else group.root_subject
