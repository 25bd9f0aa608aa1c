"""Realistic data for the console tests: configuration through the REST API (as an operator's
tooling would), and what the probe / encoder manager would write (alerts, samples) through the
same shared code they use, on the real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from castwatch.common.alerts import AlertKey, fire
from castwatch.common.models import Channel, Encoder, EncoderGroup, Probe

LADDER_4K = [
    {"name": "2160p", "bandwidth": 16_000_000, "resolution": "3840x2160", "codecs": "hvc1.2.4.L150.B0,ec-3",
     "frame_rate": 50, "video_range": "PQ", "audio_channels": "16/JOC"},
    {"name": "1080p", "bandwidth": 6_000_000, "resolution": "1920x1080", "codecs": "hvc1.2.4.L123.B0,ec-3",
     "frame_rate": 50, "video_range": "PQ", "audio_channels": "16/JOC"},
    {"name": "720p", "bandwidth": 3_000_000, "resolution": "1280x720", "codecs": "hvc1.2.4.L93.B0,ec-3",
     "frame_rate": 50, "video_range": "PQ", "audio_channels": "6"},
]
LADDER_HD = [
    {"name": "1080p", "bandwidth": 5_000_000, "resolution": "1920x1080", "codecs": "avc1.640028,mp4a.40.2",
     "frame_rate": 25},
    {"name": "720p", "bandwidth": 2_800_000, "resolution": "1280x720", "codecs": "avc1.64001f,mp4a.40.2",
     "frame_rate": 25},
    {"name": "480p", "bandwidth": 1_200_000, "resolution": "854x480", "codecs": "avc1.4d401e,mp4a.40.2",
     "frame_rate": 25},
]


def catalog(rest: Any) -> dict[str, Any]:
    """Two templates and five channels across tiers, protocols and formats."""
    uhd = rest.post("/templates", {"name": "UHD HDR Atmos", "renditions": LADDER_4K}, expect=201)
    hd = rest.post("/templates", {"name": "HD 3-rung", "renditions": LADDER_HD}, expect=201)
    specs = [
        ("CH_SPORT_4K", "Sport 4K", 1, "https://origin.example/sport4k/master.m3u8", uhd),
        ("CH_NEWS_HD", "News 24", 1, "https://origin.example/news/master.m3u8", hd),
        ("CH_MOVIES_HD", "Movies", 2, "https://origin.example/movies/manifest.mpd", hd),
        ("CH_KIDS_HD", "Kids", 2, "https://origin.example/kids/master.m3u8", hd),
        ("CH_COUNCIL", "Council Meetings", 3, "https://origin.example/council/master.m3u8", hd),
    ]
    channels = {
        code: rest.post("/channels", {"channel_code": code, "channel_name": name, "tier": tier,
                                      "input_url": url, "template_id": tpl["id"]}, expect=201)
        for code, name, tier, url, tpl in specs
    }
    return {"templates": [uhd, hd], "channels": channels}


def probe_results(factory: sessionmaker[Session], channels: dict[str, Any]) -> None:
    """What the packager monitor writes: status and the latest check of each channel."""
    now = datetime.now(UTC)
    statuses = {"CH_SPORT_4K": "ok", "CH_NEWS_HD": "critical", "CH_MOVIES_HD": "warning",
                "CH_KIDS_HD": "ok", "CH_COUNCIL": "ok"}
    with factory() as session, session.begin():
        session.add(Probe(name="probe-1", hostname="probe-1.local", location="Frankfurt", status="online",
                          version="0.1.0", started_at=now - timedelta(hours=3), last_heartbeat_at=now))
        session.add(Probe(name="probe-2", location="Dallas", status="offline",
                          last_heartbeat_at=now - timedelta(minutes=7)))
        for code, ch in channels.items():
            stale = statuses[code] == "critical"
            # The shape the packager monitor writes (worker.summary()).
            check = {"protocol": ch["protocol"], "probe": "probe-1", "renditions": {
                r: {"media_sequence": 48213 + i, "segments": 6, "target_duration": 6,
                    "discontinuity_sequence": 0,
                    "last_change_age_s": 24.5 if stale and r == "720p" else 2.0 + i,
                    "download_time_ms": 180.0 + 40 * i, "segment_bytes": 1_880_000 - 500_000 * i,
                    "segment_status": 200, "segment_error": None}
                for i, r in enumerate(("1080p", "720p", "480p"))},
                "open_alerts": ["CH_NEWS_HD/720p PLAYLIST_STALE"] if stale else []}
            session.execute(update(Channel).where(Channel.id == ch["id"])
                            .values(status=statuses[code], last_checked_at=now, last_check=check))


def alerts(factory: sessionmaker[Session], channels: dict[str, Any]) -> list[int]:
    """A few open alerts of each severity, as the probe would raise them."""
    news = channels["CH_NEWS_HD"]["id"]
    movies = channels["CH_MOVIES_HD"]["id"]
    specs = [
        (AlertKey("probe", "CH_NEWS_HD/720p", "PLAYLIST_STALE"), "critical",
         "News 24 720p playlist has not changed for 24 s", news),
        (AlertKey("probe", "CH_NEWS_HD/1080p", "SEGMENT_SLOW"), "major",
         "News 24 1080p segment took 7.9 s to download (limit 2 s)", news),
        (AlertKey("probe", "CH_MOVIES_HD", "LADDER_MISMATCH"), "minor",
         "Movies ladder has 2 rungs, template expects 3", movies),
        (AlertKey("probe", "CH_MOVIES_HD/480p", "SEGMENT_DURATION_DRIFT"), "info",
         "Movies 480p segments average 6.4 s (target 6 s)", movies),
    ]
    ids = []
    with factory() as session, session.begin():
        for key, severity, summary, channel_id in specs:
            alert, _ = fire(session, key, severity=severity, summary=summary, channel_id=channel_id)
            ids.append(alert.id)
    return ids


def encoders(rest: Any, factory: sessionmaker[Session]) -> dict[str, Any]:
    """Two failover groups; the second one running on its backup, with fresh health samples."""
    main = rest.post("/encoder-groups", {"name": "Main studio"}, expect=201)
    council = rest.post("/encoder-groups", {"name": "Council chamber", "preference": "primary_preferred"},
                        expect=201)
    rows: dict[str, Any] = {}
    for name, kind, group, role in [("helo-a", "aja_helo", main, "primary"),
                                    ("helo-b", "aja_helo", main, "backup"),
                                    ("monarch-1", "matrox_monarch", council, "primary"),
                                    ("monarch-2", "matrox_monarch", council, "backup")]:
        body = {"name": name, "driver_kind": kind, "address": f"10.0.0.{len(rows) + 10}",
                "group_id": group["id"], "role": role}
        rows[name] = rest.post("/encoders", body, expect=201)
    now = datetime.now(UTC)
    # The shape the encoder manager writes: HealthSample.to_json() + at, rates, overheat_eta_s.
    def sample(temp: float, cpu: float, kbps: float, dropped: int, drop_rate: float | None,
               link: dict[str, Any] | None = None, eta: float | None = None) -> dict[str, Any]:
        return {"reachable": True, "temperature_c": temp, "cpu_percent": cpu, "bitrate_kbps": kbps,
                "frames_total": 90_000, "frames_dropped": dropped, "link": link, "streams": [],
                "at": now.isoformat(), "overheat_eta_s": eta,
                "rates": {"drop_rate": drop_rate, "lost_rate": None, "retransmitted_rate": None}}

    samples = {
        "helo-a": ("live", sample(52.5, 38, 8000, 0, 0.0, {"rtt_ms": 24, "lost": 0})),
        "helo-b": ("idle", sample(41, 4, 0, 0, None)),
        "monarch-1": ("failed", sample(88.5, 97, 0, 1240, 12.5) | {
            "reachable": False, "error": "DriverTimeout: no answer within 2 s"}),
        "monarch-2": ("live", sample(69, 55, 6000, 3, 0.1, {"rtt_ms": 310, "lost": 12}, eta=420)),
    }
    with factory() as session, session.begin():
        for name, (state, last) in samples.items():
            session.execute(update(Encoder).where(Encoder.id == rows[name]["id"]).values(
                state=state, reachable=state != "failed", last_seen_at=now - timedelta(seconds=2),
                last_sample=last))
        session.execute(update(EncoderGroup).where(EncoderGroup.id == main["id"])
                        .values(active_encoder_id=rows["helo-a"]["id"]))
        session.execute(update(EncoderGroup).where(EncoderGroup.id == council["id"])
                        .values(active_encoder_id=rows["monarch-2"]["id"]))
    return {"groups": [main, council], "encoders": rows}


def people(rest: Any) -> None:
    """Who gets told, and by which rule."""
    rest.post("/recipients", {"name": "Dana (on call)", "role": "engineer", "telegram_chat_id": 123456789,
                              "telegram_username": "dana_ops", "email": "dana@example.org"}, expect=201)
    rest.post("/recipients", {"name": "Council cablecaster", "role": "cablecaster",
                              "email": "cable@example.org", "timezone": "America/Chicago"}, expect=201)
    rest.post("/notification-rules", {
        "name": "Critical to engineers", "match": {"severities": ["critical", "major"], "tiers": [1]},
        "roles": ["engineer"], "repeat_interval_s": 900,
        "escalation": [{"after_s": 600, "roles": ["management"]}]}, expect=201)


def overheat_incident(rest: Any, factory: sessionmaker[Session], data: dict[str, Any],
                      enc: dict[str, Any]) -> dict[str, int]:
    """The Main studio's on-air encoder overheats and two of its channels go stale; the real
    incident correlator (one round, the built-in known-issue library) makes one incident of it."""
    from castwatch.incidents.correlator import Correlator
    from castwatch.incidents.known_issues import load_library

    main = enc["groups"][0]
    helo_a = enc["encoders"]["helo-a"]
    for code in ("CH_NEWS_HD", "CH_KIDS_HD"):
        rest.call("PUT", f"/channels/{data['channels'][code]['id']}", 200,
                  json={"encoder_group_id": main["id"]})
    with factory() as session, session.begin():
        root, _ = fire(session, AlertKey("encoders", "helo-a", "ENCODER_OVERHEAT"), severity="major",
                       summary="helo-a at 88.5 °C (limit 75 °C)", encoder_id=helo_a["id"],
                       group_id=main["id"], details={"temperature_c": 88.5})
        for code, rendition in (("CH_NEWS_HD", "720p"), ("CH_KIDS_HD", "1080p")):
            fire(session, AlertKey("probe", f"{code}/{rendition}", "PLAYLIST_STALE"), severity="critical",
                 summary=f"{code} {rendition} playlist has not changed for 30 s",
                 channel_id=data["channels"][code]["id"])
        root_id = root.id
    Correlator(factory, load_library()).run_once()
    return {"root_alert_id": root_id}


def off_air_now(factory: sessionmaker[Session], channel_id: int) -> None:
    """What the schedule monitor imports: a planned off-air item running now for the channel."""
    from castwatch.common.models import ScheduleItem, ScheduleSource

    now = datetime.now(UTC)
    with factory() as session, session.begin():
        source = ScheduleSource(name="council-cablecast", kind="cablecast", url="http://127.0.0.1:9/",
                                channel_id=channel_id, options={"cablecast_channel": 1})
        session.add(source)
        session.flush()
        session.add(ScheduleItem(source_id=source.id, channel_id=channel_id, external_id="42",
                                 title="Nightly transmitter maintenance", kind="off_air",
                                 starts_at=now - timedelta(minutes=10), ends_at=now + timedelta(hours=2)))
