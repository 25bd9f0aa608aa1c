"""Auto-remediation after a failover: bring the failed encoder back as a healthy standby.

Pure decisions of state and time, like ``policy``: :func:`step` says, for one encoder that
should be a standby but is not healthy, which remedy to try now (or none yet), and when it
has run out of attempts. The controller carries the remedy out (never on the on-air encoder —
the air is not touched), audits each attempt on the alerts, and reports exhaustion.

Remedies, by escalation (attempt 1, 2, 3, …; the last one repeats):

1. ``reconnect`` — drop the device session and log in again (a stuck session, a lost cookie);
2. ``reset_output`` — stop the stream output, which clears a latched "failed" stream state;
3. ``reboot`` — only where the driver can (capability ``reboot``) and the operator allowed it
   (``driver_options.allow_reboot``).

Attempts are spaced by ``backoff_s`` doubling (to ``max_backoff_s``); after ``max_attempts``
the step answers ``exhausted`` once, with what was tried. A standby that turns healthy ends
its remediation (``restored`` when an attempt had been made).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace

RECONNECT, RESET_OUTPUT, REBOOT = "reconnect", "reset_output", "reboot"
EXHAUSTED, RESTORED = "exhausted", "restored"


@dataclass(frozen=True)
class RemedyPolicy:
    max_attempts: int = 4
    backoff_s: float = 15.0
    max_backoff_s: float = 300.0

    def wait(self, attempts: int) -> float:
        return min(self.max_backoff_s, self.backoff_s * 2 ** max(0, attempts - 1))


@dataclass(frozen=True)
class Remediation:
    """One encoder being brought back: attempts made, the next not before ``next_at``."""

    since: float
    next_at: float
    attempts: int = 0
    tried: tuple[str, ...] = ()
    exhausted: bool = False


def remedies(capabilities: Collection[str], allow_reboot: bool) -> tuple[str, ...]:
    """The escalation ladder for a device."""
    ladder = (RECONNECT, RESET_OUTPUT)
    return (*ladder, REBOOT) if allow_reboot and "reboot" in capabilities else ladder


def step(rem: Remediation | None, *, healthy: bool, capabilities: Collection[str], allow_reboot: bool,
         now: float, policy: RemedyPolicy = RemedyPolicy()) -> tuple[Remediation | None, str | None]:
    """``(new state, what to do)``: a remedy name, ``exhausted``, ``restored`` or None."""
    if healthy:
        return None, (RESTORED if rem is not None and rem.attempts else None)
    if rem is None:
        # give the parking stop and a few polls a chance first: often that is all it takes
        return Remediation(since=now, next_at=now + policy.wait(1)), None
    if rem.exhausted or now < rem.next_at:
        return rem, None
    if rem.attempts >= policy.max_attempts:
        return replace(rem, exhausted=True), EXHAUSTED
    ladder = remedies(capabilities, allow_reboot)
    remedy = ladder[min(rem.attempts, len(ladder) - 1)]
    attempts = rem.attempts + 1
    return replace(rem, attempts=attempts, tried=(*rem.tried, remedy),
                   next_at=now + policy.wait(attempts)), remedy
