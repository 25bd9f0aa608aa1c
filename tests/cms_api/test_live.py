"""Socket.IO /live: authenticated clients receive changes committed by any connection."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import socketio
from sqlalchemy import delete

from castwatch.common import alerts
from castwatch.common.db import transaction
from castwatch.common.models import Channel, Encoder, EncoderCommand

EVENTS = ("hello", "alert", "alert_event", "channel", "encoder", "encoder_group", "probe",
          "encoder_command")


class Received:
    """Events of one client, collected from the client's own thread."""

    def __init__(self) -> None:
        self.items: queue.Queue[tuple[str, Any]] = queue.Queue()

    def wait_for(self, event: str, predicate=lambda data: True, timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                name, data = self.items.get(timeout=left)
            except queue.Empty:
                break
            if name == event and predicate(data):
                return data
        raise AssertionError(f"no {event!r} event within {timeout} s")


@pytest.fixture()
def connect(live_server: str) -> Iterator[Any]:
    clients: list[socketio.Client] = []

    def make(auth: dict[str, str] | None = None, headers: dict[str, str] | None = None):
        client = socketio.Client(reconnection=False)
        received = Received()
        for event in EVENTS:
            client.on(event, lambda data, event=event: received.items.put((event, data)),
                      namespace="/live")
        clients.append(client)
        client.connect(live_server, namespaces=["/live"], auth=auth, headers=headers or {},
                       transports=["websocket"], wait_timeout=10)
        return client, received

    yield make
    # The development server never closes a websocket itself, so a polite disconnect waits
    # ~3 s for it; let the clients leave in the background instead of holding up the suite.
    for client in clients:
        threading.Thread(target=client.disconnect, daemon=True).start()


def test_a_client_without_a_valid_key_is_refused(connect, make_key):
    with pytest.raises(socketio.exceptions.ConnectionError):
        connect()
    with pytest.raises(socketio.exceptions.ConnectionError):
        connect(auth={"token": "cw_not_a_key"})


def test_changes_committed_by_another_connection_are_pushed(connect, make_key, session_factory):
    _, received = connect(auth={"token": make_key("read", name="wall")})
    assert received.wait_for("hello")["name"] == "wall"
    with transaction(session_factory) as session:  # a plain DB connection, not the API
        channel = Channel(code="CH_LIVE", name="Live", input_url="https://o/l.m3u8")
        session.add(channel)
        session.flush()
        alert, _ = alerts.fire(session, alerts.AlertKey("probe", "CH_LIVE/720p", "PLAYLIST_STALE"),
                               severity="critical", summary="stale", channel_id=channel.id)
        channel_id, alert_id = channel.id, alert.id
    pushed = received.wait_for("channel", lambda d: d.get("id") == channel_id)
    assert pushed["channel_code"] == "CH_LIVE"
    assert received.wait_for("alert", lambda d: d.get("id") == alert_id)["state"] == "firing"
    assert received.wait_for("alert_event", lambda d: d.get("alert_id") == alert_id)["kind"] == "opened"

    with transaction(session_factory) as session:
        session.execute(delete(Channel).where(Channel.id == channel_id))
    assert received.wait_for("channel", lambda d: d.get("deleted")) == {"id": channel_id, "deleted": True}


def test_header_auth_works_and_api_changes_are_pushed_too(connect, make_key, live_server):
    import requests

    key = make_key("admin")
    _, received = connect(headers={"Authorization": f"Bearer {key}"})
    received.wait_for("hello")
    resp = requests.post(f"{live_server}/api/v1/encoders", timeout=10,
                         headers={"X-API-Key": key},
                         json={"name": "obs-live", "driver_kind": "obs", "address": "127.0.0.1:4455"})
    assert resp.status_code == 201, resp.text
    pushed = received.wait_for("encoder", lambda d: d.get("name") == "obs-live")
    assert pushed["id"] == resp.json()["id"]


def test_anonymous_clients_get_in_only_when_reads_are_open(make_key, session_factory, database_url):
    from werkzeug.serving import make_server

    from castwatch.cms_api import create_app

    from .support import api_settings

    app = create_app(api_settings(anonymous_read=True), session_factory=session_factory,
                     database_url=database_url, start_listener=False)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    client = socketio.Client(reconnection=False)
    try:
        client.connect(f"http://127.0.0.1:{server.server_port}", namespaces=["/live"],
                       transports=["websocket"], wait_timeout=10)
        assert "/live" in client.namespaces
    finally:
        threading.Thread(target=client.disconnect, daemon=True).start()
        server.shutdown()
        thread.join(5)


def test_updates_of_encoders_reach_clients(connect, make_key, session_factory):
    _, received = connect(auth={"token": make_key("read")})
    received.wait_for("hello")
    with transaction(session_factory) as session:
        encoder = Encoder(name="helo", driver_kind="aja_helo", address="a")
        session.add(encoder)
    with transaction(session_factory) as session:
        session.get(Encoder, encoder.id).state = "live"
    received.wait_for("encoder", lambda d: d.get("state") == "live")


def test_a_burst_of_changes_to_one_row_is_pushed_once_in_its_newest_state(
        session_factory, make_key):
    from castwatch.cms_api import create_app

    from .support import api_settings

    app = create_app(api_settings(), session_factory=session_factory, start_listener=False)
    hub = app.extensions["castwatch_live"]
    with transaction(session_factory) as session:
        channel = Channel(code="CH_B", name="first", input_url="https://o/b.m3u8")
        session.add(channel)
    hub.on_notify("castwatch_channels", {"table": "channels", "op": "UPDATE", "id": channel.id})
    assert hub.flush() == 0  # nobody connected: nothing is even read
    client = app.extensions["socketio"].test_client(app, namespace="/live",
                                                     auth={"token": make_key("read")})
    assert client.is_connected("/live") and hub.clients == 1
    client.get_received("/live")
    for name in ("second", "third"):
        with transaction(session_factory) as session:
            session.get(Channel, channel.id).name = name
        hub.on_notify("castwatch_channels", {"table": "channels", "op": "UPDATE", "id": channel.id})
    hub.on_notify("castwatch_probes", {"table": "probes", "op": "DELETE", "id": 7})
    assert hub.flush() == 2
    events = [(e["name"], e["args"][0]) for e in client.get_received("/live")]
    assert [name for name, _ in events] == ["channel", "probe"]
    assert events[0][1]["channel_name"] == "third"
    assert events[1][1] == {"id": 7, "deleted": True}
    client.disconnect(namespace="/live")
    assert hub.clients == 0


def test_encoder_command_outcomes_are_pushed_so_the_console_need_not_poll(
        connect, make_key, session_factory):
    _, received = connect(auth={"token": make_key("read")})
    received.wait_for("hello")
    with transaction(session_factory) as session:
        encoder = Encoder(name="enc-cmd", driver_kind="obs", address="127.0.0.1:1")
        session.add(encoder)
        session.flush()
        command = EncoderCommand(encoder_id=encoder.id, action="failover", requested_by="ops")
        session.add(command)
        session.flush()
        ident = command.id
    queued = received.wait_for("encoder_command", lambda d: d.get("id") == ident)
    assert (queued["status"], queued["action"], queued["requested_by"]) == ("pending", "failover", "ops")
    with transaction(session_factory) as session:  # what the encoder manager does when it is done
        row = session.get(EncoderCommand, ident)
        row.status, row.result = "done", "enc-cmd on air"
    done = received.wait_for("encoder_command", lambda d: d.get("id") == ident and d["status"] == "done")
    assert done["result"] == "enc-cmd on air"
