"""Is an import that parsed believable? Pure.

A page that parses is not yet a schedule: a city that redesigns its meetings page, a feed that
comes back empty, a PDF without a date all parse "successfully" into nothing. Storing that
would delete every upcoming meeting. :func:`judge` compares the document's counts
(:attr:`castwatch.schedules.items.Parsed.stats`) with those of the last good import and says
why the import must count as a failure (the old items are kept, ``last_error`` is set and
``SCHEDULE_SOURCE_FAILING`` is raised), or None when it may be stored.
"""

from __future__ import annotations

from collections.abc import Mapping


def judge(kind: str, now: Mapping[str, int], before: Mapping[str, int]) -> str | None:
    """Why the import of a ``kind`` source with counts ``now`` must not replace the last good
    one (counts ``before``; ``{}`` for a source never imported), or None.

    - a PDF agenda in which no meeting date is found is always a failure;
    - any source that finds nothing where the last good import found something;
    - a meetings page that had tables and now has none (its layout changed under us).
    """
    found, found_before = int(now.get("found", 0)), int(before.get("found", 0))
    if kind == "pdf" and found == 0:
        return "no meeting date found in the PDF agenda"
    if found == 0 and found_before > 0:
        return f"found nothing where the last good import found {found_before}: has the page changed?"
    if kind == "html" and int(before.get("tables", 0)) > 0 and int(now.get("tables", 0)) == 0 \
            and found_before > 0:
        return ("the page lost its table (the last good import read its meetings from a page with "
                f"{before['tables']}); the old items are kept")
    return None
