"""Notifier settings from the environment, and templates overridden from a directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from castwatch.common.env import ConfigError
from castwatch.notifier.render import Renderer
from castwatch.notifier.settings import NotifySettings


def test_defaults_run_without_any_transport() -> None:
    settings = NotifySettings.from_env({})
    assert not settings.telegram.configured and not settings.smtp.configured
    assert settings.metrics_bind == ("127.0.0.1", 9103)


def test_every_variable_is_read_and_secrets_come_from_files(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("42:SECRET\n")
    settings = NotifySettings.from_env({
        "TELEGRAM_BOT_TOKEN_FILE": str(token), "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9/bot",
        "SMTP_HOST": "mail", "SMTP_SECURITY": "tls", "SMTP_PASSWORD": "pw", "SMTP_FROM": "cw@ops.example",
        "SMTP_TIMEOUT_S": "3", "NOTIFY_POLL_INTERVAL_S": "0.5", "NOTIFY_PUBLIC_URL": "https://cw.example/",
        "NOTIFY_TEMPLATES_DIR": str(tmp_path), "NOTIFY_METRICS_BIND": "0.0.0.0:9200",
        "NOTIFY_INCIDENT_UPDATE_S": "10",
    })
    assert settings.incident_update_s == 10 and NotifySettings.from_env({}).incident_update_s == 5
    assert settings.telegram.token == "42:SECRET"
    assert settings.telegram.api_base_url == "http://127.0.0.1:9/bot"
    assert (settings.smtp.host, settings.smtp.port, settings.smtp.security) == ("mail", 465, "tls")
    assert settings.smtp.password == "pw" and settings.smtp.timeout_s == 3
    assert settings.public_url == "https://cw.example" and settings.templates_dir == tmp_path
    assert settings.metrics_bind == ("0.0.0.0", 9200) and settings.poll_interval_s == 0.5


@pytest.mark.parametrize(("env", "name"), [
    ({"SMTP_SECURITY": "ssl"}, "SMTP_SECURITY"),
    ({"NOTIFY_POLL_INTERVAL_S": "soon"}, "NOTIFY_POLL_INTERVAL_S"),
    ({"NOTIFY_INCIDENT_UPDATE_S": "-1"}, "NOTIFY_INCIDENT_UPDATE_S"),
    ({"TELEGRAM_API_BASE_URL": "api.telegram.org"}, "TELEGRAM_API_BASE_URL"),
    ({"TELEGRAM_BOT_TOKEN": "change-me"}, "TELEGRAM_BOT_TOKEN"),
])
def test_a_bad_value_names_its_variable(env: dict[str, str], name: str) -> None:
    with pytest.raises(ConfigError) as info:
        NotifySettings.from_env(env)
    assert info.value.name == name


def test_a_template_in_the_override_directory_wins_for_its_kind_only(tmp_path: Path) -> None:
    (tmp_path / "telegram").mkdir()
    (tmp_path / "telegram" / "opened.html.j2").write_text("CUSTOM {{ alert.summary }}")
    renderer = Renderer(tmp_path)
    alert = {"id": 1, "severity": "major", "alert_type": "X", "state": "firing", "summary": "a<b",
             "where": "w", "opened_at": "t", "age": "1 s", "root_cause": None, "cause": None,
             "remediation": None}
    ctx = {"items": [{"alert": alert, "event": None, "folded": []}], "alert": alert}
    assert renderer.telegram("opened", ctx) == "CUSTOM a&lt;b"
    assert "CUSTOM" not in renderer.telegram("resolved", ctx)
