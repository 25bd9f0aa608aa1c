"""Pure decisions for one message thread per incident (no I/O).

An incident is a root-cause alert and its symptoms (alerts whose ``root_cause_alert_id`` points
at it). Each recipient gets one message for the root; symptoms that join or clear later do not
produce messages of their own but **incident updates**: delivery rows of kind
:data:`UPDATE_KIND` that edit the root's Telegram message in place, or send an email threaded
under the root's first email (In-Reply-To/References).

Rate: update rows of one root and one recipient/transport share a group key and fall due
``coalesce_s`` after the change, never sooner than ``coalesce_s`` after the previous update of
that message was sent (:func:`update_due`); everything pending for the key then rides in one
edit or email. So a burst of 30 symptom changes costs one edit per message per window.

At send time an update is dropped (``grouped``) when the root's message is not sent yet (it
will list the symptoms when rendered), when it already shows the current symptom states
(:func:`listing_changed`), or, for email, when the root resolved (its resolved notice, one per
incident and threaded, covers it). Telegram edits still go out then, so the message shows the
final states and loses its buttons.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

UPDATE_KIND = "incident_update"
#: Event kind → the change an update reports (the correlator's ``note`` on the root = joined).
CHANGES = {"opened": "joined", "resolved": "cleared", "note": "joined"}


def update_group_key(root_id: int, recipient_id: int, transport: str) -> str:
    """All pending updates of one root's message to one recipient/transport: one send."""
    return f"incident:{root_id}:p{recipient_id}:{transport}"


def update_due(event_at: datetime, last_sent_at: datetime | None, coalesce_s: float) -> datetime:
    """When an update for a change at ``event_at`` falls due: ``coalesce_s`` later, and at least
    ``coalesce_s`` after the previous update of the same message (``last_sent_at``)."""
    gap = timedelta(seconds=coalesce_s)
    due = event_at + gap
    if last_sent_at is not None and last_sent_at + gap > due:
        due = last_sent_at + gap
    return due


def shown_state(state: str) -> str:
    """What a message shows of a symptom: ``open`` or ``cleared`` (acks do not need an edit)."""
    return "cleared" if state == "resolved" else "open"


def listing(symptom_states: Mapping[int, str]) -> dict[str, str]:
    """The symptom listing stored with a sent message (JSON keys are strings)."""
    return {str(i): shown_state(s) for i, s in sorted(symptom_states.items())}


def listing_changed(current: Mapping[int, str], listed: Mapping[str, str] | None) -> bool:
    """True when the message last sent (``listed``; None = unknown) does not show ``current``
    (symptom id → alert state): a symptom joined, or one changed between open and cleared."""
    if listed is None:
        return True
    return any(listed.get(str(i)) != shown_state(s) for i, s in current.items())


def listing_diff(current: Mapping[int, str], listed: Mapping[str, str] | None) -> list[tuple[int, str]]:
    """What an update reports, symptom by symptom, against the last message (``listed``):
    ``joined`` (not shown before; ``joined, cleared`` if it already cleared), ``cleared`` or
    ``reopened``. Ordered by symptom id."""
    out: list[tuple[int, str]] = []
    for i, state in sorted(current.items()):
        before, now = (listed or {}).get(str(i)), shown_state(state)
        if before is None:
            out.append((i, "joined" if now == "open" else "joined, cleared"))
        elif before != now:
            out.append((i, "cleared" if now == "cleared" else "reopened"))
    return out


def decide_update(edits_in_place: bool, root_state: str, root_message: str | None,
                  changed: bool) -> tuple[str, str] | None:
    """None = send the update; else ``(status, reason)`` to record instead.

    ``edits_in_place``: the transport edits the root's message (Telegram), so an update goes
    out even after the root resolved (the message ends up showing every symptom cleared);
    threaded transports (email) leave that to the resolved notice.

    ``root_message``: ``"sent"``, ``"pending"`` (planned, not sent yet) or None (it never went
    to this recipient on this transport: nothing to edit or thread under).
    """
    if root_message == "pending":
        return "grouped", "the root cause's message is not sent yet; it will list this"
    if root_message is None:
        return "grouped", "the root cause's message did not go to this recipient"
    if not changed:
        return "grouped", "the root cause's message already shows this"
    if not edits_in_place and root_state == "resolved":
        return "grouped", "the incident resolved; its resolved notice covers this"
    return None


def root_current(root_state: str, root_resolved_at: datetime | None, symptom_opened_at: datetime) -> bool:
    """The root cause is this symptom's incident: open, or resolved after the symptom opened
    (an old resolved alert named as a root cause does not swallow new messages)."""
    if root_state != "resolved":
        return True
    return root_resolved_at is not None and root_resolved_at >= symptom_opened_at


def fold_at_send(kind: str, root_is_current: bool, root_reaches: bool) -> bool:
    """An ``opened`` row planned before its alert was linked to a root cause: drop it at send
    time when the root is current (:func:`root_current`) and its message reaches the same
    recipient/transport (it lists the symptom when rendered, or the correlator's join note
    brings an update of it)."""
    return kind == "opened" and root_is_current and root_reaches


def raise_folded(kind: str, opening_pending: bool) -> bool:
    """A severity raise (``updated``) while the alert's opening message to the same recipient is
    not sent yet: that message, rendered later, shows the new severity — one message, not two."""
    return kind == "updated" and opening_pending


def resolution_folded(kind: str, has_root: bool, opening_told: bool) -> bool:
    """A symptom's ``resolved`` row when its opening was never told to this recipient: the
    incident's one resolved notice (or an update) covers it."""
    return kind == "resolved" and has_root and not opening_told
