"""Failover decisions as a pure function of the group's state, its members' health and time.

:func:`decide` takes the policy, the members, a :class:`MemberView` per member (what the
health history says) and the group's :class:`GroupState`, and returns the next state plus the
:class:`Action` list the controller must carry out. It never does I/O and never reads a clock.

Rules (defaults from ``encoder_groups``):

- fail over when the active encoder has failed ``failure_threshold`` consecutive polls, or —
  pre-emptively — when it is predicted to overheat while a standby is fine;
- start the best standby (role primary first, then ``priority`` ascending, then the most
  thermal/CPU headroom, then id; skipping unreachable, failed ones and ones not yet
  confirmed parked), then **verify** it is live within ``verify_timeout_s``;
  if not, stop it, raise ``FAILOVER_FAILED`` and try the next one;
- cool-down is a preference, never a veto: a cooling standby is picked last, and only when the
  on-air encoder has failed (never for a pre-emptive move or a fail-back);
- ``overheat_predicted`` in a view is a *confirmed* prediction (see ``health.overheat_eta``:
  minimum span, fit quality, several polls) — the controller never passes a raw one;
- on success: make it active, stop (park) the failed encoder, raise ``FAILOVER_ACTIVATED``,
  which clears once a standby is healthy again (redundancy back);
- ``primary_preferred`` fails back after the primary has been healthy for ``failback_hold_s``;
  ``equal`` stays where it is;
- never more than one switch per ``min_switch_interval_s`` (a noisy encoder cannot flap).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

FAILOVER_ACTIVATED = "FAILOVER_ACTIVATED"
FAILOVER_FAILED = "FAILOVER_FAILED"


@dataclass(frozen=True)
class GroupPolicy:
    failover_enabled: bool = True
    failure_threshold: int = 3
    verify_timeout_s: float = 10.0
    preference: str = "equal"
    failback_hold_s: float = 30.0
    min_switch_interval_s: float = 30.0


@dataclass(frozen=True)
class Member:
    encoder_id: int
    name: str
    role: str = "primary"
    priority: int = 0
    enabled: bool = True

    @property
    def rank(self) -> tuple[int, int, int]:
        return (0 if self.role == "primary" else 1, self.priority, self.encoder_id)


@dataclass(frozen=True)
class MemberView:
    """What the health history says about one member right now."""

    reachable: bool = False
    live: bool = False
    ok: bool = False
    consecutive_failures: int = 0
    healthy_since: float | None = None
    overheat_predicted: bool = False
    cooling: bool = False
    start_failed: bool = False
    seen: bool = False
    parking: bool = False  # stopped but not yet confirmed idle: never a healthy standby
    headroom: float = 0.5  # thermal.headroom: among equal priorities, the coolest/least loaded wins


@dataclass(frozen=True)
class GroupState:
    active_id: int | None = None
    phase: str = "steady"  # steady | verifying
    candidate_id: int | None = None
    from_id: int | None = None
    kind: str = "automatic"
    reason: str = ""
    actor: str = "system"
    verify_started: float | None = None
    tried: frozenset[int] = frozenset()
    last_switch_at: float | None = None
    redundancy_lost: bool = False
    failover_failed: bool = False


@dataclass(frozen=True)
class Action:
    """``op``: start | stop | set_active | event_started | event_finished | raise | clear."""

    op: str
    encoder_id: int | None = None
    alert_type: str | None = None
    severity: str = "major"
    summary: str = ""
    details: dict[str, object] = field(default_factory=dict)


def _standbys(members: Sequence[Member], views: Mapping[int, MemberView], state: GroupState,
              exclude: set[int], *, allow_cooling: bool = False) -> list[Member]:
    """Healthy standbys, best first; cooling ones only with ``allow_cooling``, and then last."""
    ready = []

    def order(m: Member) -> tuple[bool, int, int, float, int]:
        role, priority, eid = m.rank
        v = views.get(eid, MemberView())
        return (v.cooling, role, priority, -v.headroom, eid)

    for m in sorted(members, key=order):
        v = views.get(m.encoder_id, MemberView())
        if (m.enabled and m.encoder_id not in exclude and m.encoder_id != state.active_id
                and v.reachable and v.ok and (allow_cooling or not v.cooling)
                and not v.start_failed and not v.parking):
            ready.append(m)
    return ready


def _names(members: Sequence[Member]) -> dict[int, str]:
    return {m.encoder_id: m.name for m in members}


def initial_active(members: Sequence[Member], views: Mapping[int, MemberView]) -> int | None:
    """The member that should be active when nothing is recorded: a live one, else the best."""
    enabled = sorted((m for m in members if m.enabled), key=lambda m: m.rank)
    for m in enabled:
        if views.get(m.encoder_id, MemberView()).live:
            return m.encoder_id
    return enabled[0].encoder_id if enabled else None


def request_switch(state: GroupState, members: Sequence[Member], views: Mapping[int, MemberView],
                   target_id: int | None, *, kind: str, actor: str, reason: str,
                   now: float) -> tuple[GroupState, list[Action]]:
    """A manual (or failback) switch to ``target_id`` — or the best standby when None."""
    if state.phase == "verifying":
        return state, []
    if target_id is None:
        ready = _standbys(members, views, state, set())
        if not ready:
            return state, [Action("raise", alert_type=FAILOVER_FAILED, severity="major",
                                  summary=f"{kind} failover requested by {actor}: no healthy standby")]
        target_id = ready[0].encoder_id
    if target_id == state.active_id:
        return state, []
    return _begin(state, members, target_id, kind=kind, actor=actor, reason=reason, now=now)


def _begin(state: GroupState, members: Sequence[Member], target_id: int, *, kind: str, actor: str,
           reason: str, now: float) -> tuple[GroupState, list[Action]]:
    names = _names(members)
    new = replace(state, phase="verifying", candidate_id=target_id, from_id=state.active_id,
                  kind=kind, actor=actor, reason=reason, verify_started=now,
                  tried=state.tried | {target_id})
    return new, [
        Action("event_started", encoder_id=target_id,
               summary=f"{kind}: {names.get(state.active_id or -1, 'none')} → "
                       f"{names.get(target_id, target_id)}: {reason}"),
        Action("start", encoder_id=target_id),
    ]


def decide(policy: GroupPolicy, members: Sequence[Member], views: Mapping[int, MemberView],
           state: GroupState, now: float) -> tuple[GroupState, list[Action]]:
    """The next state and the actions to carry out (see the module docstring)."""
    if not members:
        return state, []
    if state.active_id is None or state.active_id not in _names(members):
        active = initial_active(members, views)
        if active is None:
            return state, []
        return replace(state, active_id=active), [Action("set_active", encoder_id=active)]
    if state.phase == "verifying":
        return _verify(policy, members, views, state, now)
    return _steady(policy, members, views, state, now)


def _healthy_for(view: MemberView, now: float) -> float:
    return 0.0 if view.healthy_since is None else now - view.healthy_since


def _switch_allowed(policy: GroupPolicy, state: GroupState, now: float) -> bool:
    return state.last_switch_at is None or now - state.last_switch_at >= policy.min_switch_interval_s


def _steady(policy: GroupPolicy, members: Sequence[Member], views: Mapping[int, MemberView],
            state: GroupState, now: float) -> tuple[GroupState, list[Action]]:
    actions: list[Action] = []
    active = views.get(state.active_id or -1, MemberView())
    names = _names(members)
    ready = _standbys(members, views, state, set())
    proven = [m for m in ready if _healthy_for(views[m.encoder_id], now) >= policy.failback_hold_s]
    if state.redundancy_lost and proven:
        state = replace(state, redundancy_lost=False)
        actions.append(Action("clear", alert_type=FAILOVER_ACTIVATED,
                              summary=f"redundancy back: {names[proven[0].encoder_id]} is a healthy standby"))
    if state.failover_failed and active.ok:
        state = replace(state, failover_failed=False)
        actions.append(Action("clear", alert_type=FAILOVER_FAILED, summary="active encoder healthy"))
    if not policy.failover_enabled or not _switch_allowed(policy, state, now):
        return state, actions
    failing = active.seen and active.consecutive_failures >= policy.failure_threshold
    if failing and not ready:
        # the air is down: a cooling but healthy standby beats no standby at all
        ready = _standbys(members, views, state, set(), allow_cooling=True)
    if failing or (active.overheat_predicted and ready):
        if not ready:
            if not state.failover_failed:
                state = replace(state, failover_failed=True, last_switch_at=now)
                actions.append(Action(
                    "raise", alert_type=FAILOVER_FAILED, severity="critical",
                    summary=f"{names[state.active_id or -1]} failed and no standby is healthy"))
            return state, actions
        kind = "automatic" if failing else "preemptive"
        reason = (f"{active.consecutive_failures} consecutive failed polls" if failing
                  else "temperature heading for the limit")
        state, more = _begin(replace(state, tried=frozenset()), members, ready[0].encoder_id,
                             kind=kind, actor="system", reason=reason, now=now)
        return state, actions + more
    preferred = min((m for m in members if m.enabled), key=lambda m: m.rank)
    pv = views.get(preferred.encoder_id, MemberView())
    if (policy.preference == "primary_preferred" and preferred.encoder_id != state.active_id
            and pv.ok and not pv.cooling and not pv.parking
            and _healthy_for(pv, now) >= policy.failback_hold_s):
        state, more = _begin(replace(state, tried=frozenset()), members, preferred.encoder_id,
                             kind="failback", actor="system",
                             reason=f"primary healthy for {_healthy_for(pv, now):.0f}s", now=now)
        actions += more
    return state, actions


def _verify(policy: GroupPolicy, members: Sequence[Member], views: Mapping[int, MemberView],
            state: GroupState, now: float) -> tuple[GroupState, list[Action]]:
    cand = state.candidate_id
    assert cand is not None
    names = _names(members)
    view = views.get(cand, MemberView())
    if view.live and not view.start_failed:
        return _succeeded(state, names, views, members, now)
    timed_out = state.verify_started is not None and now - state.verify_started >= policy.verify_timeout_s
    if not (timed_out or view.start_failed):
        return state, []
    why = "refused to start" if view.start_failed else f"not live after {policy.verify_timeout_s:g}s"
    actions = [
        Action("event_finished", encoder_id=cand, summary=f"{names.get(cand)} {why}",
               details={"status": "failed"}),
        Action("stop", encoder_id=cand),
        Action("raise", alert_type=FAILOVER_FAILED, severity="critical",
               summary=f"failover to {names.get(cand)} failed: {why}"),
    ]
    state = replace(state, failover_failed=True)
    nxt = _standbys(members, views, state, set(state.tried), allow_cooling=state.kind == "automatic")
    if nxt and state.kind != "failback":
        state, more = _begin(state, members, nxt[0].encoder_id, kind=state.kind, actor=state.actor,
                             reason=f"{names.get(cand)} {why}", now=now)
        return state, actions + more
    return replace(state, phase="steady", candidate_id=None, verify_started=None,
                   last_switch_at=now), actions


def _succeeded(state: GroupState, names: dict[int, str], views: Mapping[int, MemberView],
               members: Sequence[Member], now: float) -> tuple[GroupState, list[Action]]:
    cand, old = state.candidate_id, state.from_id
    assert cand is not None
    actions = [Action("set_active", encoder_id=cand),
               Action("event_finished", encoder_id=cand, summary=f"{names.get(cand)} is live",
                      details={"status": "succeeded"})]
    if old is not None and old != cand:
        actions.append(Action("stop", encoder_id=old))
    if state.failover_failed:
        actions.append(Action("clear", alert_type=FAILOVER_FAILED, summary=f"{names.get(cand)} is live"))
    redundancy_lost = state.redundancy_lost
    if state.kind == "failback":
        if redundancy_lost:
            actions.append(Action("clear", alert_type=FAILOVER_ACTIVATED,
                                  summary=f"failed back to {names.get(cand)}"))
        redundancy_lost = False
    else:
        redundancy_lost = True
        actions.append(Action(
            "raise", alert_type=FAILOVER_ACTIVATED, severity="major",
            summary=f"{state.kind} failover {names.get(old or -1, 'none')} → {names.get(cand)} "
                    f"({state.reason}); running without redundancy",
            details={"from": names.get(old or -1), "to": names.get(cand), "kind": state.kind,
                     "actor": state.actor}))
    new = replace(state, active_id=cand, phase="steady", candidate_id=None, from_id=None,
                  verify_started=None, tried=frozenset(), last_switch_at=now,
                  redundancy_lost=redundancy_lost, failover_failed=False)
    return new, actions
