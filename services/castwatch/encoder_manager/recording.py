"""Local recording: when a recording should run, and the alert when it stops. Pure, no I/O.

A recording *should run* on an encoder when castwatch started it — an operator's
``record_start`` command, or the group's recording policy — and nobody asked it to stop.
:func:`condition` turns a sample into the ``ENCODER_RECORDING_STOPPED`` condition: bad when a
recording should run and the device says it is not recording (a full disk is the usual cause;
the device's own reason is carried when it gives one). Debouncing is the worker's, as for the
health conditions.

:func:`wanted` is the group policy: record on a backup while it is the on-air encoder
(``record_on_backup``), and record on the on-air encoder while one of the group's channels has
a live event (a meeting) in its imported schedule (``record_during_meetings``).
"""

from __future__ import annotations

from castwatch.encoder_manager.health import RECORDING_STOPPED, Condition
from castwatch.encoder_manager.sample import HealthSample

__all__ = ["RECORDING_STOPPED", "condition", "wanted"]


def condition(sample: HealthSample, expected: bool) -> Condition | None:
    """The recording condition of ``sample``; None when it says nothing about recording."""
    if not sample.reachable or sample.recording is None:
        return None
    bad = expected and not sample.recording
    reason = sample.record_reason or "the device gives no reason"
    return Condition(bad, "major", f"recording stopped: {reason}" if bad else "",
                     {"recording": sample.recording, "reason": sample.record_reason})


def wanted(*, role: str, on_air: bool, record_on_backup: bool, record_during_meetings: bool,
           in_meeting: bool) -> bool:
    """Whether the group's policy wants this member recording now."""
    if not on_air:
        return False
    return (record_on_backup and role == "backup") or (record_during_meetings and in_meeting)
