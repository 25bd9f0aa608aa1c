"""The simulated origin over real HTTP: content, conditional requests, the faults API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from castwatch.packager_monitor.dash import parse_mpd
from castwatch.packager_monitor.hls import parse_media
from castwatch.packager_monitor.master import parse_master
from castwatch.packager_monitor.segments import check_segment
from castwatch.simulators.origin.model import SimConfig
from castwatch.simulators.origin.server import OriginSimulator, SimulatorThread


@pytest.fixture(scope="module")
def sim() -> Iterator[OriginSimulator]:
    with SimulatorThread(SimConfig(channels=2, segment_s=1.0)) as sim:
        yield sim


def test_it_serves_a_full_hls_ladder_with_valid_ts_segments(sim):
    master = parse_master(requests.get(sim.master_url("CH_SIM_001"), timeout=5).text,
                          sim.master_url("CH_SIM_001"))
    assert [v.name for v in master.variants] == ["1080p", "720p", "480p", "360p"]
    media = parse_media(requests.get(master.variants[1].uri, timeout=5).text)
    assert media.target_duration == 1 and len(media.segments) == 6
    seg = requests.get(master.variants[1].uri.replace("index.m3u8", media.segments[-1].uri), timeout=5)
    assert seg.status_code == 200 and check_segment(seg.content, "x.ts") is None
    assert requests.get(master.variants[1].uri.replace("index.m3u8", "seg_999999.ts"),
                        timeout=5).status_code == 404


def test_media_playlists_support_etag_and_answer_304_when_unchanged(sim):
    url = f"{sim.base_url}/live/CH_SIM_001/720p/index.m3u8"
    first = requests.get(url, timeout=5)
    assert first.headers["ETag"] and first.headers["Last-Modified"]
    again = requests.get(url, headers={"If-None-Match": first.headers["ETag"]}, timeout=5)
    assert again.status_code in (200, 304)  # 200 only if a segment was published in between
    if again.status_code == 200:
        assert again.headers["ETag"] != first.headers["ETag"]


def test_it_serves_a_dash_mpd_with_fmp4_segments(sim):
    mpd = parse_mpd(requests.get(sim.mpd_url("CH_SIM_002"), timeout=5).content, sim.mpd_url("CH_SIM_002"))
    rep = mpd.representations[0]
    assert mpd.type == "dynamic" and rep.template is not None and len(rep.template.timeline) == 6
    last = rep.template.timeline[-1].number
    seg = requests.get(f"{sim.base_url}/live/CH_SIM_002/dash/{rep.id}/{last}.m4s", timeout=5)
    init = requests.get(f"{sim.base_url}/live/CH_SIM_002/dash/{rep.id}/init.mp4", timeout=5)
    assert check_segment(seg.content, "x.m4s") is None and check_segment(init.content, "i.mp4") is None


def test_faults_are_set_listed_and_cleared_over_http(sim):
    api = f"{sim.base_url}/_sim/faults"
    r = requests.post(api, json={"channel": "CH_SIM_002", "rendition": "720p", "fault": "segment_status",
                                 "value": 500}, timeout=5)
    assert r.status_code == 200
    assert r.json()["active"] == [{"channel": "CH_SIM_002", "rendition": "720p",
                                   "faults": {"segment_status": 500}}]
    media = parse_media(requests.get(f"{sim.base_url}/live/CH_SIM_002/720p/index.m3u8", timeout=5).text)
    seg = requests.get(f"{sim.base_url}/live/CH_SIM_002/720p/{media.segments[-1].uri}", timeout=5)
    assert seg.status_code == 500
    assert "stall" in requests.get(api, timeout=5).json()["catalogue"]
    bad = requests.post(api, json={"channel": "CH_SIM_002", "fault": "explode"}, timeout=5)
    assert bad.status_code == 400 and "unknown fault" in bad.json()["error"]
    assert requests.delete(api, params={"channel": "CH_SIM_002"}, timeout=5).json()["active"] == []
    assert requests.get(f"{sim.base_url}/live/CH_SIM_002/720p/{media.segments[-1].uri}",
                        timeout=5).status_code == 200


def test_separate_audio_renditions_make_a_demuxed_ladder_with_real_sound(tmp_path):
    from castwatch.packager_monitor.content.analyze import analyze_segment
    from castwatch.simulators.origin.model import DEFAULT_LADDER

    config = SimConfig(channels=1, segment_s=1.0, ladder=DEFAULT_LADDER[-1:], audio_languages=("en", "fr"),
                       real_media=True)
    with SimulatorThread(config) as sim:
        url = sim.master_url("CH_SIM_001")
        text = requests.get(url, timeout=5).text
        assert text.count("#EXT-X-MEDIA:TYPE=AUDIO") == 2 and 'AUDIO="aud"' in text
        master = parse_master(text, url)
        assert [(v.name, v.kind) for v in master.renditions()] == [
            ("360p", "video"), ("audio_en", "audio"), ("audio_fr", "audio")]
        requests.post(f"{sim.base_url}/_sim/faults", json={"channel": "CH_SIM_001", "rendition": "audio_fr",
                                                           "fault": "silence"}, timeout=5)
        media = {}
        for v in master.renditions():
            playlist = parse_media(requests.get(v.uri, timeout=5).text)
            seg = requests.get(v.uri.replace("index.m3u8", playlist.segments[-1].uri), timeout=30)
            assert seg.status_code == 200 and check_segment(seg.content, "x.ts") is None
            media[v.name] = analyze_segment(seg.content, 1.0)
    assert media["360p"].video is not None and media["360p"].audio == ()  # demuxed: no sound here
    assert media["audio_en"].video is None and min(media["audio_en"].audio[0].rms_dbfs) > -30
    assert media["audio_fr"].video is None and max(media["audio_fr"].audio[0].rms_dbfs) < -60
