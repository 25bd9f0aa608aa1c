"""From verdicts to alert operations: debouncing per channel, no I/O.

An :class:`AlertBook` per channel feeds each verdict to a
:class:`~castwatch.common.hysteresis.ConditionTracker` keyed by ``(rendition, alert_type)``
with the type's :class:`Debounce` policy, and returns :class:`AlertOp` s to apply: ``fire``
when a condition has held long/often enough, ``clear`` when it stayed clear for the hold time.
It also knows the channel's status (worst open severity) for the channels row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from castwatch.common.hysteresis import ConditionTracker, Debounce
from castwatch.common.vocab import PROBE, SEVERITY_RANK, alert_types
from castwatch.packager_monitor.rules import base as t
from castwatch.packager_monitor.rules.base import Verdict

SOURCE = PROBE


def policies(clear_hold_s: float) -> dict[str, Debounce]:
    """The debounce policy of every alert type for a given clear hold time.

    The vocab's ``confirmations``: types a single failed request or odd segment can show
    need two (or three) consecutive bad observations; the rest raise on first evidence because
    the rule itself has the slack the RFC allows (PLAYLIST_STALE waits 1.5x the target) or the
    evidence is definite.
    """
    return {a.name: Debounce(0.0, a.confirmations, clear_hold_s) for a in alert_types(PROBE)}


@dataclass(frozen=True, slots=True)
class AlertOp:
    kind: Literal["fire", "clear"]
    channel_id: int | None
    subject: str
    alert_type: str
    severity: str = "major"
    summary: str = ""
    details: dict[str, Any] = field(default_factory=dict)


_RANK = SEVERITY_RANK


@dataclass
class AlertBook:
    code: str
    channel_id: int | None
    policy: dict[str, Debounce]
    tracker: ConditionTracker[tuple[str | None, str]] = field(default_factory=ConditionTracker)
    #: open conditions: key → severity
    active: dict[tuple[str | None, str], str] = field(default_factory=dict)
    #: keys the tracker must hear about: open, or bad but not raised yet
    watched: set[tuple[str | None, str]] = field(default_factory=set)
    fired: int = 0

    def subject(self, rendition: str | None) -> str:
        return f"{self.code}/{rendition}" if rendition else self.code

    def observe(self, verdicts: Iterable[Verdict], now: float) -> list[AlertOp]:
        ops: list[AlertOp] = []
        for v in verdicts:
            key = (v.rendition, v.alert_type)
            if not v.bad and key not in self.watched:
                continue  # clear and never seen bad: nothing for the tracker to learn
            change = self.tracker.observe(key, v.bad, now, self.policy.get(v.alert_type))
            if v.bad:
                self.watched.add(key)
            elif key not in self.active and change is None:
                self.watched.discard(key)  # the bad streak ended before it raised
            if change == "raise":
                severity = v.effective_severity
                self.active[key] = severity
                self.fired += 1
                ops.append(AlertOp("fire", self.channel_id, self.subject(v.rendition), v.alert_type,
                                   severity, v.summary, v.details))
            elif change == "clear":
                self.active.pop(key, None)
                self.watched.discard(key)
                ops.append(AlertOp("clear", self.channel_id, self.subject(v.rendition), v.alert_type))
        return ops

    def adopt(self, rendition: str | None, alert_type: str, severity: str, now: float) -> None:
        """Take over an alert opened earlier (by this or a dead replica) so it can clear."""
        key = (rendition, alert_type)
        self.tracker.observe(key, True, now, Debounce(0.0, 1, self.policy[alert_type].clear_after_s
                                                      if alert_type in self.policy else 30.0))
        self.active[key] = severity
        self.watched.add(key)

    def drop_rendition(self, rendition: str, keep: tuple[str, ...] = (t.RENDITION_MISSING,)) -> list[AlertOp]:
        """Clear the open alerts of a rendition that left the ladder (its own missing-alert stays)."""
        ops = []
        for key in [k for k in self.active if k[0] == rendition and k[1] not in keep]:
            self.active.pop(key)
            self.watched.discard(key)
            self.tracker.forget(key)
            ops.append(AlertOp("clear", self.channel_id, self.subject(rendition), key[1],
                               details={"note": "rendition left the ladder"}))
        tracked = self.tracker.keys()  # noqa: SIM118 (ConditionTracker is not a mapping)
        for key in [k for k in tracked if k[0] == rendition and k[1] not in keep]:
            self.tracker.forget(key)
            self.watched.discard(key)
        return ops

    def clear_all(self) -> list[AlertOp]:
        ops = [AlertOp("clear", self.channel_id, self.subject(r), a) for r, a in self.active]
        self.active.clear()
        self.watched.clear()
        for key in self.tracker.keys():  # noqa: SIM118 (ConditionTracker is not a mapping)
            self.tracker.forget(key)
        return ops

    def status(self) -> str:
        """``critical`` with any critical alert open, ``warning`` with any other, else ``ok``."""
        if not self.active:
            return "ok"
        worst = max(_RANK.get(s, 2) for s in self.active.values())
        return "critical" if worst >= 3 else "warning"

    def open_alerts(self) -> list[str]:
        return sorted(f"{self.subject(r)} {a}" for r, a in self.active)
