from __future__ import annotations

from pathlib import Path

import m3u8
import pytest

from castwatch.packager_monitor.hls import IncrementalMediaParser, PlaylistError, parse_media
from castwatch.packager_monitor.master import is_master

from .playlists import media_text

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "hls-m3u8-project"
CORPUS_FILES = sorted(CORPUS.glob("*.m3u8"))
#: corpus playlists that violate RFC 8216 (§4.3.3.1: EXT-X-TARGETDURATION is REQUIRED; §4.3.2.1:
#: every segment URI follows an EXTINF with a decimal duration) and what we say about them
REFUSED = {
    "daterange_enddate_sctecmd_playlist.m3u8": "EXT-X-TARGETDURATION is missing",
    "daterange_in_part_playlist.m3u8": "EXT-X-TARGETDURATION is missing",
    "daterange_scte35_out_and_in_playlist.m3u8": "EXT-X-TARGETDURATION is missing",
    "daterange_simple_playlist.m3u8": "EXT-X-TARGETDURATION is missing",
    "gap_in_parts_playlist.m3u8": "EXT-X-TARGETDURATION is missing",
    "iptv_playlist_with_custom_tags.m3u8": "EXTINF duration is not a number",
    "iptv_playlist_with_early_extinf.m3u8": "EXT-X-TARGETDURATION is missing",
    "low_latency_with_preload_and_byteranges_playlist.m3u8": "EXT-X-TARGETDURATION is missing",
    "multiple_session_data_playlist.m3u8": "EXT-X-TARGETDURATION is missing",
    "session_data_playlist.m3u8": "EXT-X-TARGETDURATION is missing",
    "simple_playlist_messy.m3u8": "segment URI without EXTINF",
    "simple_playlist_title_comma.m3u8": "EXT-X-TARGETDURATION is missing",
    "simple_playlist_with_event_playlist_type.m3u8": "EXT-X-TARGETDURATION is missing",
    "simple_playlist_with_independent_segments.m3u8": "EXT-X-TARGETDURATION is missing",
    "simple_playlist_with_vod_playlist_type.m3u8": "EXT-X-TARGETDURATION is missing",
    "version_playlist.m3u8": "EXT-X-TARGETDURATION is missing",
}


def test_a_full_parse_reports_the_playlist_facts():
    p = parse_media(media_text(100, 5, dseq=3, disc_at=(102,), durations={104: 5.5}))
    assert (p.target_duration, p.media_sequence, p.discontinuity_sequence) == (6, 100, 3)
    assert [s.uri for s in p.segments] == [f"seg_{n}.ts" for n in range(100, 105)]
    assert [s.discontinuity for s in p.segments] == [False, False, True, False, False]
    assert p.last_sequence == 104 and p.duration == pytest.approx(29.5)
    assert p.is_live and not p.end_list


def test_the_incremental_parser_reads_only_new_segments_and_matches_a_full_parse():
    parser = IncrementalMediaParser()
    discs = tuple(range(0, 2000, 7))  # a segment keeps its discontinuity tag while it stays
    parser.parse(media_text(0, 1800, disc_at=discs))
    for first in range(1, 40):
        text = media_text(first, 1800, disc_at=discs)
        inc = parser.parse(text)
        full = parse_media(text)
        assert inc.incremental and inc.new_segments == 1
        assert inc.segments == full.segments
        assert inc.duration == pytest.approx(full.duration)
        assert (inc.media_sequence, inc.target_duration) == (full.media_sequence, full.target_duration)
    assert parser.full_parses == 1 and parser.incremental_parses == 39


def test_an_unchanged_playlist_has_no_new_segments():
    parser = IncrementalMediaParser()
    text = media_text(10, 6)
    parser.parse(text)
    again = parser.parse(text)
    assert again.new_segments == 0 and again.last_sequence == 15


def test_renumbered_or_restarted_playlists_fall_back_to_a_full_parse():
    parser = IncrementalMediaParser()
    parser.parse(media_text(10, 6))
    restarted = parser.parse(media_text(0, 6, prefix="new_"))
    assert not restarted.incremental and restarted.media_sequence == 0
    assert restarted.new_segments == 0  # the edge went backwards: nothing is "new"
    renumbered = parser.parse(media_text(3, 6, prefix="new_").replace("new_3.ts", "other.ts"))
    assert not renumbered.incremental
    assert renumbered.segments == parse_media(media_text(3, 6, prefix="new_").replace(
        "new_3.ts", "other.ts")).segments


def test_two_new_segments_and_an_endlist_are_read_incrementally():
    parser = IncrementalMediaParser()
    parser.parse(media_text(0, 6))
    p = parser.parse(media_text(2, 6, end=True))
    assert p.incremental and p.new_segments == 2 and p.end_list and not p.is_live


@pytest.mark.parametrize("text, message", [
    ("", "does not start with #EXTM3U"),
    ("#EXTM3U\n#EXTINF:6,\nseg.ts\n", "EXT-X-TARGETDURATION is missing"),
    ("#EXTM3U\n#EXT-X-TARGETDURATION:6\nseg.ts\n", "segment URI without EXTINF"),
    ("#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:abc,\nseg.ts\n", "EXTINF duration is not a number"),
    ("#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:x\n", "EXT-X-MEDIA-SEQUENCE"),
    ("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\na.m3u8\n", "master playlist"),
])
def test_invalid_playlists_raise_a_playlist_error_that_says_why(text, message):
    with pytest.raises(PlaylistError, match=message):
        parse_media(text)


@pytest.mark.parametrize("path", CORPUS_FILES, ids=[p.name for p in CORPUS_FILES])
def test_every_corpus_media_playlist_parses_and_matches_the_m3u8_library(path: Path):
    text = path.read_text(encoding="utf-8", errors="replace")
    if is_master(text):
        return  # master playlists: test_master.py
    try:
        ours = parse_media(text)
    except PlaylistError as exc:
        # refused playlists are exactly the ones that break a MUST of RFC 8216
        assert path.name in REFUSED, f"{path.name} refused: {exc}"
        assert REFUSED[path.name] in str(exc)
        return
    assert path.name not in REFUSED, f"{path.name} accepted but should be refused"
    try:
        theirs = m3u8.loads(text)
    except TypeError:  # the m3u8 library itself crashes on a few LL-HLS playlists
        assert len(ours.segments) == text.count("#EXTINF:")
        return
    full = [s for s in theirs.segments if s.uri is not None]  # m3u8 lists trailing LL-HLS parts
    assert [s.uri for s in ours.segments] == [s.uri for s in full]
    assert ours.target_duration == int(theirs.target_duration or 0) or theirs.target_duration is None
    assert ours.media_sequence == (theirs.media_sequence or 0)
    assert ours.end_list == bool(theirs.is_endlist)
    assert [s.duration for s in ours.segments] == pytest.approx([s.duration for s in full])
    assert [s.discontinuity for s in ours.segments] == [s.discontinuity for s in full]
    # EXT-X-MAP in effect per segment (a map with a BYTERANGE is not fetched: None)
    assert [s.init for s in ours.segments] == [
        s.init_section.uri if s.init_section is not None and not s.init_section.byterange else None
        for s in full]


def test_the_corpus_lives_in_the_repository_with_its_licence():
    # A user's clone must run every corpus test: an empty glob would parametrize to nothing.
    assert len(CORPUS_FILES) >= 90
    assert (CORPUS / "LICENSE-m3u8").read_text().startswith("m3u8 is licensed under the MIT License")


def _cmaf(first: int, count: int, maps: dict[int, str]) -> str:
    """A live fMP4 media playlist; ``maps``: sequence number -> EXT-X-MAP written before it."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-TARGETDURATION:2", f"#EXT-X-MEDIA-SEQUENCE:{first}"]
    current = max((n for n in maps if n <= first), default=None)
    for n in range(first, first + count):
        if n in maps or n == first and current is not None:
            lines.append(f'#EXT-X-MAP:URI="{maps[n if n in maps else current]}"')
        lines += ["#EXTINF:2.0,", f"seg_{n}.m4s"]
    return "\n".join(lines) + "\n"


def test_each_segment_carries_the_ext_x_map_in_effect_also_when_parsed_incrementally():
    maps = {0: "init_a.mp4", 8: "init_b.mp4"}  # the packager changed its init at segment 8
    parser = IncrementalMediaParser()
    parser.parse(_cmaf(0, 5, maps))
    for first in range(1, 12):
        text = _cmaf(first, 5, maps)
        inc, full = parser.parse(text), parse_media(text)
        assert inc.segments == full.segments, first
        assert [s.init for s in full.segments] == [
            "init_b.mp4" if n >= 8 else "init_a.mp4" for n in range(first, first + 5)]
    assert parser.incremental_parses >= 8  # the map in front of the window is read, not re-parsed
    ranged = parse_media('#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:URI="i.mp4",BYTERANGE="800@0"\n'
                         '#EXTINF:2,\na.m4s\n')
    assert ranged.segments[0].init is None
