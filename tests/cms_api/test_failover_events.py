"""``GET /api/v1/failover-events``: the failover history, newest first, filtered."""

from __future__ import annotations

from datetime import timedelta

from castwatch.common.db import transaction
from castwatch.common.models import Encoder, EncoderGroup, FailoverEvent, utcnow


def _history(session_factory) -> dict[str, int]:
    now = utcnow()
    with transaction(session_factory) as session:
        news, sport = EncoderGroup(name="news"), EncoderGroup(name="sport")
        session.add_all([news, sport])
        session.flush()
        a = Encoder(name="news-a", driver_kind="obs", address="127.0.0.1:1", group_id=news.id)
        b = Encoder(name="news-b", driver_kind="obs", address="127.0.0.1:2", group_id=news.id,
                    role="backup")
        c = Encoder(name="sport-a", driver_kind="obs", address="127.0.0.1:3", group_id=sport.id)
        session.add_all([a, b, c])
        session.flush()
        session.add_all([
            FailoverEvent(group_id=news.id, from_encoder_id=a.id, to_encoder_id=b.id,
                          reason="overheat", status="succeeded", created_at=now - timedelta(minutes=9)),
            FailoverEvent(group_id=news.id, from_encoder_id=b.id, to_encoder_id=a.id, kind="failback",
                          reason="primary healthy", status="succeeded", actor="ops",
                          created_at=now - timedelta(minutes=2)),
            FailoverEvent(group_id=sport.id, from_encoder_id=c.id, to_encoder_id=None,
                          reason="no standby", status="failed", created_at=now - timedelta(minutes=5)),
        ])
        return {"news": news.id, "sport": sport.id, "a": a.id, "b": b.id, "c": c.id}


def test_failover_events_are_listed_newest_first_and_filtered(client, reader, session_factory):
    ids = _history(session_factory)
    every = client.get("/api/v1/failover-events", headers=reader).json
    assert [e["reason"] for e in every] == ["primary healthy", "no standby", "overheat"]
    news = client.get(f"/api/v1/failover-events?group={ids['news']}", headers=reader).json
    assert {e["group_id"] for e in news} == {ids["news"]} and len(news) == 2
    sport_a = client.get(f"/api/v1/failover-events?encoder={ids['c']}", headers=reader).json
    assert [e["status"] for e in sport_a] == ["failed"]
    one = client.get("/api/v1/failover-events?limit=1", headers=reader).json
    assert [e["kind"] for e in one] == ["failback"] and one[0]["actor"] == "ops"


def test_failover_event_filters_are_validated(client, reader):
    bad = client.get("/api/v1/failover-events?limit=0", headers=reader)
    assert bad.status_code == 400 and bad.json["error"]["field"] == "limit"
    assert client.get("/api/v1/failover-events?group=x", headers=reader).status_code == 400
    assert client.get("/api/v1/failover-events").status_code == 401
