"""Pure rules: protocol inference, badges, token buckets, key expiry parsing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from castwatch.cms_api.derive import badges, infer_protocol
from castwatch.cms_api.keys_cli import parse_expiry
from castwatch.cms_api.ratelimit import RateLimiter


@dataclass
class Rung:
    resolution: str | None = None
    video_range: str | None = None
    audio_channels: str | None = None


def test_protocol_is_dash_only_for_mpd_paths():
    assert infer_protocol("https://o/live/manifest.MPD") == "DASH"
    assert infer_protocol("https://o/live/master.m3u8?x=.mpd") == "HLS"
    assert infer_protocol("https://o/live/index") == "HLS"


def test_badges_come_from_the_ladder():
    assert badges([]) == {"is_4k": False, "is_hdr": False, "is_atmos": False}
    assert badges([Rung("3840x2160")])["is_4k"]
    assert not badges([Rung("1920x1080", "SDR", "6")])["is_4k"]
    assert badges([Rung("1920x1080", "HLG")])["is_hdr"]
    assert badges([Rung(None, None, "16/JOC")])["is_atmos"]


def test_a_bucket_refills_at_the_rate_and_says_how_long_to_wait():
    now = [0.0]
    limiter = RateLimiter(60, clock=lambda: now[0])  # one a second, burst 60
    assert all(limiter.take("k") == 0 for _ in range(60))
    assert limiter.take("k") == 1
    now[0] += 1.0
    assert limiter.take("k") == 0
    assert limiter.take("other") == 0


def test_a_slow_rate_gives_a_long_retry_after():
    now = [0.0]
    limiter = RateLimiter(2, clock=lambda: now[0])
    limiter.take("k"), limiter.take("k")
    assert limiter.take("k") == 30


def test_the_bucket_table_stays_bounded():
    limiter = RateLimiter(10, max_keys=100)
    for i in range(1000):
        limiter.take(f"k{i}")
    assert len(limiter._buckets) <= 100


def test_expiry_parsing():
    assert parse_expiry("90d") == timedelta(days=90)
    assert parse_expiry("12h") == timedelta(hours=12)
    assert parse_expiry("2w") == timedelta(weeks=2)
    assert parse_expiry("never") is None
    for bad in ("0d", "soon", "5y", "-1d"):
        with pytest.raises(ValueError):
            parse_expiry(bad)
