"""A real nginx with our config in front of a real ``castwatch api``: REST, the Socket.IO
WebSocket upgrade, gzip, the HTTPS redirect, security headers, size and rate limits."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import socketio
from _stack_support import REPO, build_nginx_harness, free_port, stop_process, tool, wait_until

#: the nginx harness's certificate (set by the ``nginx`` fixture)
CA: list[str] = []


@pytest.fixture(scope="module")
def nginx(api_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(https base URL, http base URL) of our nginx in front of the API; HTTPS is verified
    against the harness's self-signed certificate (``CA`` below)."""
    root = tmp_path_factory.mktemp("nginx")
    harness = build_nginx_harness(root, api_port=api_port, grafana_port=free_port())
    process = subprocess.Popen([tool("nginx"), "-c", str(harness.main_conf), "-e", str(root / "e.log")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    https = f"https://127.0.0.1:{harness.https_port}"
    try:
        CA.append(harness.ca_file)
        wait_until(lambda: requests.get(f"{https}/nginx-health", verify=CA[0], timeout=2).ok,
                   timeout_s=20, what="nginx to answer")
        yield https, f"http://127.0.0.1:{harness.http_port}"
    finally:
        stop_process(process)


def test_rest_goes_through_the_proxy_over_https_with_security_headers(nginx: tuple[str, str]) -> None:
    https, _ = nginx
    response = requests.get(f"{https}/api/v1/health", verify=CA[0], timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "nginx/" not in response.headers.get("Server", "")


def test_plain_http_redirects_to_https(nginx: tuple[str, str]) -> None:
    _, http = nginx
    response = requests.get(f"{http}/api/v1/channels?x=1", allow_redirects=False, timeout=10)
    assert response.status_code == 301
    assert response.headers["Location"].startswith("https://127.0.0.1")
    assert response.headers["Location"].endswith("/api/v1/channels?x=1")


def test_large_text_responses_are_gzipped(nginx: tuple[str, str]) -> None:
    https, _ = nginx
    vendor = REPO / "services/castwatch/cms_api/web/static"
    script = max(vendor.rglob("*.js"), key=lambda p: p.stat().st_size)
    url = f"{https}/ui/{script.relative_to(vendor).as_posix()}"
    response = requests.get(url, headers={"Accept-Encoding": "gzip"}, verify=CA[0], timeout=10)
    assert response.status_code == 200, url
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.content == script.read_bytes()  # requests un-gzips it


def test_socket_io_upgrades_to_a_websocket_through_the_proxy_and_pushes_changes(
        nginx: tuple[str, str], api_key: str) -> None:
    https, _ = nginx
    http_session = requests.Session()
    http_session.verify = CA[0]
    client = socketio.Client(http_session=http_session, ssl_verify=CA[0], reconnection=False)
    seen: list[dict[str, object]] = []
    arrived = threading.Event()

    @client.on("channel", namespace="/live")
    def _on_channel(data: dict[str, object]) -> None:
        seen.append(data)
        arrived.set()

    client.connect(https, namespaces=["/live"], transports=["websocket"], auth={"token": api_key},
                   wait_timeout=15)
    try:
        assert client.transport() == "websocket"
        created = requests.post(f"{https}/api/v1/channels", verify=CA[0], timeout=10,
                                headers={"Authorization": f"Bearer {api_key}"},
                                json={"channel_code": "NGINX_WS_1", "channel_name": "Through nginx",
                                      "input_url": "http://127.0.0.1:9/live/master.m3u8"})
        assert created.status_code == 201, created.text
        assert arrived.wait(15), "no live update arrived over the proxied WebSocket"
        assert any(event.get("channel_code") == "NGINX_WS_1" for event in seen)
    finally:
        client.disconnect()


def test_metrics_are_not_exposed_and_big_bodies_are_refused(nginx: tuple[str, str]) -> None:
    https, _ = nginx
    assert requests.get(f"{https}/metrics", verify=CA[0], timeout=10).status_code == 404
    huge = requests.post(f"{https}/api/v1/channels", data=b"x" * (2 * 1024 * 1024), verify=CA[0],
                         timeout=20, headers={"Content-Type": "application/json"})
    assert huge.status_code == 413


def test_a_burst_of_api_requests_is_rate_limited(nginx: tuple[str, str]) -> None:
    https, _ = nginx
    session = requests.Session()

    def hit(_: int) -> int:
        return session.get(f"{https}/api/v1/health", verify=CA[0], timeout=20).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(hit, range(200)))
    assert 429 in statuses and 200 in statuses
