"""The channel-list cache: served while nothing changed, never stale after a commit anywhere."""

from __future__ import annotations

import time

import psycopg2
import requests

from castwatch.cms_api import create_app
from castwatch.cms_api.cache import ResponseCache, TableVersions
from castwatch.common.bus import dsn_for

from .support import api_settings, bearer, channel_body


def test_entries_are_valid_only_for_their_versions_and_only_while_listening():
    versions = TableVersions()
    cache = ResponseCache(versions, max_entries=2)
    assert versions.token(["channels"]) is None
    cache.put("k", versions.token(["channels"]), b"x")
    assert cache.get("k", versions.token(["channels"])) is None
    versions.is_live = lambda: True
    token = versions.token(["channels"])
    cache.put("k", token, b"x")
    assert cache.get("k", versions.token(["channels"])) == b"x"
    versions.bump("alerts")
    assert cache.get("k", versions.token(["channels"])) == b"x"
    versions.bump("channels")
    assert cache.get("k", versions.token(["channels"])) is None
    cache.put("k", versions.token(["channels"]), b"y")
    versions.bump_all()
    assert cache.get("k", versions.token(["channels"])) is None
    for key in ("a", "b", "c"):
        cache.put(key, versions.token(["channels"]), b"z")
    assert cache.get("a", versions.token(["channels"])) is None  # evicted, bounded


def test_the_list_is_cached_and_a_commit_elsewhere_refreshes_it(session_factory, database_url,
                                                                 make_key):
    app = create_app(api_settings(), session_factory=session_factory, database_url=database_url)
    hub = app.extensions["castwatch_live"]
    try:
        assert hub.listener.connected.wait(10)
        client, key = app.test_client(), bearer(make_key("admin"))
        made = client.post("/api/v1/channels", json=channel_body(), headers=key).get_json()
        first = client.get("/api/v1/channels", headers=key).get_json()
        assert [c["channel_name"] for c in first["items"]] == ["News HD"]  # own write seen at once
        cache = app.extensions["castwatch"].cache
        assert len(cache._entries) == 1
        # A separate plain connection, as another process would commit (not this app's sessions).
        conn = psycopg2.connect(dsn_for(database_url))
        with conn, conn.cursor() as cur:
            cur.execute("UPDATE channels SET name = 'Renamed' WHERE id = %s", (made["id"],))
        conn.close()
        deadline = time.monotonic() + 5
        names: list[str] = []
        while time.monotonic() < deadline:
            names = [c["channel_name"] for c in
                     client.get("/api/v1/channels", headers=key).get_json()["items"]]
            if names == ["Renamed"]:
                break
            time.sleep(0.05)
        assert names == ["Renamed"]

        assert client.get("/api/v1/alerts/active", headers=key).get_json() == []
        conn = psycopg2.connect(dsn_for(database_url))
        with conn, conn.cursor() as cur:
            cur.execute("INSERT INTO alerts (source, subject, alert_type, severity, summary) "
                        "VALUES ('probe', 'CH/720p', 'PLAYLIST_STALE', 'major', 'stale')")
        conn.close()
        deadline = time.monotonic() + 5
        active: list[dict] = []
        while time.monotonic() < deadline and not active:
            active = client.get("/api/v1/alerts/active", headers=key).get_json()
            time.sleep(0.05)
        assert [a["alert_type"] for a in active] == ["PLAYLIST_STALE"]
    finally:
        hub.stop()


def test_a_client_reads_its_own_writes_through_the_live_server(live_server, make_key):
    key = bearer(make_key("admin"))
    url = f"{live_server}/api/v1/channels"
    assert requests.get(url, headers=key, timeout=5).json()["total"] == 0
    for i in range(3):
        resp = requests.post(url, json=channel_body(channel_code=f"C{i}"), headers=key, timeout=5)
        assert resp.status_code == 201
        assert requests.get(url, headers=key, timeout=5).json()["total"] == i + 1
    requests.delete(f"{url}/1", headers=key, timeout=5)
    assert requests.get(f"{url}?enabled=false", headers=key, timeout=5).json()["total"] == 1
