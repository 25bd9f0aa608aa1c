"""A real Alertmanager with our config delivers stack alerts to a real ``castwatch api``: a
firing STACK_* alert opens a castwatch alert (source ``stack``), a resolved one resolves it."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from _stack_support import REPO, free_port, stop_process, tool, wait_until
from sqlalchemy import Engine, select
from sqlalchemy.orm import sessionmaker

from castwatch.common.models import Alert

LABELS = {"alertname": "STACK_PROCESS_DOWN", "job": "castwatch_probe", "instance": "probe-1:9101",
          "severity": "critical"}


def _test_config(root: Path, api_port: int, api_key: str) -> Path:
    """Our alertmanager.yml with the API on loopback, the key file here and short group timers."""
    text = (REPO / "prometheus/alertmanager.yml").read_text()
    (root / "castwatch_api_key").write_text(api_key)
    for old, new in (("http://api:8080/", f"http://127.0.0.1:{api_port}/"),
                     ("/etc/alertmanager/secrets/castwatch_api_key", str(root / "castwatch_api_key")),
                     ("group_wait: 30s", "group_wait: 1s"), ("group_interval: 5m", "group_interval: 1s")):
        assert text.count(old) == 1, f"prometheus/alertmanager.yml no longer contains {old!r}"
        text = text.replace(old, new)
    path = root / "alertmanager.yml"
    path.write_text(text)
    return path


@pytest.fixture()
def alertmanager(api_port: int, api_key: str, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    config = _test_config(tmp_path, api_port, api_key)
    process = subprocess.Popen(
        [tool("prometheus-alertmanager"), f"--config.file={config}", f"--storage.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: requests.get(f"{url}/-/ready", timeout=2).ok, timeout_s=30,
                   what="Alertmanager to be ready")
        yield url
    finally:
        stop_process(process)


def _post(url: str, *, ends_at: datetime | None = None) -> None:
    alert: dict[str, object] = {"labels": LABELS, "annotations": {
        "summary": "castwatch process castwatch_probe on probe-1:9101 is down"}}
    if ends_at is not None:
        alert["endsAt"] = ends_at.isoformat()
    requests.post(f"{url}/api/v2/alerts", json=[alert], timeout=10).raise_for_status()


def test_a_stack_alert_reaches_castwatch_and_resolves_there(alertmanager: str, engine: Engine) -> None:
    factory = sessionmaker(engine)

    def stack_alert() -> Alert | None:
        with factory() as session:
            return session.scalar(select(Alert).where(Alert.source == "stack",
                                                      Alert.alert_type == "STACK_PROCESS_DOWN"))

    _post(alertmanager)
    alert = wait_until(stack_alert, timeout_s=30, what="the webhook to open a castwatch alert")
    assert alert.severity == "critical" and alert.state == "firing"
    assert "probe-1:9101" in alert.summary

    _post(alertmanager, ends_at=datetime.now(UTC))
    wait_until(lambda: (a := stack_alert()) is not None and a.state == "resolved", timeout_s=30,
               what="the resolved notification to resolve the castwatch alert")
