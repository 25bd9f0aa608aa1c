"""Old import path of the environment helpers, kept while other branches still import it.

New code imports :mod:`castwatch.common.env` (helpers, ``ConfigError``, ``InfluxSettings``) and
:mod:`castwatch.settings` (the composed ``Settings``). This module re-exports only the former:
``common`` imports no area, so the composed settings cannot live here.
"""

from __future__ import annotations

from castwatch.common.env import (
    PLACEHOLDER_SECRETS,
    STACK_SECRETS,
    ConfigError,
    InfluxSettings,
    env_bind,
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_required,
    env_secret,
    env_str,
)

__all__ = [
    "PLACEHOLDER_SECRETS", "STACK_SECRETS", "ConfigError", "InfluxSettings", "env_bind", "env_bool",
    "env_choice",
    "env_float", "env_int", "env_required", "env_secret", "env_str",
]
