"""HLS media playlists: a full parser and an incremental one that only reads what is new.

A live media playlist changes by sliding: segments leave at the head and arrive at the tail,
and RFC 8216 §6.2.2 forbids changing a segment that stays. So after the first full parse,
:class:`IncrementalMediaParser` reads the header, checks that the segments it already knows
are still there byte for byte (the media sequence says which left; the text from the first
EXTINF to the last known URI must equal the same span of the previous version, with the
right count of EXTINF tags) and parses only the text after the last known segment. Header
tags or anything odd outside that span fall back to a full parse, so the result is always
what a full parse would give (a property test holds it to that).

``EXT-X-MAP`` (RFC 8216 §4.3.2.5): each segment carries the URI of the media initialization
section in effect for it (``Segment.init``, as written; None when there is none). A map with a
BYTERANGE is not fetched (``init`` stays None): whole-resource maps are what packagers write.

Contract: ``parse_media`` / ``IncrementalMediaParser.parse`` return a :class:`MediaPlaylist`
or raise :class:`PlaylistError` (never anything else) for any input text.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class PlaylistError(ValueError):
    """The text is not a usable HLS playlist; the message says why (for PLAYLIST_INVALID)."""


@dataclass(frozen=True, slots=True)
class Segment:
    uri: str
    duration: float
    #: An EXT-X-DISCONTINUITY tag precedes this segment.
    discontinuity: bool = False
    #: URI of the EXT-X-MAP in effect (fMP4/CMAF initialization section), as written.
    init: str | None = None


@dataclass(slots=True)
class MediaPlaylist:
    target_duration: int
    media_sequence: int
    discontinuity_sequence: int
    segments: list[Segment]
    end_list: bool = False
    playlist_type: str | None = None
    version: int | None = None
    #: Sum of the EXTINF durations of ``segments``.
    duration: float = 0.0
    #: Segments after the previous parse's last one (all of them on a first/full parse).
    new_segments: int = 0
    #: The text was parsed incrementally (only the new tail was read).
    incremental: bool = False
    part_count: int = 0
    #: Header tags (EXT-X-MEDIA-SEQUENCE…) or EXT-X-ENDLIST appear between segments: legal
    #: but odd; such a playlist is always parsed in full.
    late_header: bool = False

    @property
    def last_sequence(self) -> int:
        """Media sequence number of the newest segment (``media_sequence - 1`` when empty)."""
        return self.media_sequence + len(self.segments) - 1

    @property
    def is_live(self) -> bool:
        return not self.end_list and self.playlist_type != "VOD"


def _int_value(tag: str, value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise PlaylistError(f"{tag} is not an integer: {value.strip()[:40]!r}") from None


def _extinf_duration(value: str) -> float:
    raw = value.split(",", 1)[0].strip()
    try:
        duration = float(raw)
    except ValueError:
        raise PlaylistError(f"EXTINF duration is not a number: {raw[:40]!r}") from None
    if duration != duration or duration < 0 or duration == float("inf"):
        raise PlaylistError(f"EXTINF duration is not a finite positive number: {raw[:40]!r}")
    return duration


def _check_signature(text: str) -> str:
    body = text.lstrip("\ufeff \t\r\n")
    if not body.startswith("#EXTM3U"):
        raise PlaylistError("does not start with #EXTM3U")
    return body


@dataclass(slots=True)
class _Header:
    target_duration: int | None = None
    media_sequence: int = 0
    discontinuity_sequence: int = 0
    playlist_type: str | None = None
    version: int | None = None


def _header_tag(h: _Header, line: str) -> bool:
    """Apply one header tag; False when the line is not a header tag."""
    if line.startswith("#EXT-X-TARGETDURATION:"):
        value = line[22:].strip()
        try:
            h.target_duration = int(value)
        except ValueError:
            try:  # tolerated: some packagers write "6.0"; rounded up like a player would
                as_float = float(value)
            except ValueError:
                raise PlaylistError(f"EXT-X-TARGETDURATION is not a number: {value[:40]!r}") from None
            if not as_float >= 0 or as_float == float("inf"):
                raise PlaylistError(f"EXT-X-TARGETDURATION out of range: {value[:40]!r}") from None
            h.target_duration = int(-(-as_float // 1))
    elif line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
        h.media_sequence = _int_value("EXT-X-MEDIA-SEQUENCE", line[22:])
    elif line.startswith("#EXT-X-DISCONTINUITY-SEQUENCE:"):
        h.discontinuity_sequence = _int_value("EXT-X-DISCONTINUITY-SEQUENCE", line[30:])
    elif line.startswith("#EXT-X-PLAYLIST-TYPE:"):
        h.playlist_type = line[21:].strip().upper() or None
    elif line.startswith("#EXT-X-VERSION:"):
        h.version = _int_value("EXT-X-VERSION", line[15:])
    else:
        return False
    return True


@dataclass(slots=True)
class _Body:
    segments: list[Segment] = field(default_factory=list)
    end_list: bool = False
    part_count: int = 0
    duration: float = 0.0
    late_header: bool = False
    #: the EXT-X-MAP in effect for the next segment
    init: str | None = None


_HEADER_TAGS = ("#EXT-X-TARGETDURATION:", "#EXT-X-MEDIA-SEQUENCE:", "#EXT-X-DISCONTINUITY-SEQUENCE:",
                "#EXT-X-PLAYLIST-TYPE:", "#EXT-X-VERSION:", "#EXT-X-SKIP", "#EXT-X-STREAM-INF")


class _Fallback(Exception):
    """The incremental path met something only a full parse judges correctly."""


def _map_uri(value: str) -> str | None:
    """The URI of an EXT-X-MAP attribute list; None without one or with a BYTERANGE."""
    if "BYTERANGE" in value:
        return None
    start = value.find('URI="')
    end = value.find('"', start + 5) if start >= 0 else -1
    return value[start + 5:end] or None if end > start else None


def _parse_lines(lines: list[str], header: _Header | None, body: _Body) -> None:
    """Parse segment lines into ``body`` and header tags into ``header``; with ``header``
    None (the incremental tail) a header tag raises :class:`_Fallback`."""
    pending: float | None = None
    disc = False
    append = body.segments.append
    total = 0.0
    init = body.init
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if line[0] != "#":
            if pending is None:
                raise PlaylistError(f"segment URI without EXTINF: {line[:80]!r}")
            append(Segment(line, pending, disc, init))
            total += pending
            pending, disc = None, False
        elif line.startswith("#EXTINF:"):
            pending = _extinf_duration(line[8:])
        elif line == "#EXT-X-DISCONTINUITY":
            disc = True
        elif line.startswith("#EXT-X-MAP:"):
            init = _map_uri(line[11:])
        elif line == "#EXT-X-ENDLIST":
            body.end_list = True
        elif line.startswith("#EXT-X-PART:"):
            body.part_count += 1
        elif header is None:
            if line.startswith(_HEADER_TAGS):
                raise _Fallback(line)
        elif line.startswith("#EXT-X-STREAM-INF"):
            raise PlaylistError("a master playlist where a media playlist was expected")
        elif _header_tag(header, line) and body.segments:
            body.late_header = True
    body.duration += total
    body.init = init


def _build(header: _Header, body: _Body, new_segments: int, incremental: bool) -> MediaPlaylist:
    if header.target_duration is None:
        raise PlaylistError("EXT-X-TARGETDURATION is missing")
    return MediaPlaylist(
        target_duration=header.target_duration, media_sequence=header.media_sequence,
        discontinuity_sequence=header.discontinuity_sequence, segments=body.segments,
        end_list=body.end_list, playlist_type=header.playlist_type, version=header.version,
        duration=body.duration, new_segments=new_segments, incremental=incremental,
        part_count=body.part_count, late_header=body.late_header or body.end_list,
    )


def parse_media(text: str) -> MediaPlaylist:
    """Parse a whole media playlist."""
    body_text = _check_signature(text)
    header, body = _Header(), _Body()
    _parse_lines(body_text.splitlines()[1:], header, body)
    return _build(header, body, len(body.segments), incremental=False)


def _uri_line_at(text: str, uri: str, start: int) -> int:
    """Index just after the last whole line equal to ``uri`` at or after ``start``; -1 if none."""
    pos = text.rfind(uri, start)
    while pos >= 0:
        end = pos + len(uri)
        before_ok = pos > 0 and text[pos - 1] == "\n"
        after_ok = end == len(text) or text[end] in "\r\n"
        if before_ok and after_ok:
            return end
        pos = text.rfind(uri, start, pos)
    return -1


class IncrementalMediaParser:
    """Parses successive versions of one live media playlist, reading only what is new.

    Not thread-safe; one instance per polled rendition. ``reset()`` forgets the history.
    """

    __slots__ = ("_last", "_last_text", "full_parses", "incremental_parses")

    def __init__(self) -> None:
        self._last: MediaPlaylist | None = None
        self._last_text: str | None = None
        self.full_parses = 0
        self.incremental_parses = 0

    def reset(self) -> None:
        self._last, self._last_text = None, None

    def parse(self, text: str) -> MediaPlaylist:
        prev = self._last
        if prev is not None and text == self._last_text:
            same = MediaPlaylist(
                prev.target_duration, prev.media_sequence, prev.discontinuity_sequence,
                prev.segments, prev.end_list, prev.playlist_type, prev.version, prev.duration,
                0, True, prev.part_count,
            )
            self._last = same
            return same
        result = None
        if prev is not None and prev.segments and not prev.late_header:
            try:
                result = self._incremental(text, prev)
            except _Fallback:
                result = None
        if result is None:
            result = parse_media(text)
            self.full_parses += 1
            if prev is not None:
                result.new_segments = max(0, min(len(result.segments),
                                                 result.last_sequence - prev.last_sequence))
        else:
            self.incremental_parses += 1
        self._last, self._last_text = result, text
        return result

    def _incremental(self, text: str, prev: MediaPlaylist) -> MediaPlaylist | None:
        first_inf = text.find("#EXTINF:")
        if first_inf < 0 or "#EXT-X-STREAM-INF" in text[:first_inf]:
            return None
        header = _Header()
        head_text = _check_signature(text[:first_inf])
        first_disc = False
        head_map: str | None = None
        for line in head_text.splitlines()[1:]:
            line = line.strip()
            if line.startswith("#EXT-X-SKIP") or line.startswith("#EXT-X-PART"):
                return None
            if line and line[0] != "#":
                return None  # a URI before the first EXTINF: let the full parser say why
            if line == "#EXT-X-DISCONTINUITY":
                first_disc = True
            elif line.startswith("#EXT-X-MAP:"):
                head_map = _map_uri(line[11:])
            elif line == "#EXT-X-ENDLIST":
                return None
            _header_tag(header, line)
        drop = header.media_sequence - prev.media_sequence
        known = prev.segments
        if drop < 0 or drop >= len(known) or known[drop].discontinuity != first_disc:
            return None
        if known[drop].init != head_map:
            return None  # the map in front of the window moved: let the full parse place it
        anchor = _uri_line_at(text, known[-1].uri, first_inf)
        if anchor < 0 or text.count("#EXTINF:", first_inf, anchor) != len(known) - drop:
            return None
        # the known segments must be byte for byte what the previous version said (§6.2.2)
        last_text = self._last_text or ""
        prev_end = _uri_line_at(last_text, known[-1].uri, 0)
        span = anchor - first_inf
        if prev_end < span or last_text[prev_end - span:prev_end] != text[first_inf:anchor]:
            return None
        body = _Body(init=known[-1].init)
        _parse_lines(text[anchor:].splitlines(), None, body)
        dropped_duration = sum(s.duration for s in known[:drop]) if drop else 0.0
        body.duration += prev.duration - dropped_duration
        new_count = len(body.segments)
        body.segments = known[drop:] + body.segments if drop else known + body.segments
        return _build(header, body, new_count, incremental=True)
