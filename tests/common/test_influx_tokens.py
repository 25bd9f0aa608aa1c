"""Grafana's read-only InfluxDB token (issue #11): created, kept, rotated when tampered with.

Against a stand-in of InfluxDB's v2 token API on loopback (tests/support/influx_auth.py), through
InfluxData's own client, and through the real ``castwatch grafana-token`` command.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from castwatch.common.influx_tokens import (
    DESCRIPTION,
    Grant,
    ReadTokenError,
    ensure_read_token,
    plan,
    read_only_for,
)
from tests.support.influx_auth import BUCKET_ID, ORG_ID, InfluxAuthApi

ADMIN = "admin-token-for-the-test"


@pytest.fixture
def influx() -> Iterator[InfluxAuthApi]:
    with InfluxAuthApi(admin_token=ADMIN) as api:
        yield api


def _ensure(api: InfluxAuthApi, out: Path, **overrides: str):  # type: ignore[no-untyped-def]
    kwargs = {"url": api.url, "admin_token": ADMIN, "org": "castwatch", "bucket": "castwatch", **overrides}
    return ensure_read_token(out_dir=out, timeout_ms=2_000, **kwargs)


def _ours(api: InfluxAuthApi) -> list[dict]:  # type: ignore[type-arg]
    return [a for a in api.authorizations.values() if a["description"] == DESCRIPTION]


def test_the_first_run_creates_a_token_that_can_only_read_the_bucket(influx: InfluxAuthApi,
                                                                      tmp_path: Path) -> None:
    outcome = _ensure(influx, tmp_path)
    assert outcome.created
    [auth] = _ours(influx)
    assert [(p["action"], p["resource"]["type"], p["resource"]["id"]) for p in auth["permissions"]] \
        == [("read", "buckets", BUCKET_ID)]
    assert auth["status"] == "active" and auth["orgID"] == ORG_ID
    assert (tmp_path / "token").read_text() == auth["token"] != ADMIN
    assert (tmp_path / "authorization-id").read_text() == auth["id"] == outcome.authorization_id
    assert stat.S_IMODE((tmp_path / "token").stat().st_mode) == 0o644  # Grafana runs as another user


def test_every_later_run_keeps_the_same_token(influx: InfluxAuthApi, tmp_path: Path) -> None:
    first = _ensure(influx, tmp_path)
    token = (tmp_path / "token").read_text()
    for _ in range(3):
        again = _ensure(influx, tmp_path)
        assert (again.created, again.authorization_id, again.deleted) == (False, first.authorization_id, 0)
    assert (tmp_path / "token").read_text() == token
    assert len(_ours(influx)) == 1
    assert [m for m, _ in influx.requests].count("POST") == 1


@pytest.mark.parametrize("tamper", ["write-added", "deactivated", "other-bucket", "deleted"])
def test_a_tampered_grant_is_replaced_and_the_old_token_revoked(influx: InfluxAuthApi, tmp_path: Path,
                                                                 tamper: str) -> None:
    first = _ensure(influx, tmp_path)
    auth = influx.authorizations[first.authorization_id]
    old_token = auth["token"]
    if tamper == "write-added":
        auth["permissions"].append({"action": "write", "resource": {"type": "buckets", "id": BUCKET_ID}})
    elif tamper == "deactivated":
        auth["status"] = "inactive"
    elif tamper == "other-bucket":
        auth["permissions"][0]["resource"]["id"] = "ffffffffffffffff"
    else:
        del influx.authorizations[first.authorization_id]
    second = _ensure(influx, tmp_path)
    assert second.created and second.authorization_id != first.authorization_id
    assert [a["id"] for a in _ours(influx)] == [second.authorization_id]
    assert (tmp_path / "token").read_text() not in ("", old_token)


def test_a_lost_token_file_gets_a_new_token_and_the_orphan_is_deleted(influx: InfluxAuthApi,
                                                                      tmp_path: Path) -> None:
    first = _ensure(influx, tmp_path / "volume-1")
    second = _ensure(influx, tmp_path / "volume-2")  # the volume was recreated
    assert second.created and second.deleted == 1
    assert first.authorization_id not in influx.authorizations
    assert len(_ours(influx)) == 1


def test_other_authorizations_are_never_touched(influx: InfluxAuthApi, tmp_path: Path) -> None:
    influx.route("POST", "/api/v2/authorizations", {}, {
        "orgID": ORG_ID, "description": "telegraf", "permissions": [
            {"action": "write", "resource": {"type": "buckets", "id": BUCKET_ID}}]})
    _ensure(influx, tmp_path)
    _ensure(influx, tmp_path / "again")
    assert [a["description"] for a in influx.authorizations.values()].count("telegraf") == 1


def test_a_refused_admin_token_is_a_clear_error_and_leaves_the_files(influx: InfluxAuthApi,
                                                                     tmp_path: Path) -> None:
    _ensure(influx, tmp_path)
    before = (tmp_path / "token").read_text()
    with pytest.raises(ReadTokenError, match=r"HTTP 401.*INFLUXDB_TOKEN"):
        _ensure(influx, tmp_path, admin_token="wrong")
    assert (tmp_path / "token").read_text() == before


def test_a_missing_bucket_or_org_names_the_setting(influx: InfluxAuthApi, tmp_path: Path) -> None:
    with pytest.raises(ReadTokenError, match="INFLUXDB_BUCKET"):
        _ensure(influx, tmp_path, bucket="nope")
    with pytest.raises(ReadTokenError, match="INFLUXDB_ORG"):
        _ensure(influx, tmp_path, org="nope")
    assert not (tmp_path / "token").exists()


def test_influxdb_down_or_hung_is_a_bounded_clear_error(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(ReadTokenError, match="cannot reach InfluxDB"):
        ensure_read_token(url=f"http://127.0.0.1:{port}", admin_token=ADMIN, org="castwatch",
                          bucket="castwatch", out_dir=tmp_path, timeout_ms=500)
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(8)  # accepts, never answers
    try:
        with pytest.raises(ReadTokenError, match="cannot reach InfluxDB"):
            ensure_read_token(url=f"http://127.0.0.1:{hung.getsockname()[1]}", admin_token=ADMIN,
                              org="castwatch", bucket="castwatch", out_dir=tmp_path, timeout_ms=300)
    finally:
        hung.close()


def test_the_decision_is_pure() -> None:
    good = Grant("a", True, "o", (("read", "buckets", "b"),))
    assert read_only_for(good, org_id="o", bucket_id="b")
    assert not read_only_for(Grant("x", True, "o", (("read", "buckets", "b"), ("write", "buckets", "b"))),
                             org_id="o", bucket_id="b")
    assert not read_only_for(Grant("x", True, "o", (("read", "buckets", None),)),  # every bucket
                             org_id="o", bucket_id="b")
    assert plan([good, Grant("c", True, "o", (("read", "buckets", "b"),))], "a",
                org_id="o", bucket_id="b") == ("a", ["c"])
    assert plan([good], None, org_id="o", bucket_id="b") == (None, ["a"])


def test_the_castwatch_command_exits_0_then_1_with_a_message(influx: InfluxAuthApi, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INFLUXDB_", "DATABASE_URL"))}
    env.update(INFLUXDB_URL=influx.url, INFLUXDB_TOKEN=ADMIN, INFLUXDB_ORG="castwatch",
               INFLUXDB_BUCKET="castwatch")
    command = [sys.executable, "-m", "castwatch.cli", "grafana-token", "--out", str(tmp_path)]
    ok = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert "created" in ok.stderr and (tmp_path / "token").exists()
    env["INFLUXDB_TOKEN"] = "wrong"
    bad = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1
    assert "INFLUXDB_TOKEN must be the all-access admin token" in bad.stderr
    assert "wrong" not in bad.stderr  # the refused secret is not echoed
