"""Tightrope Cablecast: ``GET /cablecastapi/v1/scheduleitems?start=…&end=…&channel=…``.

The API answers ``{"scheduleItems": [...], "shows": [...], "reels": [...]}`` (shows and reels
sideloaded with ``include=show,reel``), paginated with ``offset``/``page_size``. An item runs
``runDateTime`` for its show's length: ``totalRunTime`` (seconds) when given, else the sum of
its reels' ``length``, else until the next item, else ``duration_min`` (default 60).
A ``runDateTime`` without a UTC offset is local time in the source's time zone
(``options["timezone"]``, set by the service from the source's ``timezone``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import urljoin

from castwatch.schedules.http import ScheduleHttp
from castwatch.schedules.items import ImportedItem, Parsed, ScheduleError, classify, ignored, zone

PAGE_SIZE = 200
MAX_PAGES = 50


def _when(raw: Any, tz: tzinfo) -> datetime:
    """An ISO 8601 ``runDateTime``; one without an offset is local time in ``tz``."""
    try:
        value = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError as exc:
        raise ScheduleError("cablecast: a runDateTime is not an ISO 8601 time") from exc
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


def parse_scheduleitems(pages: Sequence[Mapping[str, Any]], options: Mapping[str, Any]) -> Parsed:
    """Items of every page (pure); deleted items are skipped (and listed as ignored)."""
    shows: dict[int, Mapping[str, Any]] = {}
    reels: dict[int, Mapping[str, Any]] = {}
    raw_items: list[Mapping[str, Any]] = []
    skipped = []
    for page in pages:
        shows.update({int(s["id"]): s for s in page.get("shows") or []})
        reels.update({int(r["id"]): r for r in page.get("reels") or []})
        for i in page.get("scheduleItems") or []:
            if i.get("deleted"):
                skipped.append(ignored(f"schedule item {i.get('id')}", "deleted in Cablecast"))
            else:
                raw_items.append(i)
    tz = zone(options)
    default = timedelta(minutes=float(options.get("duration_min") or 60))
    timed = sorted(((_when(i.get("runDateTime"), tz), i) for i in raw_items), key=lambda t: t[0])
    out = []
    for n, (start, item) in enumerate(timed):
        show = shows.get(int(item.get("show") or 0), {})
        seconds = show.get("totalRunTime")
        if not seconds:
            seconds = sum(float(reels[r].get("length") or 0) for r in show.get("reels") or [] if r in reels)
        if seconds:
            length = timedelta(seconds=float(seconds))
        elif n + 1 < len(timed):
            length = timed[n + 1][0] - start
        else:
            length = default
        title = str(show.get("cgTitle") or show.get("title") or f"show {item.get('show')}")
        out.append(ImportedItem(external_id=f"cablecast:{item['id']}", title=title,
                                kind=classify(title, options), starts_at=start, ends_at=start + length,
                                details={"show_id": item.get("show"), "channel": item.get("channel")}))
    return Parsed(out, skipped, {"found": len(out)})


def fetch(url: str, options: Mapping[str, Any], start: datetime, end: datetime, *,
          http: ScheduleHttp, page_size: int = PAGE_SIZE) -> Parsed:
    """Fetch every page for the window from the server at ``url`` (its base URL)."""
    channel = options.get("cablecast_channel")
    if channel is None:
        raise ScheduleError("cablecast: option cablecast_channel (the Cablecast channel id) is required")
    endpoint = urljoin(url.rstrip("/") + "/", "cablecastapi/v1/scheduleitems")
    pages = []
    for n in range(MAX_PAGES):
        params = {"start": start.isoformat(), "end": end.isoformat(), "channel": channel,
                  "include": "show,reel", "page_size": page_size, "offset": n * page_size}
        body, ctype = http.get("cablecast", endpoint, params=params, headers={"Accept": "application/json"})
        try:
            page = json.loads(body)
        except ValueError:
            raise ScheduleError(f"cablecast: not JSON ({ctype}, {len(body)} bytes)") from None
        if not isinstance(page, dict):
            raise ScheduleError(f"cablecast: not a JSON object ({len(body)} bytes)")
        pages.append(page)
        if len(page.get("scheduleItems") or []) < page_size:
            break
    return parse_scheduleitems(pages, options)
