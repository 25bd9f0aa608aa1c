from __future__ import annotations

import pytest

from castwatch.common.env import ConfigError
from castwatch.settings import Settings


def test_defaults_work_on_a_laptop():
    s = Settings.from_env({})
    assert s.database_url is None
    assert s.api.bind == ("127.0.0.1", 8080)
    assert s.influx.url is None


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"API_BIND": "nonsense"}, "API_BIND"),
        ({"INFLUXDB_URL": "ftp://x"}, "INFLUXDB_URL"),
        ({"INFLUXDB_BATCH_SIZE": "many"}, "INFLUXDB_BATCH_SIZE"),
        ({"INFLUXDB_TOKEN": "change-me"}, "INFLUXDB_TOKEN"),
        ({"DATABASE_URL": "postgresql://castwatch:change-me@db/castwatch"}, "DATABASE_URL"),
        ({"INFLUXDB_TOKEN_FILE": "/nonexistent/token"}, "INFLUXDB_TOKEN_FILE"),
    ],
)
def test_a_bad_variable_is_named_in_the_error(env, name):
    with pytest.raises(ConfigError) as err:
        Settings.from_env(env)
    assert err.value.name == name
    assert name in str(err.value)


def test_secrets_can_come_from_files(tmp_path):
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    s = Settings.from_env({"INFLUXDB_TOKEN_FILE": str(token), "DATABASE_URL": "postgres://u@h/db"})
    assert s.influx.token == "s3cret"
    assert s.database_url == "postgresql://u@h/db"


def test_settings_are_frozen():
    s = Settings.from_env({})
    with pytest.raises(AttributeError):
        s.log_level = "DEBUG"  # type: ignore[misc]
