"""Playlist rules as pure functions over sequences of parsed polls and times."""

from __future__ import annotations

from castwatch.packager_monitor.hls import IncrementalMediaParser, MediaPlaylist
from castwatch.packager_monitor.rules import base as t
from castwatch.packager_monitor.rules.fetch import reachability, validity
from castwatch.packager_monitor.rules.freshness import playlist_stale
from castwatch.packager_monitor.rules.sequence import sequence_verdicts
from castwatch.packager_monitor.rules.timing import duration_drift, target_exceeded, window_short

from .playlists import media_text


def polls(*texts: str) -> list[MediaPlaylist]:
    """Successive polls of one rendition through the incremental parser, as the probe does."""
    parser = IncrementalMediaParser()
    return [parser.parse(text) for text in texts]


def bad_types(verdicts) -> set[str]:
    return {v.alert_type for v in verdicts if v is not None and v.bad}


def test_a_playlist_is_stale_only_after_one_and_a_half_targets_without_a_new_segment():
    fresh = playlist_stale("CH_TV_HD_001", "720p", last_change_at=100.0, target_s=6, now=108.9)
    assert not fresh.bad
    stale = playlist_stale("CH_TV_HD_001", "720p", last_change_at=100.0, target_s=6, now=114.2)
    assert stale.bad and stale.alert_type == t.PLAYLIST_STALE
    assert stale.summary == "CH_TV_HD_001 720p: no new segment for 14.2 s (target 6 s)"
    ended = playlist_stale("CH", "720p", last_change_at=0, target_s=6, now=1000, ended=True)
    assert not ended.bad


def test_a_sliding_window_that_advances_normally_raises_nothing():
    seq = polls(*(media_text(first, 6) for first in range(10, 20)))
    for prev, cur in zip(seq, seq[1:], strict=False):
        assert bad_types(sequence_verdicts("CH", "720p", prev, cur)) == set()
        assert not window_short("CH", "720p", cur).bad
        assert not (target_exceeded("CH", "720p", cur) or t.ok("x", None)).bad


def test_skipped_sequence_numbers_are_a_gap():
    prev, cur = polls(media_text(10, 6), media_text(40, 6))
    verdicts = sequence_verdicts("CH", "720p", prev, cur)
    assert bad_types(verdicts) == {t.MEDIA_SEQUENCE_GAP}
    gap = next(v for v in verdicts if v.bad)
    assert "24 media sequence number(s) skipped after 15" in gap.summary


def test_a_known_segment_renumbered_upwards_is_a_gap_and_downwards_a_regression():
    prev, cur = polls(media_text(10, 6), media_text(10, 6).replace("SEQUENCE:10", "SEQUENCE:13"))
    assert bad_types(sequence_verdicts("CH", "720p", prev, cur)) == {t.MEDIA_SEQUENCE_GAP}
    prev, cur = polls(media_text(10, 6), media_text(10, 6).replace("SEQUENCE:10", "SEQUENCE:8"))
    assert bad_types(sequence_verdicts("CH", "720p", prev, cur)) == {t.MEDIA_SEQUENCE_REGRESSION}


def test_an_origin_restart_is_a_regression():
    prev, cur = polls(media_text(500, 6), media_text(0, 6, prefix="restart_"))
    verdicts = sequence_verdicts("CH", "720p", prev, cur)
    assert bad_types(verdicts) == {t.MEDIA_SEQUENCE_REGRESSION}
    assert "went back from 505 to 5" in next(v for v in verdicts if v.bad).summary


def test_a_discontinuity_leaving_the_window_must_bump_the_discontinuity_sequence():
    good = polls(media_text(10, 6, disc_at=(10,), dseq=4), media_text(11, 6, dseq=5))
    assert bad_types(sequence_verdicts("CH", "720p", *good)) == set()
    stuck = polls(media_text(10, 6, disc_at=(10,), dseq=4), media_text(11, 6, dseq=4))
    verdicts = sequence_verdicts("CH", "720p", *stuck)
    assert bad_types(verdicts) == {t.DISCONTINUITY_SEQUENCE_ERROR}
    assert "expected 5" in next(v for v in verdicts if v.bad).summary
    bumped_for_nothing = polls(media_text(10, 6, dseq=4), media_text(11, 6, dseq=5))
    assert bad_types(sequence_verdicts("CH", "720p", *bumped_for_nothing)) == {t.DISCONTINUITY_SEQUENCE_ERROR}


def test_only_new_segments_are_judged_against_the_target_duration():
    first, second, third = polls(media_text(0, 6, target=6), media_text(1, 6, target=6, durations={6: 7.2}),
                                 media_text(2, 6, target=6, durations={6: 7.2}))
    assert not target_exceeded("CH", "720p", first).bad
    over = target_exceeded("CH", "720p", second)
    assert over.bad and "7.2 s exceeds the target duration 6 s" in over.summary
    assert not target_exceeded("CH", "720p", third).bad  # the long one is no longer new
    unchanged = polls(media_text(0, 6), media_text(0, 6))[1]
    assert target_exceeded("CH", "720p", unchanged) is None  # no evidence either way


def test_an_extinf_of_6_4_still_rounds_to_a_target_of_6():
    _, cur = polls(media_text(0, 6), media_text(1, 6, durations={6: 6.4}))
    assert not target_exceeded("CH", "720p", cur).bad


def test_segments_outside_the_template_tolerance_drift_but_a_splice_before_a_discontinuity_does_not():
    _, cur = polls(media_text(0, 6), media_text(2, 6, durations={6: 4.0}))
    drift = duration_drift("CH", "720p", cur, expected_s=6.0, tolerance_s=0.5)
    assert drift is not None and drift.bad and "4.000 s outside 6 ± 0.5 s" in drift.summary
    _, spliced = polls(media_text(0, 6), media_text(2, 6, durations={6: 4.0}, disc_at=(7,)))
    assert not duration_drift("CH", "720p", spliced, 6.0, 0.5).bad


def test_a_live_window_shorter_than_three_targets_is_flagged_but_an_event_is_not():
    short = polls(media_text(0, 2))[0]
    assert window_short("CH", "720p", short).bad
    event = polls(media_text(0, 2, playlist_type="EVENT"))[0]
    assert not window_short("CH", "720p", event).bad


def test_fetch_failures_and_parse_errors_carry_the_status_or_the_message():
    down = reachability("CH", "720p", 503, None)
    assert down.bad and down.summary == "CH 720p: playlist unreachable (HTTP 503)"
    assert not reachability("CH", "720p", 304, None).bad
    assert reachability("CH", None, None, "timeout").summary == "CH: playlist unreachable (timeout)"
    invalid = validity("CH", "720p", "EXT-X-TARGETDURATION is missing")
    assert invalid.bad and invalid.alert_type == t.PLAYLIST_INVALID
    assert validity("CH", None, "not XML", t.MPD_INVALID).summary == "CH: MPD invalid: not XML"


def test_an_mpd_gets_its_minimum_update_period_as_grace_before_it_is_stale():
    late = dict(last_change_at=0.0, target_s=1.0, now=2.0, alert_type=t.MPD_STALE)
    assert playlist_stale("CH", "720p", **late).bad
    assert not playlist_stale("CH", "720p", grace_s=1.0, **late).bad
    assert playlist_stale("CH", "720p", **late).summary == "CH 720p: no new segment for 2 s (target 1 s)"
