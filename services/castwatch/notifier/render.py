"""Jinja2 rendering of messages, per transport and event kind, overridable from a directory.

Template lookup for kind ``K`` on transport ``T``: ``T/K.<part>.j2`` then ``T/default.<part>.j2``,
first in ``NOTIFY_TEMPLATES_DIR`` (when set), then in the built-in ``templates/``. Parts:
Telegram ``html``; email ``subject``, ``txt``, ``html``. HTML templates autoescape every
dynamic value. Telegram text is cut safely under 4,096 characters (never inside a tag or an
entity; open tags are closed).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, TemplateNotFound

BUILTIN_DIR = Path(__file__).with_name("templates")
TELEGRAM_LIMIT = 4096

KIND_LABELS = {
    "opened": "new alert", "acknowledged": "acknowledged", "resolved": "resolved",
    "escalated": "ESCALATED — nobody acknowledged yet", "refired": "still firing (reminder)",
    "snoozed": "snoozed", "updated": "severity raised", "grouped": "new alerts", "test": "test",
    "admin": "admin notice", "folded": "new alert (its suspected cause is already reported)",
    "incident_update": "incident update", "catchup": "while castwatch was down",
}
ICONS = {"critical": "🔴", "major": "🟠", "minor": "🟡", "info": "🔵", "resolved": "✅",
         "acknowledged": "👀"}


class Renderer:
    """Renders contexts built by the outbox store; one instance per process (templates cached)."""

    def __init__(self, templates_dir: Path | None = None) -> None:
        loaders = [FileSystemLoader(str(templates_dir))] if templates_dir else []
        loaders.append(FileSystemLoader(str(BUILTIN_DIR)))
        self._env = Environment(
            loader=ChoiceLoader(loaders),
            autoescape=lambda name: bool(name and name.endswith(".html.j2")),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )

    def _render(self, transport: str, kind: str, part: str, ctx: dict[str, Any]) -> str:
        for name in (f"{transport}/{kind}.{part}.j2", f"{transport}/default.{part}.j2"):
            try:
                template = self._env.get_template(name)
            except TemplateNotFound:
                continue
            return template.render(**_with_defaults(kind, ctx)).strip()
        raise TemplateNotFound(f"{transport}/{kind}.{part}.j2")

    @staticmethod
    def context(kind: str, ctx: dict[str, Any]) -> dict[str, Any]:
        """``ctx`` with the defaults every template sees (``kind_label``, ``headline``, …), for
        transports that build their message from the context instead of a template."""
        return _with_defaults(kind, ctx)

    def telegram(self, kind: str, ctx: dict[str, Any]) -> str:
        return safe_cut(self._render("telegram", kind, "html", ctx))

    def email(self, kind: str, ctx: dict[str, Any]) -> tuple[str, str, str]:
        """``(subject, text, html)``; the subject is one line."""
        subject = " ".join(self._render("email", kind, "subject", ctx).split())[:250]
        return subject, self._render("email", kind, "txt", ctx), self._render("email", kind, "html", ctx)


def _with_defaults(kind: str, ctx: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"items": [], "alert": {}, "event": None, "link": None, "note": None,
           "updated": None, "changes": [],
           "recipient": {"name": "", "role": ""}, "now": ""}
    out.update(ctx)
    out["kind"] = kind
    out["kind_label"] = KIND_LABELS.get(kind, kind)
    alert: dict[str, Any] = out["alert"] or {}
    state = str(alert.get("state", ""))
    icon = ICONS.get(state if state != "firing" else str(alert.get("severity", "")), "🔔")
    out.setdefault("headline", f"{icon} {KIND_LABELS.get(kind, kind)}")
    return out


_TOKEN = re.compile(r"<(/?)([a-zA-Z-]+)[^>]*>|&[#a-zA-Z0-9]+;|.", re.S)


def _units(text: str) -> int:
    """Telegram counts UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def safe_cut(html: str, limit: int = TELEGRAM_LIMIT, suffix: str = "\n…(cut)") -> str:
    """``html`` unchanged if it fits; otherwise cut at a token boundary, closing open tags.

    Tokens are whole tags, whole entities or single characters, so a cut never splits one.
    """
    if _units(html) <= limit:
        return html
    budget = limit - _units(suffix) - 64  # room for closing tags
    out: list[str] = []
    stack: list[str] = []
    used = 0
    for match in _TOKEN.finditer(html):
        token = match.group(0)
        size = _units(token)
        if used + size > budget:
            break
        out.append(token)
        used += size
        if match.group(2):
            tag = match.group(2).lower()
            if match.group(1):
                if stack and stack[-1] == tag:
                    stack.pop()
            else:
                stack.append(tag)
    return "".join(out) + "".join(f"</{t}>" for t in reversed(stack)) + suffix
