"""Helpers shared by the CMS API tests (plain functions; fixtures live in conftest)."""

from __future__ import annotations

import dataclasses
from typing import Any

from castwatch.settings import Settings

#: seals stream keys at rest in the API tests
SECRET_KEY = "test-secret-key-for-stream-keys"
#: the operator's device-secret bindings the API tests run with (docs/security.md)
BINDINGS = "env:ENCODER_SECRET_HELO = 10.0.0.5 helo-2.studio.lan:8080"


def api_settings(database_url: str | None = None, **api: Any) -> Settings:
    base = Settings.from_env({"ENCODERS_CREDENTIALS_BINDINGS": BINDINGS,
                              "EGRESS_ALLOW": "127.0.0.1/32,::1/128",
                              "CASTWATCH_SECRET_KEY": SECRET_KEY})
    options = {"rate_limit_per_minute": 100_000, "key_cache_s": 0.0} | api
    return dataclasses.replace(base, database_url=database_url,
                               api=dataclasses.replace(base.api, **options))


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def channel_body(**overrides: Any) -> dict[str, Any]:
    body = {"channel_code": "CH_TV_HD_001", "channel_name": "News HD", "channel_type": "LIVE",
            "tier": 1, "probe_id": None, "input_url": "https://origin.example/news/master.m3u8",
            "template_id": None}
    return body | overrides
