from __future__ import annotations

from pathlib import Path

import m3u8
import pytest

from castwatch.packager_monitor.hls import PlaylistError
from castwatch.packager_monitor.master import Badges, badges, is_master, parse_master

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "hls-m3u8-project"
MASTERS = [p for p in sorted(CORPUS.glob("*.m3u8")) if is_master(p.read_text(errors="replace"))]
#: RFC 8216 §4.3.4.2: BANDWIDTH is REQUIRED on every EXT-X-STREAM-INF
NO_BANDWIDTH = {"variant_playlist_with_hdcp_level.m3u8", "variant_playlist_with_iframe_hdcp_level.m3u8",
                "variant_playlist_with_iframe_video_range.m3u8", "variant_playlist_with_video_range.m3u8"}

UHD = """#EXTM3U
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="atmos",NAME="English Atmos",CHANNELS="16/JOC",URI="audio/atmos.m3u8"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="stereo",NAME="English",CHANNELS="2",URI="audio/stereo.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=16000000,RESOLUTION=3840x2160,CODECS="hvc1.2.4.L153,ec-3",VIDEO-RANGE=PQ,AUDIO="atmos"
2160p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=3000000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2",AUDIO="stereo"
720p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=2500000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2",AUDIO="stereo"
720p_low/index.m3u8
"""


def test_a_master_gives_named_absolute_renditions_and_the_4k_hdr_atmos_badges():
    m = parse_master(UHD, "https://origin.example/live/CH/master.m3u8")
    names = [v.name for v in m.renditions()]
    assert names == ["2160p", "720p", "720p_2500k", "audio_English_Atmos", "audio_English"]
    assert m.variants[0].uri == "https://origin.example/live/CH/2160p/index.m3u8"
    assert (m.variants[0].bandwidth, m.variants[0].video_range) == (16_000_000, "PQ")
    assert badges(m) == Badges(is_4k=True, is_hdr=True, is_atmos=True)


def test_a_plain_hd_ladder_has_no_badges():
    m = parse_master("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=3000000,RESOLUTION=1280x720\n720p.m3u8\n")
    b = badges(m)
    assert not (b.is_4k or b.is_hdr or b.is_atmos)


def test_a_media_playlist_or_an_empty_master_is_not_a_master():
    with pytest.raises(PlaylistError, match="media playlist"):
        parse_master("#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6,\na.ts\n")
    with pytest.raises(PlaylistError, match="without any"):
        parse_master("#EXTM3U\n")


@pytest.mark.parametrize("path", MASTERS, ids=[p.name for p in MASTERS])
def test_every_corpus_master_parses_like_the_m3u8_library(path: Path):
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.name in NO_BANDWIDTH:
        with pytest.raises(PlaylistError, match="BANDWIDTH"):
            parse_master(text, "http://x/")
        return
    ours = parse_master(text, "http://x/")
    theirs = m3u8.loads(text, uri="http://x/")
    assert [v.bandwidth for v in ours.variants] == [int(p.stream_info.bandwidth) for p in theirs.playlists]
    assert [v.uri for v in ours.variants] == [p.absolute_uri for p in theirs.playlists]
    assert [v.codecs for v in ours.variants] == [p.stream_info.codecs for p in theirs.playlists]
    assert len(ours.media) == len(theirs.media)


DEMUXED = """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="group_aud",NAME="audio_1",DEFAULT=YES,URI="media_1.m3u8"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="group_aud",NAME="audio_2",DEFAULT=YES,URI="media_2.m3u8"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="ac3",NAME="audio_2",URI="media_ac3.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=435600,RESOLUTION=320x180,CODECS="avc1.42c00d,mp4a.40.2",AUDIO="group_aud"
media_0.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=105600,CODECS="mp4a.40.2",AUDIO="group_aud"
media_1.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=105600,CODECS="mp4a.40.2",AUDIO="group_aud"
media_2.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=64000,CODECS="mp4a.40.5"
radio.m3u8
"""


def test_audio_only_variants_are_audio_renditions_not_rungs_of_the_video_ladder():
    # ffmpeg's hls muxer (-var_stream_map "v:0,agroup:aud a:0,agroup:aud a:1,agroup:aud") lists
    # each audio playlist both as an EXT-X-MEDIA rendition and as an audio-only variant
    m = parse_master(DEMUXED, "http://o/live/")
    kinds = {v.name: v.kind for v in m.renditions()}
    assert kinds == {"180p": "video", "audio_audio_1": "audio", "audio_audio_2": "audio",
                     "audio_64k": "audio", "audio_audio_2_": "audio"}
    assert [v.name for v in m.variants if v.kind == "video"] == ["180p"]
    assert m.renditions()[1].uri == "http://o/live/media_1.m3u8"
