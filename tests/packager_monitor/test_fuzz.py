"""Property tests: whatever an origin sends, the parsers and rules answer instead of crashing,
and the incremental parser always agrees with a full parse."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from castwatch.packager_monitor.dash import MpdError, parse_mpd
from castwatch.packager_monitor.hls import IncrementalMediaParser, MediaPlaylist, PlaylistError, parse_media
from castwatch.packager_monitor.master import badges, parse_master
from castwatch.packager_monitor.rules.sequence import sequence_verdicts
from castwatch.packager_monitor.rules.timing import duration_drift, target_exceeded, window_short
from castwatch.packager_monitor.segments import check_segment

from .playlists import media_text

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TAGS = ["#EXTM3U", "#EXT-X-TARGETDURATION:6", "#EXT-X-MEDIA-SEQUENCE:7", "#EXTINF:6.0,",
        "#EXT-X-DISCONTINUITY", "#EXT-X-ENDLIST", "#EXT-X-DISCONTINUITY-SEQUENCE:2", "seg.ts",
        "#EXT-X-STREAM-INF:BANDWIDTH=100", "#EXT-X-PART:DURATION=1,URI=\"p.ts\"", "", "#EXTINF:x,",
        "#EXT-X-TARGETDURATION:-1", "#EXT-X-MEDIA-SEQUENCE:99999999999999999999"]


def _parse_or_none(parse, text: str) -> MediaPlaylist | None:  # type: ignore[no-untyped-def]
    try:
        return parse(text)
    except PlaylistError:
        return None


@FAST
@given(st.text(max_size=400))
def test_arbitrary_text_never_crashes_the_playlist_parsers(text: str):
    _parse_or_none(parse_media, text)
    with contextlib.suppress(PlaylistError):
        badges(parse_master(text, "http://x/"))


@FAST
@given(st.lists(st.sampled_from(TAGS), max_size=30))
def test_tag_soup_never_crashes_the_media_parser(lines: list[str]):
    _parse_or_none(parse_media, "\n".join(lines))


@FAST
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_crash_the_segment_check_or_the_mpd_parser(data: bytes):
    for sample, uri in ((data, "x.ts"), (b"G" + data, "x"), (data[:4] + b"moof" + data[4:], "x.m4s")):
        verdict = check_segment(sample, uri)
        assert verdict is None or (isinstance(verdict, str) and verdict)
    with contextlib.suppress(MpdError):
        parse_mpd(data)


def _mutate(text: str, ops: list[tuple[int, int, str]]) -> str:
    lines = text.split("\n")
    for kind, pos, extra in ops:
        if not lines:
            break
        i = pos % len(lines)
        if kind == 0:
            del lines[i]
        elif kind == 1:
            lines.insert(i, lines[(i * 7) % len(lines)])
        elif kind == 2:
            lines[i] = lines[i] + extra
        else:
            lines.insert(i, extra)
    return "\n".join(lines)


MUTATIONS = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 10_000), st.sampled_from(TAGS + ["x"])),
                     max_size=4)


@FAST
@given(st.integers(0, 50), st.integers(1, 30), st.integers(0, 8), st.integers(1, 30), MUTATIONS)
def test_incremental_parsing_agrees_with_a_full_parse_and_rules_never_crash(
        first: int, count: int, advance: int, count2: int, ops: list[tuple[int, int, str]]):
    before = media_text(first, count, disc_at=(first + 2,))
    after = _mutate(media_text(first + advance, count2, disc_at=(first + 2, first + advance + 1)), ops)
    parser = IncrementalMediaParser()
    prev = _parse_or_none(parser.parse, before)
    inc = _parse_or_none(parser.parse, after)
    full = _parse_or_none(parse_media, after)
    assert (inc is None) == (full is None)
    if inc is None or full is None:
        return
    assert inc.segments == full.segments
    assert (inc.media_sequence, inc.discontinuity_sequence, inc.end_list) == (
        full.media_sequence, full.discontinuity_sequence, full.end_list)
    assert abs(inc.duration - full.duration) < 1e-6
    sequence_verdicts("CH", "720p", prev, inc)
    target_exceeded("CH", "720p", inc)
    duration_drift("CH", "720p", inc, 6.0, 0.5)
    window_short("CH", "720p", inc)
