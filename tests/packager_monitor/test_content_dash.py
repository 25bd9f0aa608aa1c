"""DASH through the content layer: a live DASH channel made by the ffmpeg binary (fMP4 media
segments that decode only behind their initialization segment), served over loopback HTTP and
watched by the real probe loop against a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from castwatch.common.models import Alert, Channel, ChannelThumbnail
from castwatch.packager_monitor.settings import ProbeSettings
from tests.support.egress import LOOPBACK

from .conftest import ProbeThread, sim_template, wait_for
from .lavfi import AUDIO, VIDEO, ffmpeg_live, need_ffmpeg

pytestmark = pytest.mark.slow


@contextmanager
def _live_dash(out: Path, video: str, audio: str) -> Iterator[tuple[str, list[str]]]:
    """A live (dynamic) DASH channel written in real time by ffmpeg from lavfi sources (1 s
    segments, a window of 6, video and audio in their own adaptation sets), served from its
    directory over loopback HTTP; yields the MPD's URL and the paths asked for."""
    out.mkdir()
    cmd = [need_ffmpeg(), "-v", "error", "-re",
           "-f", "lavfi", "-i", VIDEO[video].format(size="320x180"),
           "-f", "lavfi", "-i", AUDIO[audio], "-t", "60",
           "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p", "-b:v", "300k",
           "-c:a", "aac", "-ac", "2", "-b:a", "96k",
           "-f", "dash", "-seg_duration", "1", "-window_size", "6", "-extra_window_size", "2",
           "-use_template", "1", "-use_timeline", "1", str(out / "manifest.mpd")]
    with ffmpeg_live(cmd, out, "manifest.mpd") as live:
        yield live


@contextmanager
def _probing(session_factory: sessionmaker[Session], url: str) -> Iterator[None]:
    with session_factory() as s, s.begin():
        tpl = sim_template(s, name="dash-1s")
        tpl.max_download_time_ms = 5000
        s.add(Channel(code="CH_DASH", name="CH_DASH", protocol="DASH", input_url=url,
                      template_id=tpl.id, tier=1))
    settings = ProbeSettings(egress=LOOPBACK, name="probe-dash", lease_ttl_s=3, clear_hold_s=2,
                             master_interval_s=2, status_interval_s=1, timeout_s=5, content_workers=1,
                             content_queue=8, thumbnail_interval_s=1)
    with ProbeThread(settings, session_factory):
        yield


def _alert(session_factory: sessionmaker[Session], subject: str, alert_type: str) -> Alert | None:
    with session_factory() as s:
        return s.scalars(select(Alert).where(Alert.subject == subject,
                                             Alert.alert_type == alert_type)).first()


def test_a_silent_dash_channel_opens_audio_silence_on_its_audio_representation(
        session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    with _live_dash(tmp_path / "dash", "normal", "silence") as (url, _), _probing(session_factory, url):
        alert = wait_for(lambda: _alert(session_factory, "CH_DASH/audio_1", "AUDIO_SILENCE"), 40,
                         "AUDIO_SILENCE on the DASH channel's audio")
    assert alert is not None and alert.summary.startswith("CH_DASH audio_1:")
    assert _alert(session_factory, "CH_DASH/180p", "VIDEO_BLACK") is None


def test_a_black_dash_channel_is_decoded_behind_its_init_segment_and_opens_video_black(
        session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    with _live_dash(tmp_path / "dash", "black", "normal") as (url, asked), _probing(session_factory, url):
        alert = wait_for(lambda: _alert(session_factory, "CH_DASH/180p", "VIDEO_BLACK"), 40,
                         "VIDEO_BLACK on the DASH channel")
        assert alert is not None
        assert alert.severity == "critical" and alert.summary.startswith("CH_DASH 180p: picture black for")

        def figures() -> dict[str, Any] | None:
            with session_factory() as s:
                check = s.scalar(select(Channel.last_check).where(Channel.code == "CH_DASH")) or {}
                content = check.get("content", {})
                rendition = content.get("renditions", {}).get("180p", {})
                sound = content.get("decoded", {}).get("audio_1", {}).get("audio")
                done = rendition.get("mos") is not None and content.get("thumbnail_at") and sound
                return content if done else None
        content = wait_for(figures, 20, "MOS and a thumbnail of the DASH channel")
        assert content is not None
    decoded = content["decoded"]["180p"]
    assert content["chosen"] == "180p"
    assert decoded["codec"] == "h264" and (decoded["width"], decoded["height"]) == (320, 180)
    # black_s is the current run: an edge the poll skipped restarts it
    assert decoded["black_s"] > 0 and decoded["mean_luma"] < 20
    assert 1 <= content["renditions"]["180p"]["mos"] <= 5
    sound = content["decoded"]["audio_1"]["audio"][0]  # the audio adaptation set, decoded on its own
    assert sound["momentary_lufs"] == pytest.approx(-23, abs=2) and sound["silent_s"] == 0
    assert content["renditions"]["180p"]["measured_bps"] > 0
    inits = [p for p in asked if p.startswith("/init-")]
    assert len(inits) == 2 and len(set(inits)) == 2  # video and audio: each fetched once, then cached
    assert sum(p.startswith("/chunk-") for p in asked) >= 4  # segments of both, after them
    with session_factory() as s:
        channel_id = s.scalar(select(Channel.id).where(Channel.code == "CH_DASH"))
        thumb = s.get(ChannelThumbnail, channel_id)
    assert thumb is not None and thumb.jpeg[:2] == b"\xff\xd8" and thumb.rendition == "180p"
