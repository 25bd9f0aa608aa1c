"""The dependency model: channel → rendition playlists → origin host → encoder group → encoder.

Built from configuration only (channels, their templates' renditions, ``input_url``,
``channels.encoder_group_id``, ``encoder_groups.active_encoder_id``); pure and immutable, so the
correlation rules are plain functions of a :class:`Topology` and a list of alerts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit


def origin_of(url: str) -> str:
    """The origin host of a playlist URL, ``host`` or ``host:port`` in lower case ('' if none).

    Default ports are dropped so ``https://o.example`` and ``https://o.example:443`` are one
    origin.
    """
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if not host:
        return ""
    port = parts.port
    if port is None or (parts.scheme, port) in (("http", 80), ("https", 443)):
        return host
    return f"{host}:{port}"


@dataclass(frozen=True)
class ChannelNode:
    id: int
    code: str
    tier: int
    origin: str
    renditions: tuple[str, ...] = ()
    group_id: int | None = None
    enabled: bool = True


@dataclass(frozen=True)
class EncoderNode:
    id: int
    name: str
    group_id: int | None
    role: str = "primary"
    state: str = "unknown"


@dataclass(frozen=True)
class GroupNode:
    id: int
    name: str
    active_encoder_id: int | None
    encoder_ids: tuple[int, ...] = ()
    failover_enabled: bool = True


@dataclass(frozen=True)
class Topology:
    """Who depends on whom; every lookup is total (unknown ids give empty answers)."""

    channels: dict[int, ChannelNode] = field(default_factory=dict)
    encoders: dict[int, EncoderNode] = field(default_factory=dict)
    groups: dict[int, GroupNode] = field(default_factory=dict)

    def channels_of_origin(self, origin: str) -> list[ChannelNode]:
        return [c for c in self.channels.values() if c.enabled and c.origin == origin]

    def channels_of_group(self, group_id: int | None) -> list[ChannelNode]:
        if group_id is None:
            return []
        return [c for c in self.channels.values() if c.enabled and c.group_id == group_id]

    def group_of_encoder(self, encoder_id: int | None) -> int | None:
        node = self.encoders.get(encoder_id) if encoder_id is not None else None
        return node.group_id if node else None

    def active_encoder(self, group_id: int | None) -> EncoderNode | None:
        group = self.groups.get(group_id) if group_id is not None else None
        if group is None or group.active_encoder_id is None:
            return None
        return self.encoders.get(group.active_encoder_id)

    def has_standby(self, group_id: int | None) -> bool:
        """True when the group has another encoder than the active one that is live or idle."""
        group = self.groups.get(group_id) if group_id is not None else None
        if group is None:
            return False
        return any(e != group.active_encoder_id and self.encoders.get(e) is not None
                   and self.encoders[e].state in ("live", "idle") for e in group.encoder_ids)


def build_topology(
    channels: Iterable[dict], encoders: Iterable[dict], groups: Iterable[dict],
) -> Topology:
    """A topology from plain rows.

    ``channels``: ``id, code, tier, input_url, renditions, encoder_group_id, enabled``;
    ``encoders``: ``id, name, group_id, role, state``; ``groups``: ``id, name,
    active_encoder_id, failover_enabled``. Group membership comes from ``encoders.group_id``.
    """
    encoder_nodes = {
        int(e["id"]): EncoderNode(int(e["id"]), e["name"], e.get("group_id"), e.get("role", "primary"),
                                  e.get("state", "unknown"))
        for e in encoders
    }
    group_nodes = {}
    for g in groups:
        members = tuple(sorted(e.id for e in encoder_nodes.values() if e.group_id == g["id"]))
        group_nodes[int(g["id"])] = GroupNode(int(g["id"]), g["name"], g.get("active_encoder_id"),
                                              members, bool(g.get("failover_enabled", True)))
    channel_nodes = {
        int(c["id"]): ChannelNode(
            id=int(c["id"]), code=c["code"], tier=int(c.get("tier") or 2),
            origin=origin_of(c.get("input_url") or ""), renditions=tuple(c.get("renditions") or ()),
            group_id=c.get("encoder_group_id"), enabled=bool(c.get("enabled", True)),
        )
        for c in channels
    }
    return Topology(channel_nodes, encoder_nodes, group_nodes)
