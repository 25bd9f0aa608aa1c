"""DASH MPDs: representations, their SegmentTemplate, and where the live edge is.

``parse_mpd(text, base_url)`` returns an :class:`Mpd` or raises :class:`MpdError` (never
anything else). Supported addressing: ``SegmentTemplate`` with ``$Number$`` (fixed
``duration``) or with a ``SegmentTimeline`` (``$Number$`` or ``$Time$``), on the AdaptationSet or
the Representation. ``live_edge(rep, mpd, now)`` says which segment is the newest one
available, for the MPD_STALE rule and the segment check.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin


class MpdError(ValueError):
    """The text is not a usable MPD; the message says why (for MPD_INVALID)."""


_DURATION = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(value: str | None) -> float | None:
    """An ISO 8601 duration (``PT1M30.5S``) in seconds; None when absent."""
    if value is None:
        return None
    m = _DURATION.match(value.strip())
    if not m or value.strip() in ("P", "PT"):
        raise MpdError(f"not an ISO 8601 duration: {value[:40]!r}")
    parts = {k: float(v) for k, v in m.groupdict().items() if v}
    return (parts.get("d", 0) * 86400 + parts.get("h", 0) * 3600 + parts.get("m", 0) * 60
            + parts.get("s", 0))


def parse_datetime(value: str | None) -> datetime | None:
    if value is None:
        return None
    raw = value.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise MpdError(f"not an ISO 8601 date-time: {value[:40]!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    number: int
    start: int  # in timescale units
    duration: int


@dataclass(slots=True)
class SegmentTemplate:
    media: str
    initialization: str | None
    timescale: int = 1
    duration: int | None = None
    start_number: int = 1
    presentation_time_offset: int = 0
    timeline: list[TimelineEntry] = field(default_factory=list)


@dataclass(slots=True)
class Representation:
    id: str
    bandwidth: int
    content_type: str
    width: int | None
    height: int | None
    codecs: str | None
    template: SegmentTemplate | None
    base_url: str
    #: PQ or HLG transfer characteristics signalled (CICP TransferCharacteristics 16 / 18)
    hdr: bool = False
    #: Dolby Atmos signalled (EC-3 JOC extension, or an AC-4 immersive codec)
    atmos: bool = False

    @property
    def name(self) -> str:
        if self.height:
            return f"{self.height}p"
        return f"{self.content_type or 'rep'}_{self.id}"


@dataclass(slots=True)
class Mpd:
    type: str
    availability_start: datetime | None
    publish_time: datetime | None
    minimum_update_period: float | None
    time_shift_buffer_depth: float | None
    period_start: float
    representations: list[Representation]


_NS = re.compile(r"^\{[^}]*\}")


def _local(tag: str) -> str:
    return _NS.sub("", tag)


def _children(el: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in el if _local(c.tag) == name]


def _int(el: ET.Element, attr: str, default: int | None = None) -> int | None:
    raw = el.get(attr)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise MpdError(f"{_local(el.tag)}@{attr} is not an integer: {raw[:40]!r}") from None


def _template(el: ET.Element | None, inherited: SegmentTemplate | None) -> SegmentTemplate | None:
    if el is None:
        return inherited
    media = el.get("media") or (inherited.media if inherited else None)
    if not media:
        raise MpdError("SegmentTemplate without @media")
    tpl = SegmentTemplate(
        media=media,
        initialization=el.get("initialization") or (inherited.initialization if inherited else None),
        timescale=_int(el, "timescale", inherited.timescale if inherited else 1) or 1,
        duration=_int(el, "duration", inherited.duration if inherited else None),
        start_number=_int(el, "startNumber", inherited.start_number if inherited else 1) or 0,
        presentation_time_offset=_int(el, "presentationTimeOffset", 0) or 0,
    )
    timelines = _children(el, "SegmentTimeline")
    if timelines:
        number, t = tpl.start_number, 0
        for s in _children(timelines[0], "S"):
            t = _int(s, "t", t) or 0 if s.get("t") is not None else t
            d = _int(s, "d")
            if d is None or d <= 0:
                raise MpdError("SegmentTimeline S without a positive @d")
            repeat = _int(s, "r", 0) or 0
            for _ in range(max(0, repeat) + 1):
                tpl.timeline.append(TimelineEntry(number, t, d))
                number, t = number + 1, t + d
                if len(tpl.timeline) > 100_000:
                    raise MpdError("SegmentTimeline longer than 100000 segments")
    elif inherited and inherited.timeline and el is not None:
        tpl.timeline = inherited.timeline
    if not tpl.timeline and not tpl.duration:
        raise MpdError("SegmentTemplate with neither @duration nor SegmentTimeline")
    return tpl


def parse_mpd(text: str | bytes, base_url: str = "") -> Mpd:
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise MpdError(f"not well-formed XML: {exc}") from None
    except ValueError as exc:
        raise MpdError(f"not XML: {exc}") from None
    if _local(root.tag) != "MPD":
        raise MpdError(f"root element is {_local(root.tag)!r}, not MPD")
    base = _base(root, base_url)
    periods = _children(root, "Period")
    if not periods:
        raise MpdError("MPD without a Period")
    period = periods[-1]  # the live edge is in the last period
    base = _base(period, base)
    reps: list[Representation] = []
    for aset in _children(period, "AdaptationSet"):
        aset_base = _base(aset, base)
        aset_tpl = _template(next(iter(_children(aset, "SegmentTemplate")), None), None)
        ctype = aset.get("contentType") or (aset.get("mimeType") or "").split("/")[0]
        for rep in _children(aset, "Representation"):
            rid = rep.get("id")
            if not rid:
                raise MpdError("Representation without @id")
            bw = _int(rep, "bandwidth")
            if bw is None or bw <= 0:
                raise MpdError(f"Representation {rid!r} without a positive @bandwidth")
            tpl = _template(next(iter(_children(rep, "SegmentTemplate")), None), aset_tpl)
            rctype = ctype or (rep.get("mimeType") or "").split("/")[0]
            props = _properties(aset) + _properties(rep)
            codecs = rep.get("codecs") or aset.get("codecs")
            reps.append(Representation(
                id=rid, bandwidth=bw, content_type=rctype, width=_int(rep, "width"),
                height=_int(rep, "height"), codecs=codecs,
                template=tpl, base_url=_base(rep, aset_base),
                hdr=(TRANSFER_SCHEME, "16") in props or (TRANSFER_SCHEME, "18") in props,
                atmos=(JOC_SCHEME, "JOC") in props or "ac-4.02.02" in (codecs or "").lower()))
    if not reps:
        raise MpdError("MPD without any Representation")
    return Mpd(
        type=root.get("type", "static"),
        availability_start=parse_datetime(root.get("availabilityStartTime")),
        publish_time=parse_datetime(root.get("publishTime")),
        minimum_update_period=parse_duration(root.get("minimumUpdatePeriod")),
        time_shift_buffer_depth=parse_duration(root.get("timeShiftBufferDepth")),
        period_start=parse_duration(period.get("start")) or 0.0,
        representations=reps,
    )


TRANSFER_SCHEME = "urn:mpeg:mpegb:cicp:transfercharacteristics"
JOC_SCHEME = "tag:dolby.com,2018:dash:ec3_extensiontype:2018"


def _properties(el: ET.Element) -> list[tuple[str, str]]:
    """(schemeIdUri lower-cased, value) of an element's Essential/SupplementalProperty."""
    found = _children(el, "EssentialProperty") + _children(el, "SupplementalProperty")
    return [((p.get("schemeIdUri") or "").lower(), (p.get("value") or "").strip()) for p in found]


def _base(el: ET.Element, inherited: str) -> str:
    found = _children(el, "BaseURL")
    if found and found[0].text:
        return urljoin(inherited, found[0].text.strip())
    return inherited


_VAR = re.compile(r"\$(RepresentationID|Number|Bandwidth|Time)(%0(\d+)d)?\$|\$\$")


def segment_url(rep: Representation, template: str, number: int | None, time: int | None) -> str:
    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        value = {"RepresentationID": rep.id, "Number": number, "Bandwidth": rep.bandwidth,
                 "Time": time}[m.group(1)]
        if m.group(3) and isinstance(value, int):
            return str(value).zfill(int(m.group(3)))
        return str(value)

    return urljoin(rep.base_url, _VAR.sub(sub, template))


@dataclass(frozen=True, slots=True)
class Edge:
    """The newest available segment of a representation."""

    number: int
    url: str
    duration_s: float
    #: Media time (s, from the period start) at which this segment ends.
    end_s: float


def live_edge(rep: Representation, mpd: Mpd, now: datetime) -> Edge | None:
    """The newest segment of ``rep``: the timeline's last entry, or for ``$Number$`` with a
    fixed duration the one that ended last before ``now``. None when it cannot be known."""
    tpl = rep.template
    if tpl is None:
        return None
    if tpl.timeline:
        last = tpl.timeline[-1]
        end = (last.start + last.duration - tpl.presentation_time_offset) / tpl.timescale
        return Edge(last.number, segment_url(rep, tpl.media, last.number, last.start),
                    last.duration / tpl.timescale, end)
    if mpd.availability_start is None or not tpl.duration:
        return None
    seg_s = tpl.duration / tpl.timescale
    elapsed = (now - mpd.availability_start).total_seconds() - mpd.period_start
    count = int(elapsed // seg_s)
    if count < 1:
        return None
    number = tpl.start_number + count - 1
    return Edge(number, segment_url(rep, tpl.media, number, (count - 1) * tpl.duration),
                seg_s, count * seg_s)
