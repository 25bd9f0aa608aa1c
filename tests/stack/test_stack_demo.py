"""The demo's pieces alone: idempotent seeding on the real schema, the fault rotation's plan."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from castwatch.common.models import ApiKey, Channel, Encoder, EncoderGroup, NotificationRule
from castwatch.demo.faults import fault_plan, schedule
from castwatch.demo.seed import DemoTopology, seed


def test_seeding_twice_keeps_one_row_each_and_replaces_the_admin_key(
        session_factory: sessionmaker[Session]) -> None:
    topo = DemoTopology("http://127.0.0.1:1", ("DEMO_001", "DEMO_002"), "127.0.0.1:2", "127.0.0.1:3")
    with session_factory.begin() as session:
        first = seed(session, topo)
    moved = DemoTopology("http://127.0.0.1:9", ("DEMO_001", "DEMO_002"), "127.0.0.1:8", "127.0.0.1:7")
    with session_factory.begin() as session:
        second = seed(session, moved, notify=False, credentials_ref="env:ENCODER_SECRET_DEMO")
    assert first.channel_ids == second.channel_ids and first.group_id == second.group_id
    assert first.admin_key != second.admin_key
    with session_factory() as session:
        assert session.query(EncoderGroup).count() == 1
        assert session.query(Encoder).count() == 2
        urls = {c.code: c.input_url for c in session.scalars(select(Channel))}
        assert urls["DEMO_001"].startswith("http://127.0.0.1:9/")
        primary = session.get(Encoder, second.primary_id)
        assert primary is not None and primary.address == "127.0.0.1:8"
        assert primary.credentials_ref == "env:ENCODER_SECRET_DEMO"
        keys = session.scalars(select(ApiKey).order_by(ApiKey.id)).all()
        assert [k.revoked_at is not None for k in keys] == [True, False]
        rule = session.scalar(select(NotificationRule))
        assert rule is not None and rule.enabled is False  # no transport configured the 2nd time


def test_faults_start_one_interval_apart_and_never_outlast_their_interval() -> None:
    assert schedule(0, first_delay_s=45, interval_s=180, duration_s=60) == (45, 105)
    assert schedule(2, first_delay_s=45, interval_s=180, duration_s=60) == (405, 465)
    assert schedule(1, first_delay_s=5, interval_s=10, duration_s=30) == (15, 25)


def test_the_rotation_breaks_a_playlist_first_and_every_fault_can_be_cleared() -> None:
    plan = fault_plan("http://o", ["A", "B", "C"], "http://p", "http://b")
    assert [f.name for f in plan] == ["playlist_error", "encoder_down", "stall", "slow_segments",
                                      "overheat"]
    first = plan[0].inject[0]
    assert (first.url, first.json) == ("http://o/_sim/faults", {
        "channel": "B", "rendition": None, "fault": "playlist_status", "value": 500})
    assert all(f.inject and f.clear for f in plan)
    assert plan[1].inject[0].url == "http://p/_sim/faults"


def test_the_demo_puts_no_secret_on_a_command_line_and_binds_its_token(tmp_path) -> None:
    """Issue #11 §5: `ps` shows every command line; the token goes by environment instead, and
    it is bound to the two simulated encoders only (§1)."""
    import os
    import socket
    import subprocess
    import sys
    import time

    import requests

    from castwatch.demo import SIM_PASSWORD_ENV, Demo, DemoOptions
    from castwatch.encoder_manager.settings import EncoderSettings
    from castwatch.settings import Settings
    from tests.support.processes import stop_process

    demo = Demo(DemoOptions(base_port=0), Settings.from_env({}), "postgresql://unused")
    token = demo.child_env()[demo.secret_env]
    specs = {s.name: s for s in demo.simulator_specs()}
    assert all(token not in " ".join(s.argv) for s in specs.values())
    assert specs["sim-primary"].env[SIM_PASSWORD_ENV] == token
    cfg = EncoderSettings.from_env(demo.child_env())
    bound = cfg.credentials_bindings[f"env:{demo.secret_env}"]
    assert sorted(bound) == sorted(("127.0.0.1", int(a.rsplit(":", 1)[1])) for a in
                                   (demo.topology.primary_address, demo.topology.backup_address))
    # the simulator really takes its password from the environment
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = [sys.executable, "-m", "castwatch.cli", "sim", "encoder", "--kind", "generic_http",
            "--port", str(port), "--password-env", SIM_PASSWORD_ENV]
    proc = subprocess.Popen(argv, env=os.environ | {SIM_PASSWORD_ENV: token},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/api/status"
        deadline = time.monotonic() + 30
        while True:
            try:
                resp = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "the simulator did not start"
                time.sleep(0.2)
        assert resp.status_code == 200
        assert requests.get(url, headers={"Authorization": "Bearer admin"}, timeout=2).status_code == 401
        with open(f"/proc/{proc.pid}/cmdline", "rb") as f:
            assert token.encode() not in f.read()
    finally:
        stop_process(proc)


def test_the_demo_gives_the_api_its_inbox_and_the_sink_lists_messages_over_http() -> None:
    """Issue #15: the API learns both stand-ins' loopback URLs; the real `castwatch sim smtp
    --http-port` lists what it received as JSON."""
    import os
    import smtplib
    import subprocess
    import sys
    import time
    from email.message import EmailMessage

    import requests

    from castwatch.cms_api.settings import ApiSettings
    from castwatch.demo import Demo, DemoOptions
    from castwatch.settings import Settings
    from tests.support.processes import stop_process

    demo = Demo(DemoOptions(base_port=0), Settings.from_env({}), "postgresql://unused")
    api = ApiSettings.from_env(demo.child_env())
    assert api.demo_inbox and api.demo_telegram_url and api.demo_smtp_url
    smtp_spec = next(s for s in demo._standin_specs() if s.name == "sim-smtp")
    argv = list(smtp_spec.argv)
    http_port = int(argv[argv.index("--http-port") + 1])
    assert api.demo_smtp_url == f"http://127.0.0.1:{http_port}"
    smtp_port = int(argv[argv.index("--port") + 1])
    assert api.demo_telegram_url.endswith(f":{demo._standin_ports[0]}")

    proc = subprocess.Popen([sys.executable, "-m", "castwatch.cli", *argv[argv.index("sim"):]],
                            env=os.environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                assert requests.get(f"{api.demo_smtp_url}/messages", timeout=1).json() == {"messages": []}
                break
            except requests.RequestException:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.2)
        mail = EmailMessage()
        mail["From"], mail["To"] = "castwatch@demo.invalid", "ops@demo.invalid"
        mail["Subject"] = "DEMO_002 down"
        mail.set_content("Playlist unreachable")
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
            client.send_message(mail)
        [got] = requests.get(f"{api.demo_smtp_url}/messages", timeout=5).json()["messages"]
        assert got["subject"] == "DEMO_002 down" and got["rcpt_to"] == ["ops@demo.invalid"]
        assert "Playlist unreachable" in got["text"]
    finally:
        stop_process(proc)
