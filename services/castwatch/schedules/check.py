"""``SCHEDULED_EVENT_NOT_LIVE``: a scheduled live event whose encoder is not streaming. Pure.

For each live event: from ``lead`` before its start until it ends, the alert must be open
while the channel's encoder is not live, and cleared as soon as it is; outside that span it
must not be open. So it fires *before* the meeting (``lead`` minutes ahead), never for a
meeting that is over.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

ALERT_TYPE = "SCHEDULED_EVENT_NOT_LIVE"
#: A schedule source whose import failed or was not believed (minor; see schedules.judge).
SOURCE_FAILING_TYPE = "SCHEDULE_SOURCE_FAILING"
SOURCE = "schedule"


@dataclass(frozen=True)
class LiveEvent:
    item_id: int
    channel_id: int
    channel_code: str
    title: str
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class Decision:
    op: str  # raise | clear
    event: LiveEvent
    subject: str
    summary: str


def subject_of(event: LiveEvent) -> str:
    """Stable per event: ``COUNCIL@2026-11-21T18:00Z``."""
    return f"{event.channel_code}@{event.starts_at.astimezone(UTC):%Y-%m-%dT%H:%MZ}"


def decide(events: Sequence[LiveEvent], live: Mapping[int, bool | None], open_subjects: set[str],
           now: datetime, lead: timedelta) -> list[Decision]:
    """What to raise and clear now. ``live[channel_id]`` is True (streaming), False (not), or
    None/absent (no encoder known: nothing can be said, nothing is raised)."""
    out = []
    for ev in events:
        subject = subject_of(ev)
        in_span = ev.starts_at - lead <= now < ev.ends_at
        state = live.get(ev.channel_id)
        if in_span and state is False:
            minutes = (ev.starts_at - now).total_seconds() / 60
            when = f"starts in {minutes:.0f} min" if minutes > 0 else f"started {-minutes:.0f} min ago"
            out.append(Decision("raise", ev, subject,
                                f"{ev.title} on {ev.channel_code} {when} "
                                f"({ev.starts_at.astimezone(UTC):%H:%M} UTC) and its encoder is not live"))
        elif subject in open_subjects and (not in_span or state is True):
            why = "encoder is live" if in_span else "event is over"
            out.append(Decision("clear", ev, subject, why))
    return out
