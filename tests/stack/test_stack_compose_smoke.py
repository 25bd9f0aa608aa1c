"""The compose smoke run: the real docker-compose.yml, started with Docker, proven end to end.

Stand-in images from Debian packages replace the registry images (deploy/smoke/, see
docs/stack.md "What the smoke run proves"); the castwatch services run the real image built
from deploy/Dockerfile. Every request from this test goes through nginx over TLS on 127.0.0.1.
Skipped, with the reason, only when no Docker engine can be started on this machine.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
import socketio
from _stack_support import REPO, wait_until
from compose_smoke import (
    Project,
    build_castwatch_image,
    build_images,
    docker_engine,
    stage_project,
    stop_dockerd,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]

CASTWATCH = ("api", "probe", "encoders", "notify", "incidents")
WITH_HEALTHCHECK = ("postgres", "influxdb", "prometheus", "alertmanager", "grafana", "nginx", "origin",
                    *CASTWATCH)
CHANNEL = "SMOKE_001"
#: what the run measured, written to test-artifacts/compose-smoke.json at the end
TIMES: dict[str, Any] = {}
KEY: list[str] = []


@pytest.fixture(scope="module")
def docker() -> Iterator[None]:
    started, reason = docker_engine()
    if reason is not None:
        pytest.skip(f"compose smoke run not possible on this machine: {reason}")
    try:
        yield
    finally:
        if started is not None:
            stop_dockerd(started)


@pytest.fixture(scope="module")
def project(docker: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    root = tmp_path_factory.mktemp("compose-smoke")
    log = root / "build.log"
    began = time.monotonic()
    images = build_images(log)
    project = stage_project(root / "project", images)
    build_castwatch_image(project.root, images["CASTWATCH_SMOKE_PYTHON_IMAGE"], log)
    TIMES["images_s"] = round(time.monotonic() - began, 1)
    try:
        project.run("down", "-v", "--remove-orphans", check=False)  # an interrupted earlier run
        up = time.monotonic()
        project.run("up", "-d", timeout_s=900)
        wait_until(lambda: _all_healthy(project), timeout_s=400, interval_s=3,
                   what="every service's healthcheck")
        TIMES["up_to_healthy_s"] = round(time.monotonic() - up, 1)
        yield project
    finally:
        logs = project.run("logs", "--no-color", "--timestamps", check=False, timeout_s=120)
        (root / "compose.log").write_text(logs.stdout + logs.stderr)
        down = project.run("down", "-v", "--remove-orphans", "--timeout", "10", check=False, timeout_s=300)
        TIMES["down_ok"] = down.returncode == 0
        TIMES["total_s"] = round(time.monotonic() - began, 1)
        TIMES["logs"] = str(root / "compose.log")
        artifacts = REPO / "test-artifacts"
        artifacts.mkdir(exist_ok=True)
        (artifacts / "compose-smoke.json").write_text(json.dumps(TIMES, indent=2) + "\n")
        print(f"\ncompose smoke run: {TIMES}")


def _all_healthy(project: Project) -> bool:
    containers = project.containers()
    healthy = all(doc["State"].get("Health", {}).get("Status") == "healthy"
                  for name in WITH_HEALTHCHECK for doc in containers.get(name, [{"State": {}}]))
    migrate = containers.get("migrate", [])
    return healthy and len(migrate) == 1 and migrate[0]["State"]["Status"] == "exited"


def _when(stamp: str) -> datetime:
    """Docker's RFC 3339 times with nanoseconds (trailing zeros trimmed) as datetimes."""
    match = re.fullmatch(r"(.{19})(\.\d+)?Z", stamp)
    assert match, stamp
    return datetime.fromisoformat(match.group(1) + (match.group(2) or "")[:7]).replace(tzinfo=UTC)


def _api(project: Project, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, f"{project.https}{path}", verify=project.ca_file, timeout=15,
                            headers={"Authorization": f"Bearer {KEY[0]}"}, **kwargs)


def _origin_fault(project: Project, method: str, body: dict[str, Any] | None = None) -> None:
    """Switch the origin simulator's faults from inside its container (it publishes no port)."""
    origin = project.containers()["origin"][0]["Id"]
    script = ("import json, sys, urllib.request; r = urllib.request.Request("
              "'http://127.0.0.1:8090/_sim/faults' + sys.argv[2], method=sys.argv[1], "
              "data=sys.argv[3].encode() or None, headers={'Content-Type': 'application/json'}); "
              "urllib.request.urlopen(r, timeout=10)")
    query = f"?channel={CHANNEL}" if method == "DELETE" else ""
    subprocess.run(["docker", "exec", str(origin), "python", "-c", script, method, query,
                    json.dumps(body) if body else ""], check=True, timeout=60, capture_output=True)


def test_every_service_is_healthy_and_migrate_ran_once_before_the_others(project: Project) -> None:
    containers = project.containers()
    assert "grafana" in containers and "nginx" in containers
    (migrate,) = containers["migrate"]
    assert migrate["State"]["ExitCode"] == 0
    finished = _when(migrate["State"]["FinishedAt"])
    for name in CASTWATCH:
        for doc in containers[name]:
            assert _when(doc["State"]["StartedAt"]) >= finished, f"{name} started before migrate ended"
            assert doc["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    published = containers["nginx"][0]["NetworkSettings"]["Ports"]
    bindings = [b for port in published.values() if port for b in port]
    assert bindings and {b["HostIp"] for b in bindings} == {"127.0.0.1"}
    assert {int(b["HostPort"]) for b in bindings} == {project.http_port, project.https_port}
    for name, docs in containers.items():
        if name != "nginx":
            assert not any(docs[0]["NetworkSettings"]["Ports"].values()), f"{name} publishes a port"


def test_a_key_made_with_compose_run_works_through_nginx_over_tls(project: Project) -> None:
    made = project.run("run", "--rm", "--no-deps", "api", "keys", "create", "--name", "smoke",
                       "--scope", "admin", timeout_s=180)
    match = re.search(r"\bcw_\S+", made.stdout)
    assert match, made.stdout
    KEY.append(match.group(0))
    (project.root / "secrets" / "castwatch_api_key").write_text(KEY[0] + "\n")  # Alertmanager's webhook
    response = _api(project, "GET", "/api/v1/channels")
    assert response.status_code == 200, response.text
    anonymous = requests.get(f"{project.https}/api/v1/channels", verify=project.ca_file, timeout=15)
    assert anonymous.status_code == 401


def test_a_channel_on_the_simulated_origin_alerts_and_resolves_with_live_events(project: Project) -> None:
    assert KEY, "the key test must run first"
    session = requests.Session()
    session.verify = project.ca_file
    client = socketio.Client(http_session=session, ssl_verify=project.ca_file, reconnection=False)
    seen: dict[str, list[dict[str, Any]]] = {"channel": [], "alert": []}
    arrived = threading.Event()

    @client.on("channel", namespace="/live")
    def _on_channel(data: dict[str, Any]) -> None:
        seen["channel"].append(data)
        arrived.set()

    @client.on("alert", namespace="/live")
    def _on_alert(data: dict[str, Any]) -> None:
        seen["alert"].append(data)

    client.connect(project.https, namespaces=["/live"], transports=["websocket"], auth={"token": KEY[0]},
                   wait_timeout=20)
    began = time.monotonic()
    try:
        assert client.transport() == "websocket"
        created = _api(project, "POST", "/api/v1/channels",
                       json={"channel_code": CHANNEL, "channel_name": "Compose smoke",
                             "input_url": f"http://origin:8090/live/{CHANNEL}/master.m3u8"})
        assert created.status_code == 201, created.text
        channel_id = created.json()["id"]
        assert arrived.wait(20), "no Socket.IO event arrived through nginx"
        assert any(event.get("channel_code") == CHANNEL for event in seen["channel"])

        def leased() -> bool:
            return any(p["stats"].get("channels") for p in _api(project, "GET", "/api/v1/probes").json())

        wait_until(leased, timeout_s=90, interval_s=1, what="a probe to lease the channel")
        _origin_fault(project, "POST", {"channel": CHANNEL, "rendition": None, "fault": "playlist_status",
                                        "value": 500})

        def alert(state: str) -> dict[str, Any] | None:
            query = f"channel={channel_id}&type=PLAYLIST_UNREACHABLE"
            page = _api(project, "GET", f"/api/v1/alerts?{query}").json()
            return next((a for a in page["items"] if a["state"] == state), None)

        opened = wait_until(lambda: alert("firing"), timeout_s=120, interval_s=1, what="the fault's alert")
        TIMES["alert_opened_s"] = round(time.monotonic() - began, 1)
        _origin_fault(project, "DELETE")
        path = f"/api/v1/alerts/{opened['id']}"
        wait_until(lambda: _api(project, "GET", path).json()["state"] == "resolved", timeout_s=120,
                   interval_s=1, what="the alert to resolve")
        TIMES["alert_resolved_s"] = round(time.monotonic() - began, 1)
        wait_until(lambda: any(a.get("id") == opened["id"] for a in seen["alert"]), timeout_s=20,
                   what="the alert as a Socket.IO event")
    finally:
        client.disconnect()


def test_a_crashed_probe_is_restarted_and_takes_its_channel_again(project: Project) -> None:
    (probe,) = project.containers()["probe"]
    name = f"probe-{probe['Config']['Hostname']}"
    killed_at = datetime.now(UTC)
    began = time.monotonic()
    # SIGKILL to the container's process from the host, as a crash or the OOM killer would end
    # it. (`docker kill` itself counts as a manual stop: Docker then never restarts the
    # container, whatever its restart policy — checked on Docker 20.10.)
    os.kill(int(probe["State"]["Pid"]), signal.SIGKILL)

    def restarted() -> bool:
        (doc,) = project.containers()["probe"]
        return bool(doc["RestartCount"] >= 1 and doc["State"]["Running"]
                    and _when(doc["State"]["StartedAt"]) > killed_at)

    wait_until(restarted, timeout_s=90, interval_s=1, what="restart: unless-stopped to bring the probe back")
    TIMES["probe_restarted_s"] = round(time.monotonic() - began, 1)

    def leased_again() -> bool:
        held = project.run("exec", "-T", "postgres", "psql", "-U", "castwatch", "-d", "castwatch", "-tAc",
                           "SELECT holder FROM leases WHERE resource LIKE 'channel:%' AND expires_at > now()",
                           timeout_s=60).stdout.split()
        probes = _api(project, "GET", "/api/v1/probes").json()
        beat = [p for p in probes if p["name"] == name and p["stats"].get("channels") == 1
                and datetime.fromisoformat(p["last_heartbeat_at"]) > killed_at]
        return held == [name] and bool(beat)

    wait_until(leased_again, timeout_s=120, interval_s=2,
               what="the restarted probe to hold its channel's lease")
    TIMES["probe_leases_back_s"] = round(time.monotonic() - began, 1)
    wait_until(lambda: _all_healthy(project), timeout_s=120, interval_s=3,
               what="the probe's healthcheck again")


def test_the_smoke_files_are_where_the_docs_say() -> None:
    docs = (REPO / "docs" / "stack.md").read_text()
    assert "What the smoke run proves" in docs
    for path in ("deploy/smoke/docker-compose.smoke.yml", "deploy/smoke/build-images.sh",
                 "deploy/smoke/postgres-entrypoint.sh"):
        assert (REPO / path).is_file() and path in docs, path


def test_the_override_keeps_the_real_services_and_publishes_on_127_0_0_1(tmp_path) -> None:
    import shutil

    import yaml
    from compose_smoke import compose_command

    if shutil.which("docker-compose") is None and shutil.which("docker") is None:
        pytest.fail("docker-compose is not installed (scripts/test.sh installs it)")
    for name in ("docker-compose.yml", "deploy", "nginx", "prometheus", "grafana"):
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / name)
    env_text = (REPO / "deploy" / ".env.example").read_text().replace("change-me", "s3cret-0")
    (tmp_path / ".env").write_text(env_text.replace("PUBLISH_ADDRESS=0.0.0.0", "PUBLISH_ADDRESS=127.0.0.1"))
    files = ["-f", "docker-compose.yml", "-f", "deploy/smoke/docker-compose.smoke.yml"]
    out = subprocess.run([*compose_command(), *files, "config"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=60,
                         env={**os.environ, "CASTWATCH_SMOKE_SERVICES_IMAGE": "castwatch-smoke-services:x"})
    assert out.returncode == 0, out.stderr
    services = yaml.safe_load(out.stdout)["services"]
    assert set(services) >= {"postgres", "influxdb", "migrate", *CASTWATCH, "prometheus", "alertmanager",
                             "grafana", "nginx", "origin"}
    assert all(str(p).startswith("127.0.0.1:") for p in services["nginx"]["ports"])
    for name in CASTWATCH:  # the castwatch services are the real ones, unchanged but for timing
        assert services[name]["healthcheck"]["test"][1] == "python"
        assert services[name]["restart"] == "unless-stopped"
    assert "castwatch check" in " ".join(services["migrate"]["entrypoint"])
