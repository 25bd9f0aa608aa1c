"""Pure notification rule logic: which rule matches an alert, when, and who is told.

No I/O here. The planner loads rows into these frozen facts and calls :func:`plan_event`; the
escalation and repeat ticks call :func:`escalation_steps_due` and :func:`repeat_due`. Every
function is deterministic in its arguments (time included), so rules are tested as plain
functions over event sequences and clocks.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from fnmatch import fnmatchcase
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from castwatch.common.vocab import SEVERITY_RANK
from castwatch.notifier.incident_thread import CHANGES, UPDATE_KIND, update_group_key

#: Event kinds that produce messages; others (updated, snoozed, note) are history only.
#: the transports' fallbacks as registered (``castwatch.notifier.transports.fallbacks()``);
#: the planner passes the live registry's, this default keeps pure callers simple
DEFAULT_FALLBACKS: Mapping[str, str] = {"telegram": "email"}
NOTIFIED_KINDS = frozenset({"opened", "acknowledged", "resolved", "escalated", "refired", "updated"})
#: Kinds whose messages wait ``group_wait_s`` so a burst of one channel becomes one message.
GROUPED_KINDS = frozenset({"opened", "resolved"})


@dataclass(frozen=True)
class AlertFacts:
    """What the rules need to know about one alert (``tier`` comes from its channel)."""

    id: int
    source: str
    subject: str
    alert_type: str
    severity: str
    state: str
    opened_at: datetime
    summary: str = ""
    channel_id: int | None = None
    encoder_id: int | None = None
    group_id: int | None = None
    tier: int | None = None
    root_cause_alert_id: int | None = None
    snoozed_until: datetime | None = None


@dataclass(frozen=True)
class EventFacts:
    id: int
    alert_id: int
    kind: str
    created_at: datetime
    actor: str = "system"
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EscalationStep:
    after_s: int
    roles: tuple[str, ...]


@dataclass(frozen=True)
class RuleSpec:
    id: int
    name: str
    match: dict[str, Any] = field(default_factory=dict)
    roles: tuple[str, ...] = ()
    recipient_ids: tuple[int, ...] = ()
    transports: tuple[str, ...] = ("telegram", "email")
    group_wait_s: int = 30
    repeat_interval_s: int | None = None
    send_resolved: bool = True
    escalation: tuple[EscalationStep, ...] = ()
    priority: int = 100
    enabled: bool = True


@dataclass(frozen=True)
class RecipientSpec:
    id: int
    name: str
    role: str
    telegram_chat_id: int | None = None
    email: str | None = None
    telegram_enabled: bool = True
    email_enabled: bool = True
    enabled: bool = True
    is_admin: bool = False
    #: kinds with an enabled ``recipient_addresses`` row (None: use the legacy fields above)
    addresses: frozenset[str] | None = None

    def can_receive(self, transport: str) -> bool:
        if not self.enabled:
            return False
        if self.addresses is not None:
            return transport in self.addresses
        if transport == "telegram":
            return self.telegram_enabled and self.telegram_chat_id is not None
        return self.email_enabled and bool(self.email)


@dataclass(frozen=True)
class WindowSpec:
    """A maintenance window: one-off (``starts_at``/``ends_at``) or weekly recurring."""

    id: int
    name: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    weekdays: tuple[int, ...] = ()
    start_time: str | None = None
    duration_minutes: int | None = None
    timezone: str = "UTC"
    channel_ids: tuple[int, ...] = ()
    encoder_ids: tuple[int, ...] = ()
    group_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class PlannedDelivery:
    """One row the planner inserts: ``status`` is pending, suppressed or grouped (folded)."""

    rule_id: int | None
    recipient_id: int
    transport: str
    kind: str
    status: str
    due_at: datetime
    group_key: str | None = None
    reason: str | None = None
    alert_id: int | None = None  # None = the event's alert
    payload: dict[str, Any] = field(default_factory=dict)


def zone(name: str | None) -> ZoneInfo:
    """The named time zone, UTC when unknown (a typo must not silence alerts)."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _hhmm(value: str) -> time:
    hours, _, minutes = value.partition(":")
    return time(int(hours) % 24, int(minutes or 0) % 60)


def in_schedule(schedule: dict[str, Any] | None, at: datetime) -> bool:
    """True when ``at`` falls in ``{"days", "start", "end", "timezone"}``; no schedule = always.

    ``start > end`` spans midnight (22:00–06:00); ``days`` (0 = Monday) name the day the span
    starts on.
    """
    if not schedule:
        return True
    local = at.astimezone(zone(schedule.get("timezone")))
    days = schedule.get("days")
    start = _hhmm(schedule.get("start", "00:00"))
    end = _hhmm(schedule.get("end", "23:59"))
    now_t = local.time().replace(second=0, microsecond=0)  # "end" includes its whole minute
    if start <= end:
        inside, start_day = start <= now_t <= end, local.weekday()
    elif now_t >= start:
        inside, start_day = True, local.weekday()
    else:
        inside, start_day = now_t <= end, (local.weekday() - 1) % 7
    return inside and (not days or start_day in days)


def _matches_list(allowed: Any, value: Any) -> bool:
    if not allowed:
        return True
    return value in allowed


def rule_matches(rule: RuleSpec, alert: AlertFacts, at: datetime) -> bool:
    """All filters of ``rule.match`` hold for ``alert`` at ``at`` (alert types may use globs)."""
    if not rule.enabled:
        return False
    m = rule.match or {}
    types = m.get("alert_types")
    if types and not any(fnmatchcase(alert.alert_type, t) for t in types):
        return False
    return (
        _matches_list(m.get("severities"), alert.severity)
        and _matches_list(m.get("sources"), alert.source)
        and _matches_list(m.get("channel_ids"), alert.channel_id)
        and _matches_list(m.get("encoder_ids"), alert.encoder_id)
        and _matches_list(m.get("group_ids"), alert.group_id)
        and _matches_list(m.get("tiers"), alert.tier)
        and in_schedule(m.get("schedule"), at)
    )


def window_active(window: WindowSpec, at: datetime) -> bool:
    """True while the window is open at ``at`` (recurring windows may span midnight)."""
    if window.starts_at is not None and window.ends_at is not None:
        return window.starts_at <= at < window.ends_at
    if not window.start_time or not window.duration_minutes:
        return False
    tz = zone(window.timezone)
    local = at.astimezone(tz)
    start_t = _hhmm(window.start_time)
    length = timedelta(minutes=window.duration_minutes)
    for back in range(0, 8):  # a window may last up to a week; look back that far
        day = (local - timedelta(days=back)).date()
        if window.weekdays and day.weekday() not in window.weekdays:
            continue
        start = datetime.combine(day, start_t, tzinfo=tz)
        if start <= local < start + length:
            return True
    return False


def window_covers(window: WindowSpec, alert: AlertFacts) -> bool:
    """An unscoped window covers everything; a scoped one covers alerts of its scope."""
    if not (window.channel_ids or window.encoder_ids or window.group_ids):
        return True
    return (
        (alert.channel_id is not None and alert.channel_id in window.channel_ids)
        or (alert.encoder_id is not None and alert.encoder_id in window.encoder_ids)
        or (alert.group_id is not None and alert.group_id in window.group_ids)
    )


def suppressing_window(
    windows: Iterable[WindowSpec], alert: AlertFacts, at: datetime
) -> WindowSpec | None:
    for window in windows:
        if window_covers(window, alert) and window_active(window, at):
            return window
    return None


def route(
    rule: RuleSpec, recipients: Sequence[RecipientSpec], roles: Sequence[str] | None = None,
    fallbacks: Mapping[str, str] | None = None,
) -> list[tuple[RecipientSpec, str]]:
    """``(recipient, transport)`` pairs a rule reaches; ``roles`` overrides the rule's roles.

    A recipient who cannot be reached over any of the rule's transports gets a transport's
    fallback instead when they can receive it (``fallbacks``: kind → fallback kind, the
    transports' own policy; default Telegram → email), even if the rule does not name it:
    nobody silently drops out.
    """
    fallbacks = DEFAULT_FALLBACKS if fallbacks is None else fallbacks
    wanted_roles = set(rule.roles if roles is None else roles)
    named = set(rule.recipient_ids) if roles is None else set()
    out: list[tuple[RecipientSpec, str]] = []
    for person in recipients:
        if not person.enabled or (person.role not in wanted_roles and person.id not in named):
            continue
        transports = [t for t in rule.transports if person.can_receive(t)]
        if not transports:
            transports = list(dict.fromkeys(
                fallbacks[t] for t in rule.transports
                if t in fallbacks and person.can_receive(fallbacks[t])))[:1]
        out.extend((person, t) for t in transports)
    return out


def group_key(rule: RuleSpec, person: RecipientSpec, transport: str, alert: AlertFacts,
              kind: str) -> str | None:
    """Messages sharing a key within ``group_wait_s`` are sent as one; None = never grouped."""
    if kind not in GROUPED_KINDS or rule.group_wait_s <= 0:
        return None
    if alert.channel_id is not None:
        scope = f"ch{alert.channel_id}"
    elif alert.group_id is not None:
        scope = f"grp{alert.group_id}"
    else:
        return None
    return f"r{rule.id}:p{person.id}:{transport}:{kind}:{scope}"


def severity_raised(event: EventFacts) -> bool:
    """An ``updated`` event that made the alert more severe (``details.severity`` vs
    ``details.from_severity``; an unknown previous severity counts as raised)."""
    new, old = event.details.get("severity"), event.details.get("from_severity")
    if new not in SEVERITY_RANK:
        return False
    return old not in SEVERITY_RANK or SEVERITY_RANK[new] > SEVERITY_RANK[old]


def _rules_for_event(
    event: EventFacts, alert: AlertFacts, rules: Sequence[RuleSpec]
) -> list[tuple[RuleSpec, Sequence[str] | None]]:
    """Rules (with a role override for escalations) that this event is for."""
    if event.kind in ("escalated", "refired"):
        wanted = event.details.get("rule_id")
        chosen = [r for r in rules if r.id == wanted and r.enabled]
        roles = event.details.get("roles") if event.kind == "escalated" else None
        return [(r, roles) for r in chosen]
    if event.kind == "updated":  # matched at the new severity: critical-only rules now apply
        alert = replace(alert, severity=str(event.details["severity"]))
    matched = [r for r in rules if rule_matches(r, alert, alert.opened_at)]
    if event.kind == "resolved":
        matched = [r for r in matched if r.send_resolved]
    return [(r, None) for r in sorted(matched, key=lambda r: (r.priority, r.id))]


def _is_actor(person: RecipientSpec, event: EventFacts) -> bool:
    """The person who acknowledged or resolved is not told what they just did themselves
    (actors are ``"<name>"`` or ``"<name> (telegram)"``)."""
    if event.kind not in ("acknowledged", "resolved"):
        return False
    return event.actor == person.name or event.actor.startswith(f"{person.name} (")


def plan_event(
    event: EventFacts,
    alert: AlertFacts,
    rules: Sequence[RuleSpec],
    recipients: Sequence[RecipientSpec],
    windows: Sequence[WindowSpec] = (),
    root_cause_open: bool = False,
    root_targets: Collection[tuple[int, str]] | None = None,
    update_delay_s: float = 5.0,
    fallbacks: Mapping[str, str] | None = None,
) -> list[PlannedDelivery]:
    """The delivery rows an alert event produces (one per recipient and transport at most).

    ``updated`` events (severity changes) notify only when the severity was raised, everyone
    the rules reach at the new severity.

    Suppressed (maintenance, snooze) and folded (root cause open) rows are still planned, with
    their reason, so the delivery log explains every silence. Folding applies per recipient
    and transport: only where the root cause's message goes (``root_targets``, ``(recipient
    id, transport)``; None = everywhere). There a symptom's ``opened``/``resolved`` becomes an
    incident update of the root's message (see :mod:`castwatch.notifier.incident_thread`) and
    its other events are ``grouped``; elsewhere the symptom is told on its own. The
    correlator's ``note`` on a root with ``details.symptom_alert_id`` (a symptom joined) is an
    update for everyone the root's rules reach.
    """
    joined = event.details.get("symptom_alert_id") if event.kind == "note" else None
    if joined is not None:
        if alert.state == "resolved":
            return []
        return [replace(r, kind=UPDATE_KIND,
                        group_key=update_group_key(alert.id, r.recipient_id, r.transport),
                        due_at=event.created_at + timedelta(seconds=update_delay_s),
                        alert_id=int(joined), payload={"root_alert_id": alert.id, "change": "joined"})
                for r in plan_event(replace(event, kind="opened", details={}), alert, rules, recipients,
                                    windows, fallbacks=fallbacks)]
    if event.kind not in NOTIFIED_KINDS or (event.kind == "updated" and not severity_raised(event)):
        return []
    status, reason = "pending", None
    window = suppressing_window(windows, alert, event.created_at)
    if window is not None:
        status, reason = "suppressed", f"maintenance window {window.name!r}"
    elif event.kind in ("escalated", "refired") and alert.snoozed_until is not None \
            and alert.snoozed_until > event.created_at:
        status, reason = "suppressed", "alert snoozed"
    root = alert.root_cause_alert_id if root_cause_open and status == "pending" else None
    seen: set[tuple[int, str]] = set()
    planned: list[PlannedDelivery] = []
    for rule, roles in _rules_for_event(event, alert, rules):
        for person, transport in route(rule, recipients, roles, fallbacks):
            if (person.id, transport) in seen or _is_actor(person, event):
                continue
            seen.add((person.id, transport))
            key = group_key(rule, person, transport, alert, event.kind)
            wait = rule.group_wait_s if key is not None else 0
            row = PlannedDelivery(
                rule_id=rule.id, recipient_id=person.id, transport=transport, kind=event.kind,
                status=status, due_at=event.created_at + timedelta(seconds=wait),
                group_key=key, reason=reason,
            )
            if root is not None and (root_targets is None or (person.id, transport) in root_targets):
                if event.kind in ("opened", "resolved"):
                    row = replace(row, kind=UPDATE_KIND,
                                  group_key=update_group_key(root, person.id, transport),
                                  due_at=event.created_at + timedelta(seconds=update_delay_s),
                                  payload={"root_alert_id": root, "change": CHANGES[event.kind]})
                else:
                    row = replace(row, status="grouped", reason=f"folded into root cause alert {root}")
            planned.append(row)
    return planned


def escalation_steps_due(
    rule: RuleSpec, alert: AlertFacts, now: datetime, done_steps: Iterable[int]
) -> list[int]:
    """Indexes of escalation steps to take now: alert still firing (not acknowledged, not
    snoozed), step delay elapsed since it opened, step not taken yet."""
    if alert.state != "firing" or (alert.snoozed_until is not None and alert.snoozed_until > now):
        return []
    done = set(done_steps)
    age = (now - alert.opened_at).total_seconds()
    return [i for i, step in enumerate(rule.escalation) if i not in done and age >= step.after_s]


def repeat_due(
    rule: RuleSpec, alert: AlertFacts, last_notified_at: datetime, now: datetime
) -> bool:
    """A reminder is due: firing and unacknowledged, not snoozed, interval elapsed."""
    if rule.repeat_interval_s is None or alert.state != "firing":
        return False
    if alert.snoozed_until is not None and alert.snoozed_until > now:
        return False
    return (now - last_notified_at).total_seconds() >= rule.repeat_interval_s


def retry_delay(attempts: int, base_s: float, max_s: float) -> float:
    """Exponential backoff after ``attempts`` failed tries: base, 2·base, 4·base… capped."""
    return float(min(max_s, base_s * (2 ** max(0, attempts - 1))))
