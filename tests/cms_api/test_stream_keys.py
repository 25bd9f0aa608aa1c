"""Stream keys are write-only: sealed at rest, ``sk-…1234`` in every response, live event and
Grafana's view (issue #11 §5)."""

from __future__ import annotations

import dataclasses
import queue
import threading

import socketio
from sqlalchemy import text

from castwatch.common.models import Encoder
from castwatch.common.sealing import Sealer, redact

from .support import SECRET_KEY

KEY = "live_2fa9c1d7e5b34a8c1234"
OUTPUT = {"protocol": "rtmp", "url": "rtmp://a.rtmp.youtube.com/live2", "stream_key": KEY,
          "resolution": "1920x1080", "frame_rate": 30, "codec": "h264", "bitrate_kbps": 6000}
ENCODER = {"name": "obs-1", "driver_kind": "obs", "address": "10.0.0.9:4455", "output": OUTPUT}


def test_a_stream_key_is_sealed_at_rest_and_redacted_in_every_response(client, admin, db):
    made = client.post("/api/v1/encoders", json=ENCODER, headers=admin)
    assert made.status_code == 201, made.get_json()
    url = f"/api/v1/encoders/{made.get_json()['id']}"
    for resp in (made, client.get(url, headers=admin), client.get("/api/v1/encoders", headers=admin)):
        assert KEY not in resp.get_data(as_text=True)
    assert made.get_json()["output"]["stream_key"] == "sk-…1234"
    stored = db.get(Encoder, made.get_json()["id"]).output["stream_key"]
    assert KEY not in stored and stored.startswith("enc:v1:1234:")
    assert Sealer(SECRET_KEY).open(stored) == KEY
    # sending back what was read keeps the key; a new key replaces it
    resp = client.put(url, json={"output": made.get_json()["output"] | {"bitrate_kbps": 5000}},
                      headers=admin)
    assert resp.status_code == 200, resp.get_json()
    db.expire_all()
    assert Sealer(SECRET_KEY).open(db.get(Encoder, made.get_json()["id"]).output["stream_key"]) == KEY
    resp = client.put(url, json={"output": OUTPUT | {"stream_key": "new-key-000000005678"}}, headers=admin)
    assert resp.get_json()["output"]["stream_key"] == "sk-…5678"
    # a redacted value that is not the stored one is refused, not stored
    resp = client.put(url, json={"output": OUTPUT | {"stream_key": "sk-…9999"}}, headers=admin)
    assert (resp.status_code, resp.get_json()["error"]["field"]) == (400, "output.stream_key")
    resp = client.post(f"{url}/validate", json={}, headers=admin)
    assert resp.get_json()["valid"] is True


def test_without_castwatch_secret_key_no_stream_key_is_stored(make_app, admin, db):
    app = make_app()
    settings = dataclasses.replace(app.extensions["castwatch"].settings, secret_key=None)
    app.extensions["castwatch"].settings = settings
    resp = app.test_client().post("/api/v1/encoders", json=ENCODER, headers=admin)
    assert resp.status_code == 400
    assert "CASTWATCH_SECRET_KEY" in resp.get_json()["error"]["message"]
    assert db.query(Encoder).count() == 0


def test_live_events_carry_the_redacted_key_only(live_server, make_key, session_factory):
    received: queue.Queue[dict] = queue.Queue()
    sio = socketio.Client(reconnection=False)
    sio.on("encoder", received.put, namespace="/live")
    sio.connect(live_server, namespaces=["/live"], auth={"token": make_key("read")},
                transports=["websocket"], wait_timeout=10)
    try:
        with session_factory.begin() as session:
            session.add(Encoder(name="obs-live", driver_kind="obs", address="10.0.0.9:4455",
                                output=OUTPUT | {"stream_key": Sealer(SECRET_KEY).seal(KEY)}))
        event = received.get(timeout=10)
        assert event["output"]["stream_key"] == "sk-…1234" and KEY not in str(event)
    finally:
        threading.Thread(target=sio.disconnect, daemon=True).start()


def test_grafanas_role_reads_curated_views_only(engine, session_factory, database_url):
    """The dashboards' SQL runs unchanged as castwatch_grafana; secrets are out of its reach."""
    import json
    from pathlib import Path

    import pytest
    from sqlalchemy.exc import ProgrammingError

    with session_factory.begin() as session:
        session.add(Encoder(name="obs-g", driver_kind="obs", address="10.0.0.9:4455",
                            credentials_ref="env:ENCODER_SECRET_OBS",
                            output=OUTPUT | {"stream_key": Sealer(SECRET_KEY).seal(KEY)}))
    boards = Path(__file__).resolve().parents[2] / "grafana" / "dashboards"
    queries = [t["rawSql"] for board in boards.glob("*.json")
               for p in json.loads(board.read_text())["panels"] for t in p.get("targets", [])
               if t.get("rawSql")]
    assert queries
    with engine.connect() as conn:
        conn.execute(text("SET ROLE castwatch_grafana"))
        conn.execute(text("SET search_path = grafana"))
        for sql in queries:
            sql = (sql.replace("$__timeFilter(a.opened_at)", "a.opened_at > now() - interval '1 day'")
                   .replace("$__timeFilter(f.created_at)", "f.created_at > now() - interval '1 day'")
                   .replace("${channel}", "X").replace("${encoder:regex}", ".*"))
            with conn.begin_nested():
                conn.execute(text(sql.replace(":", r"\:"))).fetchall()
        output = conn.execute(text("SELECT output FROM encoders WHERE name = 'obs-g'")).scalar_one()
        assert output["stream_key"] == redact(Sealer(SECRET_KEY).seal(KEY)) == "sk-…1234"
        for secret in ("SELECT * FROM public.api_keys", "SELECT output FROM public.encoders",
                       "SELECT credentials_ref FROM encoders", "SELECT * FROM public.recipients"):
            with pytest.raises(ProgrammingError), conn.begin_nested():
                conn.execute(text(secret)).fetchall()
