from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from castwatch.packager_monitor.dash import MpdError, live_edge, parse_duration, parse_mpd

TIMELINE = """<?xml version="1.0"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="dynamic" availabilityStartTime="2026-01-01T00:00:00Z"
     publishTime="2026-01-01T00:01:00Z" minimumUpdatePeriod="PT2S" timeShiftBufferDepth="PT1M">
  <BaseURL>https://cdn.example/live/CH/</BaseURL>
  <Period id="1" start="PT0S">
    <AdaptationSet contentType="video" mimeType="video/mp4">
      <SegmentTemplate timescale="90000" media="v/$RepresentationID$/$Number%05d$.m4s"
                       initialization="v/$RepresentationID$/init.mp4" startNumber="10">
        <SegmentTimeline><S t="900000" d="180000" r="2"/><S d="90000"/></SegmentTimeline>
      </SegmentTemplate>
      <Representation id="v720" bandwidth="3000000" width="1280" height="720" codecs="avc1.64001f"/>
      <Representation id="v360" bandwidth="800000" width="640" height="360" codecs="avc1.4d401e"/>
    </AdaptationSet>
    <AdaptationSet contentType="audio" mimeType="audio/mp4">
      <Representation id="a1" bandwidth="128000" codecs="mp4a.40.2">
        <SegmentTemplate timescale="48000" duration="96000" media="a/$Number$.m4s" startNumber="1"/>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>"""


def test_an_mpd_with_a_segment_timeline_gives_each_representation_its_live_edge():
    mpd = parse_mpd(TIMELINE, "https://origin.example/manifest.mpd")
    assert mpd.type == "dynamic" and mpd.minimum_update_period == 2.0
    assert [r.name for r in mpd.representations] == ["720p", "360p", "audio_a1"]
    edge = live_edge(mpd.representations[0], mpd, datetime.now(UTC))
    assert edge is not None
    assert (edge.number, edge.duration_s, edge.end_s) == (13, 1.0, 17.0)
    assert edge.url == "https://cdn.example/live/CH/v/v720/00013.m4s"


def test_a_number_template_without_timeline_computes_the_edge_from_the_clock():
    mpd = parse_mpd(TIMELINE)
    audio = mpd.representations[2]
    now = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=11)
    edge = live_edge(audio, mpd, now)
    assert edge is not None and edge.number == 5 and edge.duration_s == 2.0  # 5 whole 2 s segments


@pytest.mark.parametrize("text, message", [
    ("<MPD", "not well-formed"),
    ("<html/>", "root element"),
    ('<MPD xmlns="urn:mpeg:dash:schema:mpd:2011"/>', "without a Period"),
    ('<MPD><Period><AdaptationSet><Representation bandwidth="1"/></AdaptationSet></Period></MPD>',
     "without @id"),
    ('<MPD><Period><AdaptationSet><SegmentTemplate media="x"/><Representation id="a" bandwidth="1"/>'
     "</AdaptationSet></Period></MPD>", "neither @duration nor SegmentTimeline"),
    ('<MPD minimumUpdatePeriod="2 seconds"><Period/></MPD>', "without any Representation"),
])
def test_broken_mpds_raise_an_mpd_error_that_says_why(text, message):
    with pytest.raises(MpdError, match=message):
        parse_mpd(text)


def test_iso_durations_parse_to_seconds():
    assert parse_duration("PT1M30.5S") == 90.5
    assert parse_duration("P1DT1H") == 90000
    with pytest.raises(MpdError):
        parse_duration("PT")


UHD_HDR_ATMOS = """<?xml version="1.0"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="dynamic" availabilityStartTime="2026-01-01T00:00:00Z">
  <Period id="1" start="PT0S">
    <AdaptationSet contentType="video" mimeType="video/mp4">
      <EssentialProperty schemeIdUri="urn:mpeg:mpegB:cicp:TransferCharacteristics" value="16"/>
      <SegmentTemplate timescale="1" duration="2" media="v/$RepresentationID$/$Number$.m4s"/>
      <Representation id="v2160" bandwidth="16000000" width="3840" height="2160" codecs="hvc1.2.4.L153"/>
    </AdaptationSet>
    <AdaptationSet contentType="audio" mimeType="audio/mp4">
      <SupplementalProperty schemeIdUri="tag:dolby.com,2018:dash:EC3_ExtensionType:2018" value="JOC"/>
      <SegmentTemplate timescale="1" duration="2" media="a/$Number$.m4s"/>
      <Representation id="atmos" bandwidth="768000" codecs="ec-3"/>
    </AdaptationSet>
  </Period>
</MPD>"""


def test_hdr_and_atmos_are_read_from_the_mpd_properties():
    mpd = parse_mpd(UHD_HDR_ATMOS, "https://origin.example/manifest.mpd")
    video, audio = mpd.representations
    assert (video.hdr, video.atmos) == (True, False)
    assert (audio.hdr, audio.atmos) == (False, True)
    plain = parse_mpd(TIMELINE, "https://origin.example/manifest.mpd")
    assert not any(r.hdr or r.atmos for r in plain.representations)
