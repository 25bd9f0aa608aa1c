"""Builders for the pure incident tests: a small station and alerts on it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from castwatch.incidents.facts import AlertView, FailoverView
from castwatch.incidents.topology import Topology, build_topology

T0 = datetime(2026, 11, 21, 18, 0, tzinfo=UTC)
RUNGS = ["1080p", "720p", "480p"]


def station() -> Topology:
    """Origin A serves channels 1-3 (1 tier 1, on encoder group 10: enc 100 active, 101
    backup); origin B serves channel 4 (group 20: enc 200 alone) and channel 5."""
    channels = [
        dict(id=1, code="NEWS", tier=1, input_url="https://origin-a.example/news/master.m3u8",
             renditions=RUNGS, encoder_group_id=10),
        dict(id=2, code="SPORT", tier=2, input_url="https://origin-a.example/sport/master.m3u8",
             renditions=RUNGS),
        dict(id=3, code="MOVIES", tier=3, input_url="https://ORIGIN-A.example:443/m/master.m3u8",
             renditions=RUNGS),
        dict(id=4, code="COUNCIL", tier=2, input_url="http://origin-b.example:8080/c/master.m3u8",
             renditions=RUNGS, encoder_group_id=20),
        dict(id=5, code="GOV", tier=3, input_url="http://origin-b.example:8080/g/master.m3u8",
             renditions=RUNGS),
    ]
    encoders = [dict(id=100, name="enc-a", group_id=10, role="primary", state="live"),
                dict(id=101, name="enc-b", group_id=10, role="backup", state="idle"),
                dict(id=200, name="council-enc", group_id=20, state="live")]
    groups = [dict(id=10, name="news-pair", active_encoder_id=100),
              dict(id=20, name="council", active_encoder_id=200)]
    return build_topology(channels, encoders, groups)


_next = [0]


def alert(alert_type: str, subject: str, *, at: float = 0, source: str = "probe", severity: str = "major",
          state: str = "firing", channel_id: int | None = None, encoder_id: int | None = None,
          group_id: int | None = None, details: dict[str, Any] | None = None, ident: int | None = None,
          resolved_after: float | None = None) -> AlertView:
    _next[0] += 1
    opened = T0 + timedelta(seconds=at)
    return AlertView(id=ident or _next[0], source=source, subject=subject, alert_type=alert_type,
                     severity=severity, state=state, opened_at=opened, channel_id=channel_id,
                     encoder_id=encoder_id, group_id=group_id, details=details or {},
                     resolved_at=None if resolved_after is None
                     else opened + timedelta(seconds=resolved_after))


def stale(code: str, channel_id: int, rendition: str | None = None, at: float = 0, **kw: Any) -> AlertView:
    subject = f"{code}/{rendition}" if rendition else code
    return alert("PLAYLIST_STALE", subject, at=at, channel_id=channel_id, severity="critical", **kw)


def failover(group_id: int, at: float, status: str = "succeeded", took: float = 3.0,
             from_id: int | None = 100, to_id: int | None = 101) -> FailoverView:
    start = T0 + timedelta(seconds=at)
    return FailoverView(group_id, from_id, to_id, status, start, start + timedelta(seconds=took))
