"""The content layer's measurements on real ffmpeg-made segments, and the verdicts they feed."""

from __future__ import annotations

import subprocess

import pytest

from castwatch.packager_monitor.content.analyze import analyze_segment
from castwatch.packager_monitor.content.state import RenditionContent
from castwatch.packager_monitor.rules.content import ContentLimits
from tests.packager_monitor.lavfi import make_segment, need_ffmpeg
from tests.packager_monitor.live_hls import audio_fmp4, hls_files, packed_aac


@pytest.fixture(scope="module")
def segments(tmp_path_factory):
    d = tmp_path_factory.mktemp("lavfi")
    return {
        "normal": make_segment(d / "normal.ts"),
        "black": make_segment(d / "black.ts", video="black"),
        "frozen": make_segment(d / "frozen.ts", video="frozen"),
        "silence": make_segment(d / "silence.ts", audio="silence"),
        "loud": make_segment(d / "loud.ts", audio="loud", seconds=4.0),
    }


def bad(verdicts):
    return {v.alert_type for v in verdicts if v.bad}


def test_a_normal_segment_is_measured_and_raises_nothing(segments):
    res = analyze_segment(segments["normal"], 2.0, thumbnail=True)
    assert res.error is None
    v = res.video
    assert v is not None and (v.codec, v.width, v.height) == ("h264", 640, 360)
    assert v.fps == pytest.approx(25)
    assert sum(s for s, _, _ in v.frames) == pytest.approx(2.0, abs=0.1)
    assert not any(b for _, b, _ in v.frames)
    assert v.bitrate_bps and v.bitrate_bps > 10_000
    assert len(res.audio) == 1 and res.audio[0].channels == 2
    assert len(res.audio[0].powers) == 20  # 2 s of 100 ms sub-blocks (AAC priming may trim)
    assert res.thumbnail is not None and res.thumbnail[:2] == b"\xff\xd8"  # a JPEG
    state = RenditionContent("360p")
    assert bad(state.observe("CH", res, ContentLimits(), 1, 0.0)) == set()


def test_black_picture_is_black_not_frozen(segments):
    res = analyze_segment(segments["black"], 2.0)
    assert res.video is not None and all(b for _, b, _ in res.video.frames)
    assert res.video.mean_luma < 20
    state = RenditionContent("360p")
    verdicts = state.observe("CH", res, ContentLimits(), 7, 0.0)
    assert bad(verdicts) == {"VIDEO_BLACK"}
    black = next(v for v in verdicts if v.alert_type == "VIDEO_BLACK")
    assert black.summary.startswith("CH 360p: picture black for 2")


def test_a_still_picture_is_frozen_after_two_seconds_across_segments(segments):
    res = analyze_segment(segments["frozen"], 2.0)
    state = RenditionContent("360p")
    lim = ContentLimits(frozen_min_s=3.0)
    assert bad(state.observe("CH", res, lim, 1, 0.0)) == set()  # < 3 s so far
    assert bad(state.observe("CH", res, lim, 2, 2.0)) == {"VIDEO_FROZEN"}  # the run carried on
    fresh = RenditionContent("360p")
    fresh.observe("CH", res, lim, 1, 0.0)
    assert bad(fresh.observe("CH", res, lim, 5, 10.0)) == set()  # a gap restarts the run


def test_silence_is_per_audio_track_below_minus_60_dbfs(segments):
    res = analyze_segment(segments["silence"], 2.0)
    assert all(r < -60 for r in res.audio[0].rms_dbfs)
    verdicts = RenditionContent("360p").observe("CH", res, ContentLimits(), 1, 0.0)
    assert bad(verdicts) == {"AUDIO_SILENCE"}
    silence = next(v for v in verdicts if v.alert_type == "AUDIO_SILENCE")
    assert silence.details["tracks"] == {"1": pytest.approx(2.0, abs=0.15)}


def test_loud_audio_is_out_of_range_by_true_peak_at_once_and_short_term_after_10_s(segments):
    res = analyze_segment(segments["loud"], 4.0)
    a = res.audio[0]
    assert a.true_peak_dbtp > -1.0
    lim = ContentLimits(true_peak_max_dbtp=3.0)  # judge the short-term part alone
    state = RenditionContent("360p")
    seen = [bad(state.observe("CH", res, lim, seq, seq * 4.0)) for seq in range(1, 5)]
    assert seen[0] == set() and seen[1] == set()  # 4 s, 8 s of loud audio (3 s warm-up)
    assert "LOUDNESS_OUT_OF_RANGE" in seen[3]
    st = state.figures["audio"][0]["short_term_lufs"]
    assert st == pytest.approx(-2.0, abs=1.5)
    peak = RenditionContent("360p").observe("CH", res, ContentLimits(), 1, 0.0)
    assert "LOUDNESS_OUT_OF_RANGE" in bad(peak)


def test_the_meter_agrees_with_ffmpeg_ebur128_on_the_same_segment(segments, tmp_path):
    path = tmp_path / "normal.ts"
    path.write_bytes(segments["normal"])
    out = subprocess.run([need_ffmpeg(), "-hide_banner", "-nostats", "-i", str(path), "-vn",
                          "-af", "ebur128=peak=true", "-f", "null", "-"],
                         capture_output=True, text=True, timeout=60).stderr
    summary = out[out.rindex("Summary:"):]
    ffmpeg_i = float(summary.split("I:")[1].split("LUFS")[0])
    res = analyze_segment(segments["normal"], 2.0)
    state = RenditionContent("360p")
    state.observe("CH", res, ContentLimits(), 1, 0.0)
    ours = state.figures["audio"][0]["integrated_lufs"]
    assert ours == pytest.approx(ffmpeg_i, abs=0.5)
    assert ours == pytest.approx(-23.0, abs=1.0)


def test_garbage_is_an_error_not_an_exception():
    res = analyze_segment(b"G" + b"\x00" * 5000, 2.0)
    assert res.error is not None and res.video is None


# -- a freeze is timed from the first frame of the still picture, also across segment boundaries

_H264 = ["-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p", "-an"]


def _moving_then_still(tmp_path, moving_s: float, still: str = "smptebars=size=320x180:rate=25",
                       first_still_s: float = 0.0):
    """One continuous 25 fps stream cut by ffmpeg's hls muxer into 2 s segments (0-2 s, 2-4 s,
    4-6 s): ``first_still_s`` of SMPTE bars (a still picture; none when 0), then a moving test
    pattern for ``moving_s``, then the still picture ``still`` to the end."""
    parts, labels = [], []
    if first_still_s:
        parts.append(f"smptebars=size=320x180:rate=25:d={first_still_s}[p]")
        labels.append("[p]")
    if moving_s:
        parts.append(f"testsrc2=size=320x180:rate=25:d={moving_s}[m]")
        labels.append("[m]")
    parts.append(f"{still}:d=8[s]")
    labels.append("[s]")
    graph = ";".join(parts) + f";{''.join(labels)}concat=n={len(labels)}:v=1:a=0[out0]"
    segments, _ = hls_files(tmp_path / "freeze", [graph], _H264, 6, segment_s=2)
    assert len(segments) == 3
    return segments


def _frozen_runs(segments):
    """The VIDEO_FROZEN run after each segment, analysed in order as contiguous segments."""
    state = RenditionContent("180p")
    runs = []
    for seq, data in enumerate(segments):
        state.observe("CH", analyze_segment(data, 2.0), ContentLimits(), seq, seq * 2.0)
        runs.append(round(state.frozen.current, 3))
    return runs


@pytest.mark.parametrize(("moving_s", "expected"), [
    (2.0, [0.0, 2.0, 4.0]),    # the still picture's first frame is the first frame of segment 2
    (1.96, [0.0, 2.04, 4.04]),  # ... the last frame of segment 1 (known once segment 2 shows it)
    (1.04, [0.96, 2.96, 4.96]),  # ... frame 26 of segment 1: mid-segment, exact too
])
def test_a_freeze_is_timed_from_its_first_frame_exactly_at_and_around_a_segment_boundary(
        tmp_path, moving_s, expected):
    # ffmpeg's freezedetect reports freeze_start at the still picture's first frame: same here
    assert _frozen_runs(_moving_then_still(tmp_path, moving_s)) == expected


def test_a_cut_from_one_still_picture_to_another_at_a_segment_boundary_restarts_the_run(tmp_path):
    # 2 s of bars, then (exactly at the boundary) another still picture: two freezes, not one
    segments = _moving_then_still(tmp_path, 0, still="color=c=blue:size=320x180:rate=25", first_still_s=2.0)
    assert _frozen_runs(segments) == [2.0, 2.0, 4.0]


def test_a_freeze_run_starts_afresh_after_a_gap(tmp_path):
    segments = _moving_then_still(tmp_path, 2.0)
    state = RenditionContent("180p")
    state.observe("CH", analyze_segment(segments[1], 2.0), ContentLimits(), 1, 2.0)
    assert round(state.frozen.current, 3) == 2.0  # no predecessor: the first frame starts it
    state.observe("CH", analyze_segment(segments[0], 2.0), ContentLimits(), 7, 20.0)
    assert state.frozen.current == 0.0


# -- separate audio renditions: fMP4 behind its initialization section, packed audio (ADTS + ID3)

def test_an_fmp4_audio_segment_decodes_behind_its_init_and_not_without_it(tmp_path):
    segments, init = audio_fmp4(tmp_path / "a", "loud")
    res = analyze_segment(init + segments[1], 1.0)
    assert res.error is None and res.video is None
    (track,) = res.audio
    assert (track.codec, track.rate, track.channels) == ("aac", 48000, 2)
    assert min(track.rms_dbfs) > -6  # the sine near full scale
    bare = analyze_segment(segments[1], 1.0)
    assert bare.error is not None and not bare.audio


def test_packed_audio_adts_behind_an_id3_timestamp_decodes_and_shows_silence(tmp_path):
    silent = packed_aac(tmp_path / "s", "silence")
    normal = packed_aac(tmp_path / "n", "normal")
    assert silent[0][:3] == b"ID3" and b"transportStreamTimestamp" in silent[0][:80]
    res = analyze_segment(silent[1], 1.0)
    assert res.error is None and res.audio[0].codec == "aac"
    assert all(r < -60 for r in res.audio[0].rms_dbfs)
    state = RenditionContent("audio_en")
    for seq, data in enumerate(silent[:3]):
        verdicts = state.observe("CH", analyze_segment(data, 1.0), ContentLimits(), seq, float(seq))
    assert bad(verdicts) == {"AUDIO_SILENCE"}
    loud_enough = analyze_segment(normal[1], 1.0).audio[0]
    assert min(loud_enough.rms_dbfs) > -30


def test_bytes_that_are_no_media_give_a_short_error(tmp_path):
    res = analyze_segment(b"\xde\xad\xbe\xef" * 2048, 1.0)
    assert res.error is not None and len(res.error) < 160 and not res.audio and res.video is None
