"""Text of the simulated origin's master playlists, media playlists and MPDs."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from castwatch.simulators.origin.model import OriginModel, Rendition


def master(model: OriginModel, code: str) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-INDEPENDENT-SEGMENTS"]
    uhd = model.is_uhd(code)
    if uhd:  # muxed Dolby Atmos (E-AC-3 JOC) audio, described for the player's menu
        lines.append('#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="atmos",NAME="English Atmos",LANGUAGE="en",'
                     'DEFAULT=YES,CHANNELS="16/JOC"')
    audio = model.visible(code, "audio")
    for i, r in enumerate(audio):  # separate audio renditions: a demuxed ladder
        lang = r.spec.name.removeprefix("audio_")
        lines.append(f'#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="{lang}",LANGUAGE="{lang}",'
                     f'DEFAULT={"YES" if i == 0 else "NO"},AUTOSELECT=YES,CHANNELS="2",'
                     f'URI="{r.spec.name}/index.m3u8"')
    for r in model.visible(code):
        s = r.spec
        extra = f",VIDEO-RANGE={s.video_range}" if s.video_range else ""
        extra += ',AUDIO="aud"' if audio else (',AUDIO="atmos"' if uhd else "")
        lines.append(f"#EXT-X-STREAM-INF:BANDWIDTH={s.bandwidth},RESOLUTION={s.resolution},"
                     f'CODECS="{s.codecs}",FRAME-RATE=25.000{extra}')
        lines.append(f"{s.name}/index.m3u8")
    return "\n".join(lines) + "\n"


def media(model: OriginModel, code: str, r: Rendition) -> str:
    segs = model.window(r)
    target = max(math.ceil(model.config.segment_s), 1)
    first = segs[0].sequence if segs else model.edge(r) + r.shift
    out = [f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:{target}\n"
           f"#EXT-X-MEDIA-SEQUENCE:{first}\n#EXT-X-DISCONTINUITY-SEQUENCE:0\n"]
    for s in segs:
        if s.discontinuity:
            out.append("#EXT-X-DISCONTINUITY\n")
        out.append(f"#EXTINF:{s.duration:.3f},\nseg_{s.sequence}.ts\n")
    return "".join(out)


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def mpd(model: OriginModel, code: str, wall_now: datetime, mono_now: float) -> str:
    cfg = model.config
    ast = wall_now - timedelta(seconds=mono_now - model.t0)
    ms = int(cfg.segment_s * 1000)
    reps = []
    publish = model.t0
    for r in model.visible(code):
        segs = model.window(r)
        publish = max(publish, model.edge_time(r))
        start = segs[0].sequence if segs else 0
        first_t = segs[0].index * ms if segs else 0
        timeline = f'<S t="{first_t}" d="{ms}" r="{len(segs) - 1}"/>' if segs else ""
        s = r.spec
        reps.append(
            f'      <Representation id="{s.name}" bandwidth="{s.bandwidth}" width="{s.width}" '
            f'height="{s.height}" codecs="{s.codecs.split(",")[0]}">\n'
            f'        <SegmentTemplate timescale="1000" startNumber="{start}" '
            f'media="dash/$RepresentationID$/$Number$.m4s" '
            f'initialization="dash/$RepresentationID$/init.mp4">\n'
            f"          <SegmentTimeline>{timeline}</SegmentTimeline>\n"
            f"        </SegmentTemplate>\n      </Representation>")
    publish_wall = ast + timedelta(seconds=publish - model.t0)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="dynamic" '
        'profiles="urn:mpeg:dash:profile:isoff-live:2011" '
        f'availabilityStartTime="{_iso(ast)}" publishTime="{_iso(publish_wall)}" '
        f'minimumUpdatePeriod="PT{cfg.segment_s:g}S" minBufferTime="PT{2 * cfg.segment_s:g}S" '
        f'timeShiftBufferDepth="PT{cfg.window * cfg.segment_s:g}S">\n'
        '  <Period id="p0" start="PT0S">\n'
        '    <AdaptationSet contentType="video" mimeType="video/mp4" segmentAlignment="true">\n'
        + "\n".join(reps) + "\n    </AdaptationSet>\n  </Period>\n</MPD>\n"
    )
