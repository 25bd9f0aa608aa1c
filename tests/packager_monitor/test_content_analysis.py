"""The content layer's measurements on real ffmpeg-made segments, and the verdicts they feed."""

from __future__ import annotations

import subprocess

import pytest

from castwatch.packager_monitor.content.analyze import analyze_segment
from castwatch.packager_monitor.content.state import RenditionContent
from castwatch.packager_monitor.rules.content import ContentLimits
from tests.packager_monitor.lavfi import make_segment, need_ffmpeg


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
