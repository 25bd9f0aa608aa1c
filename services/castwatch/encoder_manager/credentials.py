"""Resolve an encoder's ``credentials_ref`` (``env:NAME`` or ``file:/path``) to a login.

The secret is ``user:password`` or just ``password`` (the user then comes from the driver
options' ``username``, else ``admin``). Only variables with the configured prefix and files
under the configured directory may be named (see ``encoder_manager.settings``).
"""

from __future__ import annotations

import os
from pathlib import Path

from castwatch.encoder_manager.settings import EncoderSettings


class CredentialsError(ValueError):
    """The reference is malformed, not allowed, or names nothing."""


def read_secret(ref: str, settings: EncoderSettings) -> str:
    scheme, sep, name = ref.partition(":")
    if not sep or not name:
        raise CredentialsError(f"credentials_ref {ref!r} must be env:NAME or file:/path")
    if scheme == "env":
        if not name.startswith(settings.credentials_env_prefix):
            raise CredentialsError(f"env:{name} is not allowed: names must start with "
                                   f"{settings.credentials_env_prefix}")
        value = settings.credentials_env.get(name)
        if value is None:
            raise CredentialsError(f"env:{name} is not set")
        return value
    if scheme == "file":
        base = Path(settings.credentials_dir).resolve()
        path = Path(name).resolve()
        if base not in path.parents:
            raise CredentialsError(f"file:{name} is outside {base}")
        try:
            return path.read_text().strip()
        except OSError as exc:
            raise CredentialsError(f"file:{name}: {os.strerror(exc.errno or 0)}") from None
    raise CredentialsError(f"unknown credentials scheme {scheme!r}")


def resolve(ref: str | None, settings: EncoderSettings, default_user: str | None = None
            ) -> tuple[str | None, str | None]:
    """``(username, password)`` for ``ref``; ``(default_user, None)`` when there is no ref."""
    if not ref:
        return default_user, None
    secret = read_secret(ref, settings)
    user, sep, password = secret.partition(":")
    if sep:
        return user or default_user, password
    return default_user, secret
