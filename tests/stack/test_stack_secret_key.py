"""`castwatch up` gives its processes one CASTWATCH_SECRET_KEY when the operator set none."""

from __future__ import annotations

import os
import stat

from castwatch.settings import Settings
from castwatch.up import ensure_secret_key


def test_up_makes_one_private_secret_key_and_reuses_it(tmp_path, monkeypatch):
    monkeypatch.delenv("CASTWATCH_SECRET_KEY_FILE", raising=False)
    settings = Settings(data_dir=tmp_path / "data")
    ensure_secret_key(settings)
    path = tmp_path / "data" / "secret_key"
    assert os.environ["CASTWATCH_SECRET_KEY_FILE"] == str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = path.read_text()
    assert len(first) >= 40
    ensure_secret_key(settings)
    assert path.read_text() == first
    assert Settings.from_env(dict(os.environ) | {"CASTWATCH_DATA_DIR": str(tmp_path)}).secret_key == first


def test_an_operators_key_is_left_alone(tmp_path, monkeypatch):
    monkeypatch.delenv("CASTWATCH_SECRET_KEY_FILE", raising=False)
    ensure_secret_key(Settings(data_dir=tmp_path, secret_key="operator"))
    assert not (tmp_path / "secret_key").exists() and "CASTWATCH_SECRET_KEY_FILE" not in os.environ
