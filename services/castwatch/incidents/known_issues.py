"""The known-issue library: patterns kept as data (``library/known_issues.json``), matched here.

Adding a known issue is a JSON entry, not code. An entry matches one alert when every
condition of its ``match`` holds (see the file's ``_comment``); the first entry that matches
wins. Its ``remediation`` goes into the alert's ``details["remediation"]`` (the notifier's
templates show it as *What to do*), into the incident and the API.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from castwatch.incidents.facts import AlertView

DEFAULT_LIBRARY = Path(__file__).with_name("library") / "known_issues.json"
_OPS = ("eq", "in", "gte", "lte", "regex")


class LibraryError(ValueError):
    """The library file is malformed; the message names the entry and the problem."""


@dataclass(frozen=True)
class KnownIssue:
    id: str
    title: str
    remediation: str
    alert_types: tuple[str, ...]
    root_kinds: tuple[str, ...] = ()
    scope: str | None = None
    with_recent: tuple[str, ...] = ()
    min_recurrences: int = 0
    within_s: float = 600.0
    details: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class MatchContext:
    """What an entry may look at besides the alert: the incident it is in, and the history of
    alerts on the same subject (open or resolved, this one included)."""

    root_kind: str = "alert"
    scope: str = ""
    same_subject: Sequence[AlertView] = ()


def _issue(raw: Mapping[str, Any]) -> KnownIssue:
    ident = raw.get("id")
    if not isinstance(ident, str) or not ident:
        raise LibraryError(f"entry without an id: {raw!r:.80}")
    m = raw.get("match")
    if not isinstance(m, dict) or not m.get("alert_types"):
        raise LibraryError(f"{ident}: match.alert_types is required")
    if not raw.get("remediation") or not raw.get("title"):
        raise LibraryError(f"{ident}: title and remediation are required")
    details = m.get("details") or {}
    for name, cond in details.items():
        if not isinstance(cond, dict) or not cond or set(cond) - set(_OPS):
            raise LibraryError(f"{ident}: details.{name} must use only {', '.join(_OPS)}")
        if "regex" in cond:
            try:
                re.compile(str(cond["regex"]))
            except re.error as exc:
                raise LibraryError(f"{ident}: details.{name}.regex: {exc}") from exc
    return KnownIssue(
        id=ident, title=str(raw["title"]), remediation=str(raw["remediation"]),
        alert_types=tuple(m["alert_types"]), root_kinds=tuple(m.get("root_kinds") or ()),
        scope=m.get("scope"), with_recent=tuple(m.get("with_recent") or ()),
        min_recurrences=int(m.get("min_recurrences") or 0), within_s=float(m.get("within_s") or 600),
        details=details,
    )


def load_library(path: Path | None = None) -> list[KnownIssue]:
    """Parse and validate the library; raises :class:`LibraryError` on a bad entry."""
    try:
        data = json.loads((path or DEFAULT_LIBRARY).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise LibraryError(f"cannot read known-issue library {path or DEFAULT_LIBRARY}: {exc}") from exc
    entries = data.get("issues") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise LibraryError("the library must be an object with an 'issues' list")
    issues = [_issue(e) for e in entries]
    seen: set[str] = set()
    for issue in issues:
        if issue.id in seen:
            raise LibraryError(f"duplicate known issue id {issue.id!r}")
        seen.add(issue.id)
    return issues


def _detail_ok(value: Any, cond: Mapping[str, Any]) -> bool:
    try:
        return all((
            "eq" not in cond or value == cond["eq"],
            "in" not in cond or value in cond["in"],
            "gte" not in cond or (value is not None and float(value) >= float(cond["gte"])),
            "lte" not in cond or (value is not None and float(value) <= float(cond["lte"])),
            "regex" not in cond or (value is not None and re.search(str(cond["regex"]), str(value))),
        ))
    except (TypeError, ValueError):
        return False


def matches(issue: KnownIssue, alert: AlertView, ctx: MatchContext) -> bool:
    """True when every condition of ``issue`` holds for ``alert`` in ``ctx``."""
    if not any(fnmatchcase(alert.alert_type, t) for t in issue.alert_types):
        return False
    if issue.root_kinds and ctx.root_kind not in issue.root_kinds:
        return False
    if issue.scope and issue.scope not in ctx.scope:
        return False
    if not all(_detail_ok(alert.details.get(k), c) for k, c in issue.details.items()):
        return False
    since = alert.opened_at - timedelta(seconds=issue.within_s)
    recent = [a for a in ctx.same_subject if a.is_open or a.opened_at >= since
              or (a.resolved_at is not None and a.resolved_at >= since)]
    for wanted in issue.with_recent:
        if not any(fnmatchcase(a.alert_type, wanted) for a in recent if a.id != alert.id):
            return False
    if issue.min_recurrences:
        same = {a.id for a in recent if a.alert_type == alert.alert_type and a.opened_at >= since}
        if len(same | {alert.id}) < issue.min_recurrences:
            return False
    return True


def first_match(library: Sequence[KnownIssue], alert: AlertView, ctx: MatchContext) -> KnownIssue | None:
    return next((i for i in library if matches(i, alert, ctx)), None)
