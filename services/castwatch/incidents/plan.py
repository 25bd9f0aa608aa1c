"""From a snapshot (alerts, topology, failovers, off-air channels) to incident plans. Pure.

:func:`plan_incidents` is the whole decision of one correlator round; the I/O loop
(:mod:`castwatch.incidents.correlator`) only loads the snapshot and applies the plans.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from castwatch.incidents.facts import ORIGIN_DOWN, SOURCE, AlertView, FailoverView
from castwatch.incidents.impact import Impact, assess, incident_severity, title
from castwatch.incidents.known_issues import KnownIssue, MatchContext, first_match
from castwatch.incidents.rules import Group, correlate, expected_after_failover
from castwatch.incidents.topology import Topology


@dataclass(frozen=True)
class Snapshot:
    """Everything one round decides from. ``alerts`` holds the open alerts and the recently
    resolved ones (history for the known-issue patterns); ``sticky`` maps an alert id to the
    key of the open origin/encoder incident it is in; ``off_air`` the channels in a planned
    off-air time now."""

    alerts: Sequence[AlertView]
    topology: Topology
    failovers: Sequence[FailoverView] = ()
    sticky: Mapping[int, str] = field(default_factory=dict)
    off_air: Collection[int] = frozenset()


@dataclass(frozen=True)
class IncidentPlan:
    group: Group
    title: str
    severity: str
    impact: Impact
    planned_off_air: bool
    #: symptom alert id → the successful failover that makes it expected
    expected: Mapping[int, FailoverView] = field(default_factory=dict)
    #: alert id → the known issue that matched it (0 = the origin root alert still to raise)
    known: Mapping[int, KnownIssue] = field(default_factory=dict)
    known_issue: KnownIssue | None = None


def plan_incidents(
    snap: Snapshot, now: datetime, library: Sequence[KnownIssue], *, window_s: float = 60.0,
) -> list[IncidentPlan]:
    """One plan per group of open alerts (see :func:`castwatch.incidents.rules.correlate`)."""
    by_id = {a.id: a for a in snap.alerts}
    by_subject: dict[str, list[AlertView]] = defaultdict(list)
    for a in snap.alerts:
        by_subject[a.subject].append(a)
    window = timedelta(seconds=window_s)
    plans = []
    for group in correlate(snap.alerts, snap.topology, snap.failovers, now, window_s=window_s,
                           sticky=snap.sticky):
        members = [by_id[i] for i in group.member_ids]
        expected = {}
        for a in members:
            if a.id != group.root_alert_id:
                f = expected_after_failover(a, snap.topology, snap.failovers, window)
                if f is not None:
                    expected[a.id] = f
        exp_ids = frozenset(expected)
        impact = assess(group, by_id, snap.topology, snap.failovers, exp_ids, window_s)
        off_air = bool(impact.channel_ids) and set(impact.channel_ids) <= set(snap.off_air)
        root = by_id.get(group.root_alert_id) if group.root_alert_id is not None else None
        known: dict[int, KnownIssue] = {}
        for a in members:
            ctx = MatchContext(root_kind=group.root_kind, scope=group.scope,
                               same_subject=by_subject[a.subject])
            issue = first_match(library, a, ctx)
            if issue is not None and a.id not in expected:
                known[a.id] = issue
        if root is None and group.root_kind == "origin":  # the ORIGIN_DOWN alert raised for it
            synthetic = AlertView(0, SOURCE, group.root_subject, ORIGIN_DOWN, "critical", "firing", now)
            root_issue = first_match(library, synthetic, MatchContext(root_kind="origin"))
            if root_issue is not None:
                known[0] = root_issue
        lead = known.get(root.id if root is not None else 0)
        if lead is None and known:
            lead = known[min(known, key=lambda i: (by_id[i].opened_at, i) if i in by_id else (now, i))]
        plans.append(IncidentPlan(
            group=group, title=title(group, impact, members, root),
            severity=incident_severity(impact, members, exp_ids, off_air), impact=impact,
            planned_off_air=off_air, expected=expected, known=known, known_issue=lead,
        ))
    return plans
