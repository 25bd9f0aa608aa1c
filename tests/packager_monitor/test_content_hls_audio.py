"""Separate HLS audio renditions through the content layer: a demuxed ladder (video variants
without sound, audio in EXT-X-MEDIA TYPE=AUDIO renditions) made by the ffmpeg binary, served
over loopback HTTP and watched by the real probe loop against a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from castwatch.common.models import Alert, Channel, Template
from castwatch.packager_monitor.settings import ProbeSettings
from castwatch.simulators.origin.model import DEFAULT_LADDER, SimConfig
from castwatch.simulators.origin.server import SimulatorThread
from tests.support.egress import LOOPBACK

from .conftest import ProbeThread, wait_for
from .lavfi import AUDIO, VIDEO, ffmpeg_live, need_ffmpeg
from .live_hls import LiveHls, Rendition, audio_fmp4, audio_ts, packed_aac, video_only

pytestmark = pytest.mark.slow


@contextmanager
def _ffmpeg_live_ladder(out: Path) -> Iterator[str]:
    """ffmpeg's hls muxer writing a live demuxed ladder in real time: one video variant and two
    AAC audio renditions in one group (``-var_stream_map "v:0,agroup:aud a:0,agroup:aud
    a:1,agroup:aud"``): the first silent, the second a sine at about -23 LUFS."""
    out.mkdir()
    cmd = [need_ffmpeg(), "-v", "error", "-re",
           "-f", "lavfi", "-i", VIDEO["normal"].format(size="320x180"),
           "-f", "lavfi", "-i", AUDIO["silence"], "-f", "lavfi", "-i", AUDIO["normal"], "-t", "60",
           "-map", "0:v", "-map", "1:a", "-map", "2:a",
           "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p", "-b:v", "300k",
           "-c:a", "aac", "-ac", "2", "-b:a", "96k",
           "-f", "hls", "-hls_time", "1", "-hls_list_size", "6", "-master_pl_name", "master.m3u8",
           "-var_stream_map", "v:0,agroup:aud a:0,agroup:aud a:1,agroup:aud",
           "-hls_segment_filename", str(out / "seg_%v_%d.ts"), str(out / "media_%v.m3u8")]
    with ffmpeg_live(cmd, out, "master.m3u8") as (url, _):
        yield url


@contextmanager
def _probing(session_factory: sessionmaker[Session], url: str, code: str) -> Iterator[ProbeThread]:
    with session_factory() as s, s.begin():
        tpl = Template(name=f"demuxed-{code}", segment_duration_target=1.0,
                       segment_duration_tolerance=0.25, max_download_time_ms=5000, min_download_ratio=1.0)
        s.add(tpl)
        s.flush()
        s.add(Channel(code=code, name=code, protocol="HLS", input_url=url, template_id=tpl.id, tier=1))
    settings = ProbeSettings(egress=LOOPBACK, name=f"probe-{code}", lease_ttl_s=3, clear_hold_s=2,
                             master_interval_s=2, status_interval_s=1, timeout_s=5, content_workers=1,
                             content_queue=16, thumbnail_interval_s=1)
    with ProbeThread(settings, session_factory) as probe:
        yield probe


def _alert(session_factory: sessionmaker[Session], subject: str, alert_type: str) -> Alert | None:
    with session_factory() as s:
        return s.scalars(select(Alert).where(Alert.subject == subject,
                                             Alert.alert_type == alert_type)).first()


def _content(session_factory: sessionmaker[Session], code: str) -> dict[str, Any]:
    with session_factory() as s:
        check = s.scalar(select(Channel.last_check).where(Channel.code == code)) or {}
    return check.get("content", {})


def test_ffmpeg_demuxed_ladder_silence_opens_on_the_silent_audio_rendition_only(
        session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    with _ffmpeg_live_ladder(tmp_path / "hls") as url, _probing(session_factory, url, "CH_DMX"):
        alert = wait_for(lambda: _alert(session_factory, "CH_DMX/audio_audio_1", "AUDIO_SILENCE"), 40,
                         "AUDIO_SILENCE on the silent audio rendition")

        def sound() -> dict[str, Any] | None:
            decoded = _content(session_factory, "CH_DMX").get("decoded", {})
            track = decoded.get("audio_audio_2", {}).get("audio")
            return track[0] if track and track[0].get("short_term_lufs") is not None else None
        normal = wait_for(sound, 30, "short-term loudness of the normal audio rendition")
        content = _content(session_factory, "CH_DMX")
    assert alert.summary.startswith("CH_DMX audio_audio_1: audio track #0 below -60 dBFS for")
    assert _alert(session_factory, "CH_DMX/audio_audio_2", "AUDIO_SILENCE") is None
    assert _alert(session_factory, "CH_DMX/audio_audio_2", "LOUDNESS_OUT_OF_RANGE") is None
    assert normal["momentary_lufs"] == pytest.approx(-23, abs=2) and normal["silent_s"] == 0
    assert normal["true_peak_dbtp"] < -1
    # ffmpeg also lists each audio playlist as an audio-only variant: it is not the decoded video
    assert content["chosen"] == "180p" and content["sound"] == "audio_audio_1"
    assert content["decoded"]["180p"]["codec"] == "h264" and "audio" not in content["decoded"]["180p"]
    assert content["decoded"]["audio_audio_1"]["audio"][0]["silent_s"] >= 2


def test_fmp4_and_packed_audio_renditions_are_judged_and_broken_ones_do_not_stop_the_channel(
        session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    loud, init = audio_fmp4(tmp_path / "loud", "loud")
    live = LiveHls(master="\n".join([
        "#EXTM3U", "#EXT-X-VERSION:7",
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="loud",DEFAULT=YES,URI="loud/index.m3u8"',
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="quiet",URI="quiet/index.m3u8"',
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="gone",URI="gone/index.m3u8"',
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="junk",URI="junk/index.m3u8"',
        '#EXT-X-STREAM-INF:BANDWIDTH=300000,RESOLUTION=320x180,CODECS="avc1.42c00d,mp4a.40.2",AUDIO="aud"',
        "video/index.m3u8", ""]), renditions={
        "video": Rendition(video_only(tmp_path / "video", "black")),
        "loud": Rendition(loud, "m4s", init=init),
        "quiet": Rendition(packed_aac(tmp_path / "quiet", "silence"), "aac"),
        "gone": Rendition(audio_ts(tmp_path / "gone", "normal"), status=404),
        "junk": Rendition([], "aac", body=b"\xde\xad\xbe\xef" * 2048),
    })
    server, url = live.serve()
    try:
        with _probing(session_factory, url, "CH_ALT") as probe:
            silence = wait_for(lambda: _alert(session_factory, "CH_ALT/audio_quiet", "AUDIO_SILENCE"), 40,
                               "AUDIO_SILENCE on the packed audio rendition")
            loudness = wait_for(lambda: _alert(session_factory, "CH_ALT/audio_loud", "LOUDNESS_OUT_OF_RANGE"),
                                30, "LOUDNESS_OUT_OF_RANGE on the fMP4 audio rendition")
            gone = wait_for(lambda: _alert(session_factory, "CH_ALT/audio_gone", "SEGMENT_UNREACHABLE"), 30,
                            "SEGMENT_UNREACHABLE on the rendition whose segments answer 404")
            junk = wait_for(lambda: _content(session_factory, "CH_ALT").get("decoded", {})
                            .get("audio_junk", {}).get("decode_error"), 30, "the garbage's decode error")
            black = wait_for(lambda: _alert(session_factory, "CH_ALT/180p", "VIDEO_BLACK"), 30,
                             "VIDEO_BLACK: the video is analysed beside the broken audio")
            seen = len(live.requests)
            wait_for(lambda: sum(p == "/video/index.m3u8" for p in live.requests[seen:]) >= 2, 10,
                     "the video playlist still polled after the failures")
            content = _content(session_factory, "CH_ALT")
            gauge = probe.registry.get_sample_value("castwatch_probe_loudness_lufs",
                                                    {"channel": "CH_ALT", "kind": "momentary"})
    finally:
        server.shutdown()
        server.server_close()
    assert silence.summary.startswith("CH_ALT audio_quiet: audio track #0 below -60 dBFS")
    # the encoder's onset overshoot (first segment, +0.4 dBTP) or 10 s of -2 LUFS: either opens it
    assert loudness.summary.startswith(("CH_ALT audio_loud: true peak", "CH_ALT audio_loud: short-term"))
    assert gone.severity and black.severity == "critical"
    assert junk.startswith(("InvalidDataError", "no decodable")), junk
    # the channel's sound: no muxed audio, so the first separate rendition (by name) that decodes
    assert content["sound"] == "audio_loud" and gauge == pytest.approx(-2, abs=2)
    sound = content["decoded"]["audio_loud"]["audio"][0]
    assert sound["true_peak_dbtp"] > -2.5 and sound["momentary_lufs"] == pytest.approx(-2, abs=2)
    assert content["decoded"]["audio_quiet"]["audio"][0]["silent_s"] >= 2
    assert "audio_gone" not in content["decoded"]  # nothing downloaded, nothing decoded
    assert sum(p == "/loud/init.mp4" for p in live.requests) == 1  # EXT-X-MAP fetched once, cached
    for subject in ("CH_ALT/audio_junk", "CH_ALT/audio_gone", "CH_ALT/audio_loud"):
        assert _alert(session_factory, subject, "AUDIO_SILENCE") is None


def test_the_origin_simulator_s_separate_audio_renditions_are_judged_one_by_one(
        session_factory: sessionmaker[Session]) -> None:
    config = SimConfig(channels=1, segment_s=1.0, ladder=DEFAULT_LADDER[-1:], audio_languages=("en", "fr"),
                       real_media=True)
    with SimulatorThread(config) as sim:
        requests.post(f"{sim.base_url}/_sim/faults", json={"channel": "CH_SIM_001", "rendition": "audio_fr",
                                                           "fault": "silence"}, timeout=5).raise_for_status()
        with _probing(session_factory, sim.master_url("CH_SIM_001"), "CH_SIM_001"):
            alert = wait_for(lambda: _alert(session_factory, "CH_SIM_001/audio_fr", "AUDIO_SILENCE"), 40,
                             "AUDIO_SILENCE on the simulator's silent French audio")
            english = wait_for(lambda: _content(session_factory, "CH_SIM_001").get("decoded", {})
                               .get("audio_en", {}).get("audio"), 20, "the English audio decoded")
            requests.delete(f"{sim.base_url}/_sim/faults", params={"channel": "CH_SIM_001"},
                            timeout=5).raise_for_status()
            wait_for(lambda: (a := _alert(session_factory, "CH_SIM_001/audio_fr", "AUDIO_SILENCE"))
                     and a.resolved_at is not None, 40, "AUDIO_SILENCE resolved once the sound is back")
    assert alert.summary.startswith("CH_SIM_001 audio_fr: audio track #0 below -60 dBFS")
    assert english[0]["silent_s"] == 0 and english[0]["momentary_lufs"] == pytest.approx(-23, abs=2)
    assert _alert(session_factory, "CH_SIM_001/audio_en", "AUDIO_SILENCE") is None
