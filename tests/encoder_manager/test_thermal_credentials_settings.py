"""Thermal management and load balancing (pure), credentials references, settings."""

from __future__ import annotations

import pytest

from castwatch.common.env import ConfigError
from castwatch.encoder_manager.credentials import CredentialsError, check_ref
from castwatch.encoder_manager.credentials import resolve as resolve_for
from castwatch.encoder_manager.settings import EncoderSettings
from castwatch.encoder_manager.thermal import CoolDown, Load, Output, choose_encoder, headroom, shed_outputs
from castwatch.settings import Settings


def test_headroom_is_the_tightest_of_cpu_temperature_and_slots():
    assert headroom(Load(1, cpu_percent=45, temperature_c=50, streams=0, max_streams=2)) == 0.5
    assert headroom(Load(1, cpu_percent=10, temperature_c=70, streams=0)) == pytest.approx(0.1)
    assert headroom(Load(1, cpu_percent=10, temperature_c=30, streams=1, max_streams=1)) == 0.0


def test_an_encoder_heading_for_overheat_or_cooling_takes_no_load():
    assert headroom(Load(1, 10, 30, 0, overheat_predicted=True)) == 0.0
    assert headroom(Load(1, 10, 30, 0, cooling=True)) == 0.0


def test_outputs_go_to_the_encoder_with_the_most_headroom():
    loads = [Load(1, 80, 60, 0), Load(2, 20, 40, 0), Load(3, 10, 40, 0, cooling=True)]
    assert choose_encoder(loads) == 2
    assert choose_encoder(loads, exclude=frozenset({2})) == 1
    assert choose_encoder([Load(1, 95, 80, 0)]) is None


def test_unknown_readings_count_as_half_headroom():
    assert headroom(Load(1, None, None, 0)) == 0.5


def test_the_least_important_outputs_are_shed_first():
    outputs = [Output("main", 10), Output("backup-feed", 1), Output("preview", 0)]
    assert [o.name for o in shed_outputs(outputs, 2)] == ["preview", "backup-feed"]
    assert shed_outputs(outputs, 0) == []


def test_cool_down_holds_an_encoder_out_until_it_stays_cool():
    cd = CoolDown(margin_c=10, hold_s=60)
    assert not cd.cooling(1, 80, 75, 0.0)  # never started
    cd.start(1)
    assert cd.cooling(1, 70, 75, 0.0)  # still above limit − margin
    assert cd.cooling(1, 60, 75, 10.0)  # cool, hold starts
    assert cd.cooling(1, 66, 75, 30.0)  # warmed up again: hold restarts
    assert cd.cooling(1, 60, 75, 40.0)
    assert cd.cooling(1, 60, 75, 99.0)
    assert not cd.cooling(1, 60, 75, 100.0)


def settings(**env: str) -> EncoderSettings:
    bound = {"ENCODERS_CREDENTIALS_BINDINGS": "env:ENCODER_SECRET_HELO = dev; env:ENCODER_SECRET_OBS = dev;"
                                              "env:DATABASE_URL = dev; env:ENCODER_SECRET_NONE = dev"}
    if "ENCODERS_CREDENTIALS_DIR" in env:
        bound["ENCODERS_CREDENTIALS_BINDINGS"] += ("; file:monarch = dev; file:missing = dev;"
                                                   "file:/etc/passwd = dev")
    return EncoderSettings.from_env(bound | env)


def resolve(ref, cfg, default_user=None):
    return resolve_for(ref, cfg, default_user, address="dev:80")


def test_env_credentials_must_carry_the_prefix():
    cfg = settings(ENCODER_SECRET_HELO="operator:s3cret", DATABASE_URL="postgresql://x")
    assert resolve("env:ENCODER_SECRET_HELO", cfg) == ("operator", "s3cret")
    with pytest.raises(CredentialsError, match="must start with ENCODER_SECRET_"):
        resolve("env:DATABASE_URL", cfg)
    with pytest.raises(CredentialsError, match="not set"):
        resolve("env:ENCODER_SECRET_NONE", cfg)


def test_a_bare_secret_is_a_password_with_the_default_user():
    cfg = settings(ENCODER_SECRET_OBS="only-a-password")
    assert resolve("env:ENCODER_SECRET_OBS", cfg, "admin") == ("admin", "only-a-password")
    assert resolve(None, cfg, "admin") == ("admin", None)


def test_file_credentials_must_live_under_the_credentials_dir(tmp_path):
    secret = tmp_path / "monarch"
    secret.write_text("admin:pw\n")
    cfg = settings(ENCODERS_CREDENTIALS_DIR=str(tmp_path))
    assert resolve(f"file:{secret}", cfg) == ("admin", "pw")
    with pytest.raises(CredentialsError, match="must be under"):
        resolve("file:/etc/passwd", cfg)
    with pytest.raises(CredentialsError):
        resolve(f"file:{tmp_path}/missing", cfg)
    with pytest.raises(CredentialsError):
        resolve("vault:thing", cfg)


def test_a_reference_can_be_checked_without_reading_it(tmp_path):
    cfg = settings(ENCODERS_CREDENTIALS_DIR=str(tmp_path))
    assert check_ref("env:ENCODER_SECRET_ANY", cfg) is None
    assert check_ref(f"file:{tmp_path}/not-yet-there", cfg) is None
    assert "must start with" in (check_ref("env:HELO_PASSWORD", cfg) or "")
    assert check_ref("plaintext-password", cfg) == "must be env:NAME or file:/path"


def test_settings_read_every_encoders_variable():
    cfg = Settings.from_env({"ENCODERS_METRICS_BIND": "0.0.0.0:9200", "ENCODERS_POLL_TIMEOUT_S": "0.4",
                             "ENCODERS_REPLICA_NAME": "enc-2", "ENCODERS_POLL_INTERVAL_S": "0.5"}).encoders
    assert cfg.metrics_bind == ("0.0.0.0", 9200) and cfg.poll_timeout_s == 0.4
    assert cfg.replica_name == "enc-2" and cfg.poll_interval_s == 0.5


def test_a_bad_setting_names_its_variable():
    with pytest.raises(ConfigError, match="ENCODERS_POLL_TIMEOUT_S"):
        Settings.from_env({"ENCODERS_POLL_TIMEOUT_S": "soon"})


def test_secrets_do_not_show_in_the_settings_repr():
    assert "hunter2" not in repr(settings(ENCODER_SECRET_X="hunter2"))
