"""Correlation rules: which open alerts share a cause. Pure functions of alerts, topology, time.

Each rule is small and tested alone; :func:`correlate` runs them in order of specificity:

1. :func:`encoder_explains` — an encoder that is on air (active, or the one just failed over
   from) being down, overheated or failed over explains its group's channels' playlist alerts;
2. :func:`origin_outages` — every channel of one origin host down at once → the origin;
3. per channel (:func:`rendition_scope` says all renditions, some, or one);
4. encoder alerts without channel symptoms per group; anything else alone.

An alert already in an open origin/encoder incident stays there (no flapping between
incidents when one channel recovers first). :func:`expected_after_failover` marks
discontinuities and sequence jumps right after a successful switch as expected.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from castwatch.incidents.facts import (
    CHANNEL_RANK,
    DOWN_TYPES,
    ENCODER_DISRUPTIVE,
    ENCODER_RANK,
    EXPECTED_AFTER_FAILOVER,
    ORIGIN_DOWN,
    AlertView,
    FailoverView,
)
from castwatch.incidents.topology import Topology


@dataclass(frozen=True)
class Group:
    """One incident-to-be: its scope key, the rule that made it, the root and all members.

    ``root_alert_id`` None means the root is not an alert yet (an origin outage): the
    correlator raises the synthetic ``ORIGIN_DOWN`` alert for it.
    """

    key: str
    rule: str
    root_kind: str
    root_subject: str
    root_alert_id: int | None
    member_ids: tuple[int, ...]
    channel_ids: tuple[int, ...] = ()
    scope: str = ""


def _by_rank(alerts: Iterable[AlertView], rank: Mapping[str, int], default: int = 9) -> list[AlertView]:
    return sorted(alerts, key=lambda a: (rank.get(a.alert_type, default), a.opened_at, a.id))


def encoder_group_of(alert: AlertView, topo: Topology) -> int | None:
    return alert.group_id if alert.group_id is not None else topo.group_of_encoder(alert.encoder_id)


def on_air(alert: AlertView, topo: Topology, failovers: Sequence[FailoverView], window: timedelta) -> bool:
    """The encoder of ``alert`` carried the channels when it went wrong: it is the active one,
    a switch away from it happened around the alert, or the alert is about the group itself."""
    if alert.encoder_id is None:
        return alert.group_id is not None
    active = topo.active_encoder(encoder_group_of(alert, topo))
    if active is not None and active.id == alert.encoder_id:
        return True
    return any(f.from_encoder_id == alert.encoder_id and abs(f.created_at - alert.opened_at) <= window
               for f in failovers)


def encoder_explains(
    alerts: Sequence[AlertView], topo: Topology, failovers: Sequence[FailoverView], window: timedelta,
) -> dict[int, tuple[AlertView, list[AlertView]]]:
    """Per encoder group: ``(root encoder alert, explained alerts)`` where the explained ones are
    the group's other encoder alerts and its channels' probe alerts opened no earlier than
    ``window`` before the root."""
    out: dict[int, tuple[AlertView, list[AlertView]]] = {}
    encoder_alerts = [a for a in alerts if a.is_open and a.alert_type in ENCODER_RANK]
    by_group: dict[int, list[AlertView]] = defaultdict(list)
    for a in encoder_alerts:
        gid = encoder_group_of(a, topo)
        if gid is not None:
            by_group[gid].append(a)
    for gid, group_alerts in by_group.items():
        causes = [a for a in group_alerts if a.alert_type in ENCODER_DISRUPTIVE
                  and on_air(a, topo, failovers, window)]
        if not causes:
            continue
        root = _by_rank(causes, ENCODER_RANK)[0]
        channels = {c.id for c in topo.channels_of_group(gid)}
        in_group = {a.id for a in group_alerts}
        explained = [a for a in alerts if a.is_open and a.id != root.id and (
            a.id in in_group or (a.source == "probe" and a.channel_id in channels
                                 and a.opened_at >= root.opened_at - window))]
        out[gid] = (root, explained)
    return out


def origin_outages(
    alerts: Sequence[AlertView], topo: Topology, window: timedelta,
) -> dict[str, list[AlertView]]:
    """Origins (with two channels or more) whose every channel has a down alert, all opened
    within ``window`` of each other → that origin's channels' open probe alerts."""
    down_by_channel: dict[int, list[AlertView]] = defaultdict(list)
    for a in alerts:
        if a.is_open and a.source == "probe" and a.alert_type in DOWN_TYPES and a.channel_id is not None:
            down_by_channel[a.channel_id].append(a)
    out: dict[str, list[AlertView]] = {}
    origins = {c.origin for c in topo.channels.values() if c.origin}
    for origin in sorted(origins):
        channels = topo.channels_of_origin(origin)
        if len(channels) < 2 or not all(c.id in down_by_channel for c in channels):
            continue
        firsts = [min(x.opened_at for x in down_by_channel[c.id]) for c in channels]
        if max(firsts) - min(firsts) > window:
            continue
        ids = {c.id for c in channels}
        out[origin] = [a for a in alerts if a.is_open and a.source == "probe" and a.channel_id in ids]
    return out


def rendition_scope(alerts: Sequence[AlertView], renditions: Sequence[str]) -> str:
    """``channel`` when a channel-wide alert (master playlist/MPD) is among them; else ``all``
    renditions, ``one`` (and which) or ``some`` of the ladder."""
    if any(a.rendition is None for a in alerts):
        return "channel"
    hit = sorted({a.rendition for a in alerts if a.rendition})
    if renditions and set(renditions) <= set(hit):
        return "all renditions"
    if len(hit) == 1:
        return f"one rendition ({hit[0]})"
    return f"{len(hit)} of {len(renditions) or len(hit)} renditions ({', '.join(hit)})"


def expected_after_failover(
    alert: AlertView, topo: Topology, failovers: Sequence[FailoverView], window: timedelta,
) -> FailoverView | None:
    """The successful switch that explains a discontinuity/sequence alert opened within
    ``window`` after it on one of the group's channels; None when it is a real problem."""
    if alert.alert_type not in EXPECTED_AFTER_FAILOVER or alert.channel_id is None:
        return None
    channel = topo.channels.get(alert.channel_id)
    if channel is None or channel.group_id is None:
        return None
    for f in sorted(failovers, key=lambda f: f.created_at, reverse=True):
        if f.group_id == channel.group_id and f.status == "succeeded" \
                and f.created_at <= alert.opened_at <= f.ended_at + window:
            return f
    return None


def _channel_group(channel_id: int, members: list[AlertView], topo: Topology) -> Group:
    node = topo.channels.get(channel_id)
    root = _by_rank(members, CHANNEL_RANK)[0]
    scope = rendition_scope(members, node.renditions if node else ())
    return Group(key=f"channel:{channel_id}", rule="channel", root_kind="channel",
                 root_subject=node.code if node else root.subject, root_alert_id=root.id,
                 member_ids=tuple(sorted(a.id for a in members)), channel_ids=(channel_id,),
                 scope=scope)


def correlate(
    alerts: Sequence[AlertView], topo: Topology, failovers: Sequence[FailoverView], now: datetime,
    *, window_s: float = 60.0, sticky: Mapping[int, str] | None = None,
) -> list[Group]:
    """Partition the open alerts into groups (every open alert in exactly one).

    ``sticky`` maps alert id → key of the open origin/encoder incident it already belongs to.
    ``now`` is accepted for rules that age out (none yet besides the windows given).
    """
    window = timedelta(seconds=window_s)
    open_alerts = [a for a in alerts if a.is_open]
    by_id = {a.id: a for a in open_alerts}
    taken: dict[int, str] = {i: k for i, k in (sticky or {}).items() if i in by_id}
    groups: dict[str, Group] = {}
    members: dict[str, set[int]] = defaultdict(set)
    for i, k in taken.items():
        members[k].add(i)

    for gid, (root, explained) in encoder_explains(open_alerts, topo, failovers, window).items():
        key = f"group:{gid}"
        grp = topo.groups.get(gid)
        chans = tuple(sorted({c.id for c in topo.channels_of_group(gid)}))
        groups[key] = Group(key, "encoder", "encoder" if root.encoder_id else "group",
                            root.subject if grp is None else f"{grp.name}: {root.subject}",
                            root.id, (), chans)
        for a in [root, *explained]:
            if a.id not in taken:
                taken[a.id] = key
                members[key].add(a.id)

    for origin, hits in origin_outages(open_alerts, topo, window).items():
        key = f"origin:{origin}"
        roots = [a for a in open_alerts if a.alert_type == ORIGIN_DOWN and a.subject == origin]
        chans = tuple(sorted(c.id for c in topo.channels_of_origin(origin)))
        groups[key] = Group(key, "origin", "origin", origin, roots[0].id if roots else None, (), chans)
        for a in [*roots, *hits]:
            if a.id not in taken:
                taken[a.id] = key
                members[key].add(a.id)

    per_channel: dict[int, list[AlertView]] = defaultdict(list)
    for a in open_alerts:
        if a.id in taken:
            continue
        if a.channel_id is not None:
            per_channel[a.channel_id].append(a)
        elif a.alert_type in ENCODER_RANK and encoder_group_of(a, topo) is not None:
            key = f"group:{encoder_group_of(a, topo)}"
            members[key].add(a.id)
            taken[a.id] = key
        elif a.alert_type == ORIGIN_DOWN:
            key = f"origin:{a.subject}"
            members[key].add(a.id)
            taken[a.id] = key
        else:
            key = f"alert:{a.id}"
            groups[key] = Group(key, "single", "alert", a.subject, a.id, (a.id,),
                                (a.channel_id,) if a.channel_id else ())
    for cid, ms in per_channel.items():
        g = _channel_group(cid, ms, topo)
        groups[g.key] = g

    for key, ids in members.items():
        alerts_here = [by_id[i] for i in ids]
        base = groups.get(key)
        if base is None:  # a sticky or leftover group whose rule no longer fires
            base = _leftover(key, alerts_here, topo)
        root_id = base.root_alert_id if base.root_alert_id in ids else None
        if root_id is None and not key.startswith("origin:"):
            root_id = _by_rank(alerts_here, {**ENCODER_RANK, **CHANNEL_RANK})[0].id
        chan_ids = base.channel_ids or tuple(sorted({a.channel_id for a in alerts_here if a.channel_id}))
        groups[key] = Group(key, base.rule, base.root_kind, base.root_subject, root_id,
                            tuple(sorted(ids)), chan_ids, base.scope)
    return sorted(groups.values(), key=lambda g: g.key)


def _leftover(key: str, alerts: list[AlertView], topo: Topology) -> Group:
    kind, _, ident = key.partition(":")
    if kind == "origin":
        roots = [a for a in alerts if a.alert_type == ORIGIN_DOWN]
        chans = tuple(sorted(c.id for c in topo.channels_of_origin(ident)))
        return Group(key, "origin", "origin", ident, roots[0].id if roots else None, (), chans)
    if kind == "group":
        grp = topo.groups.get(int(ident))
        root = _by_rank(alerts, ENCODER_RANK)[0]
        return Group(key, "encoder", "encoder" if root.encoder_id else "group",
                     grp.name if grp else ident, root.id, (),
                     tuple(sorted(c.id for c in topo.channels_of_group(int(ident)))))
    root = alerts[0]
    return Group(key, "single", "alert", root.subject, root.id, ())
