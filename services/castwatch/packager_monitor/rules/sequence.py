"""Media and discontinuity sequence numbering between two polls (RFC 8216 §6.2.2).

A segment keeps its media sequence number while it stays in the playlist, and when a
segment with EXT-X-DISCONTINUITY leaves, EXT-X-DISCONTINUITY-SEQUENCE grows by one. Comparing
the previous and the current poll of one rendition tells:

- MEDIA_SEQUENCE_REGRESSION: the sequence went backwards (origin restart, two origins out of
  sync behind one name);
- MEDIA_SEQUENCE_GAP: sequence numbers were skipped — the window jumped past segments that
  never appeared, or a known segment now carries a higher number;
- DISCONTINUITY_SEQUENCE_ERROR: the discontinuity sequence does not match the discontinuities
  that left the window (or went backwards).
"""

from __future__ import annotations

from castwatch.packager_monitor.hls import MediaPlaylist
from castwatch.packager_monitor.rules.base import (
    DISCONTINUITY_SEQUENCE_ERROR,
    MEDIA_SEQUENCE_GAP,
    MEDIA_SEQUENCE_REGRESSION,
    Verdict,
    label,
    ok,
)


def _renumbering(prev: MediaPlaylist, cur: MediaPlaylist) -> int | None:
    """How much the number of a segment present in both polls changed (0 = consistent);
    None when the polls share no segment or nothing can be said."""
    if not cur.segments or not prev.segments:
        return None
    shift = cur.media_sequence - prev.media_sequence
    if 0 <= shift < len(prev.segments) and prev.segments[shift].uri == cur.segments[0].uri:
        return 0
    first = cur.segments[0].uri
    for i, seg in enumerate(prev.segments):
        if seg.uri == first:
            return cur.media_sequence - (prev.media_sequence + i)
    return None


def sequence_verdicts(channel: str, rendition: str, prev: MediaPlaylist | None,
                      cur: MediaPlaylist) -> list[Verdict]:
    """Verdicts for GAP, REGRESSION and DISCONTINUITY_SEQUENCE_ERROR between two polls."""
    if prev is None:
        return []
    who = label(channel, rendition)
    out: list[Verdict] = []
    renumber = _renumbering(prev, cur)
    if cur.last_sequence < prev.last_sequence or (renumber is not None and renumber < 0):
        back = prev.last_sequence - cur.last_sequence if renumber is None else -renumber
        out.append(Verdict(MEDIA_SEQUENCE_REGRESSION, rendition, True,
                           f"{who}: media sequence went back from {prev.last_sequence} to "
                           f"{cur.last_sequence}",
                           {"previous": prev.last_sequence, "current": cur.last_sequence,
                            "by": back}))
    else:
        out.append(ok(MEDIA_SEQUENCE_REGRESSION, rendition))
        skipped = 0
        if renumber is not None and renumber > 0:
            skipped = renumber
        elif renumber is None and cur.media_sequence > prev.last_sequence + 1:
            skipped = cur.media_sequence - prev.last_sequence - 1
        if skipped:
            out.append(Verdict(MEDIA_SEQUENCE_GAP, rendition, True,
                               f"{who}: {skipped} media sequence number(s) skipped after "
                               f"{prev.last_sequence}",
                               {"previous_last": prev.last_sequence,
                                "current_first": cur.media_sequence, "skipped": skipped}))
        elif cur.new_segments or cur.media_sequence != prev.media_sequence:
            out.append(ok(MEDIA_SEQUENCE_GAP, rendition))
    out.append(_discontinuity(who, rendition, prev, cur, renumber))
    return out


def _discontinuity(who: str, rendition: str, prev: MediaPlaylist, cur: MediaPlaylist,
                   renumber: int | None) -> Verdict:
    if renumber != 0:  # no shared numbering: a restart, judged by the sequence rules
        return ok(DISCONTINUITY_SEQUENCE_ERROR, rendition)
    removed = cur.media_sequence - prev.media_sequence
    left = sum(1 for s in prev.segments[:removed] if s.discontinuity) if removed > 0 else 0
    expected = prev.discontinuity_sequence + left
    if cur.discontinuity_sequence == expected:
        return ok(DISCONTINUITY_SEQUENCE_ERROR, rendition)
    return Verdict(DISCONTINUITY_SEQUENCE_ERROR, rendition, True,
                   f"{who}: discontinuity sequence is {cur.discontinuity_sequence}, expected "
                   f"{expected} ({left} discontinuit{'y' if left == 1 else 'ies'} left the window)",
                   {"expected": expected, "current": cur.discontinuity_sequence,
                    "previous": prev.discontinuity_sequence})
