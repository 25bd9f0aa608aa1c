"""Parking: an encoder that must be idle is *confirmed* idle. Pure, no I/O, no clock.

A stop sent to a device can time out (the device hangs), be lost, or be undone (the device
comes back still streaming). So "we sent a stop" is not "it is parked". :func:`plan` keeps a
:class:`Park` per encoder that should be idle and is not yet seen idle:

- the controller opens one with :func:`request` whenever it stops an encoder; at take-over it
  also opens one for every non-active member seen live (two encoders on one destination);
- while the encoder does not answer, the stop is re-sent with exponential back-off
  (``base_backoff_s`` doubling up to ``max_backoff_s``);
- once it answers: idle → confirmed, the park closes (and its alert clears); still live →
  ``ENCODER_NOT_PARKED`` (major) is raised and stays open, and the stop is re-sent on the same
  back-off until the device is seen idle;
- a parked-but-unconfirmed encoder is never a healthy standby (the policy reads
  :attr:`MemberView.parking`), so it cannot be "failed over to" while still streaming.

An encoder that becomes the group's active or candidate again is no longer parked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

NOT_PARKED = "ENCODER_NOT_PARKED"


@dataclass(frozen=True)
class ParkingPolicy:
    base_backoff_s: float = 1.0
    max_backoff_s: float = 30.0

    def backoff(self, attempts: int) -> float:
        """Wait after the ``attempts``-th stop before the next one."""
        return min(self.max_backoff_s, self.base_backoff_s * 2 ** max(0, attempts - 1))


@dataclass(frozen=True)
class Park:
    """One encoder that must stop: ``attempts`` stops sent so far, the next one not before
    ``next_at``; ``alerted`` while ``ENCODER_NOT_PARKED`` is open for it."""

    since: float
    attempts: int = 0
    next_at: float = 0.0
    sent_at: float = float("-inf")
    alerted: bool = False
    last_error: str | None = None
    failed: bool = False  # the last stop did not get through: re-send as soon as it answers


@dataclass(frozen=True)
class Observed:
    """What the last poll said about the encoder; ``at``: when that poll was sent (a poll sent
    before the last stop says nothing about whether the stop worked)."""

    seen: bool = False
    reachable: bool = False
    live: bool = False
    at: float = float("-inf")


@dataclass(frozen=True)
class ParkAction:
    """``op``: ``stop`` (send a stop now) | ``raise`` | ``clear`` (``ENCODER_NOT_PARKED``)."""

    op: str
    encoder_id: int
    summary: str = ""


def request(parks: Mapping[int, Park], encoder_id: int, now: float,
            policy: ParkingPolicy = ParkingPolicy()) -> dict[int, Park]:
    """A stop is being sent to ``encoder_id`` now: from here on it must be confirmed idle."""
    out = dict(parks)
    old = out.get(encoder_id)
    attempts = 1 if old is None else old.attempts + 1
    out[encoder_id] = Park(since=now if old is None else old.since, attempts=attempts,
                           next_at=now + policy.backoff(attempts), sent_at=now,
                           alerted=bool(old and old.alerted))
    return out


def stop_failed(parks: Mapping[int, Park], encoder_id: int, error: str) -> dict[int, Park]:
    """Remember why the last stop did not get through (shown in the alert)."""
    out = dict(parks)
    if encoder_id in out:
        out[encoder_id] = replace(out[encoder_id], last_error=error[:200], failed=True)
    return out


def release(parks: Mapping[int, Park], encoder_id: int) -> tuple[dict[int, Park], list[ParkAction]]:
    """``encoder_id`` is wanted on air again (active, candidate, an operator's start)."""
    out = dict(parks)
    old = out.pop(encoder_id, None)
    if old is not None and old.alerted:
        return out, [ParkAction("clear", encoder_id, "encoder is wanted on air again")]
    return out, []


def plan(parks: Mapping[int, Park], observed: Mapping[int, Observed], keep_live: Iterable[int],
         now: float, names: Mapping[int, str], policy: ParkingPolicy = ParkingPolicy()
         ) -> tuple[dict[int, Park], list[ParkAction]]:
    """The parks after this poll and what to do (see the module docstring).

    ``keep_live``: encoders that are meant to run (the active one, a candidate being verified);
    their parks are dropped.
    """
    out: dict[int, Park] = {}
    actions: list[ParkAction] = []
    keep = set(keep_live)
    for eid, park in parks.items():
        name = names.get(eid, str(eid))
        seen = observed.get(eid, Observed())
        if eid in keep or eid not in names:
            if park.alerted:
                actions.append(ParkAction("clear", eid, f"{name} is wanted on air again"))
            continue
        fresh = seen.seen and seen.at >= park.sent_at
        if fresh and seen.reachable and not seen.live and park.attempts > 0:
            if park.alerted:
                actions.append(ParkAction("clear", eid, f"{name} confirmed stopped"))
            continue
        if fresh and seen.reachable and seen.live and not park.alerted:
            park = replace(park, alerted=True)
            why = f" (last stop: {park.last_error})" if park.last_error else ""
            actions.append(ParkAction(
                "raise", eid, f"{name} should be idle but is still streaming after "
                              f"{park.attempts} stop(s){why}"))
        answering_live = fresh and seen.reachable and seen.live
        if now >= park.next_at or (answering_live and park.failed):
            attempts = park.attempts + 1
            park = replace(park, attempts=attempts, next_at=now + policy.backoff(attempts),
                           sent_at=now, failed=False)
            actions.append(ParkAction("stop", eid))
        out[eid] = park
    return out, actions


def adopt_live(parks: Mapping[int, Park], observed: Mapping[int, Observed], keep_live: Iterable[int],
               candidates: Iterable[int], now: float) -> dict[int, Park]:
    """Open a park (due at once) for every member in ``candidates`` seen live that should not
    run — used when a replica takes control and does not know what its predecessor stopped."""
    out = dict(parks)
    keep = set(keep_live)
    for eid in candidates:
        seen = observed.get(eid, Observed())
        if eid not in keep and eid not in out and seen.reachable and seen.live:
            out[eid] = Park(since=now, attempts=0, next_at=now)
    return out
