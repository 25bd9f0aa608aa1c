"""Do the renditions of one channel agree? VARIANTS_OUT_OF_SYNC (RFC 8216 §6.2.4).

Renditions of a ladder must share the target duration and the discontinuity sequence, and
their live edges (the media sequence number of the newest segment) must be close: a player
switching rungs must find the same segment numbers. A difference of one segment is allowed
because the renditions are polled at slightly different moments.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from castwatch.packager_monitor.rules.base import VARIANTS_OUT_OF_SYNC, Verdict, ok


@dataclass(frozen=True, slots=True)
class EdgeView:
    """What the sync rule needs of one rendition's latest poll."""

    target_duration: int
    discontinuity_sequence: int
    last_sequence: int


def variants_sync(channel: str, views: Mapping[str, EdgeView], max_edge_spread: int = 1,
                  fresh: Collection[str] | None = None) -> Verdict | None:
    """Channel-wide verdict over the renditions' latest polls; None for < 2.

    Target durations and discontinuity sequences are compared over every view: a rendition
    with a longer target is polled less often, and leaving it out (as the probe once did)
    hid exactly the mismatch §6.2.4 forbids. Live edges are compared only among ``fresh``
    views (polled within their own target duration; all when None): a late poll is not a
    rendition falling behind.
    """
    if len(views) < 2:
        return None
    problems: list[str] = []
    targets = {v.target_duration for v in views.values()}
    if len(targets) > 1:
        problems.append("target durations " + "/".join(str(t) for t in sorted(targets)))
    dseqs = {v.discontinuity_sequence for v in views.values()}
    if len(dseqs) > 1:
        problems.append("discontinuity sequences " + "/".join(str(d) for d in sorted(dseqs)))
    edges = {name: v.last_sequence for name, v in views.items() if fresh is None or name in fresh}
    lo, hi = min(edges.values(), default=0), max(edges.values(), default=0)
    if len(targets) == 1 and hi - lo > max_edge_spread:
        behind = sorted(n for n, e in edges.items() if e == lo)
        problems.append(f"live edge of {', '.join(behind)} is {hi - lo} segments behind")
    if not problems:
        return ok(VARIANTS_OUT_OF_SYNC, None)
    return Verdict(VARIANTS_OUT_OF_SYNC, None, True,
                   f"{channel}: renditions out of sync: {'; '.join(problems)}",
                   {"edges": edges, "targets": sorted(targets), "discontinuity_sequences": sorted(dseqs)})
