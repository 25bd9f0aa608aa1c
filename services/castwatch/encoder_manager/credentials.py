"""Resolve an encoder's ``credentials_ref`` (``env:NAME`` or ``file:/path``) to a login.

The secret is ``user:password`` or just ``password`` (the user then comes from the driver
options' ``username``, else ``admin``). Drivers that take no user name (OBS) get the whole
secret as the password, ``:`` included (:func:`resolve` with ``password_only=True``).
Only variables with the configured prefix and files under the configured directory may be
named (see ``encoder_manager.settings``).
"""

from __future__ import annotations

import os
from pathlib import Path

from castwatch.encoder_manager.settings import EncoderSettings


class CredentialsError(ValueError):
    """The reference is malformed, not allowed, or names nothing."""


def check_ref(ref: str, settings: EncoderSettings) -> str | None:
    """Why ``ref`` would be refused (without reading the secret), or None when its form is fine.

    For the API to reject a bad ``credentials_ref`` on save instead of the manager at poll time.
    """
    scheme, sep, name = ref.partition(":")
    if not sep or not name:
        return "must be env:NAME or file:/path"
    if scheme == "env":
        if not name.startswith(settings.credentials_env_prefix):
            return f"env: names must start with {settings.credentials_env_prefix}"
        return None
    if scheme == "file":
        base = Path(settings.credentials_dir).resolve()
        if base not in Path(name).resolve().parents:
            return f"file: paths must be under {base}"
        return None
    return f"unknown scheme {scheme!r}: use env: or file:"


def read_secret(ref: str, settings: EncoderSettings) -> str:
    """The secret ``ref`` names; :class:`CredentialsError` when refused, unset or unreadable."""
    problem = check_ref(ref, settings)
    if problem is not None:
        raise CredentialsError(f"credentials_ref {ref!r}: {problem}")
    scheme, _, name = ref.partition(":")
    if scheme == "env":
        value = settings.credentials_env.get(name)
        if value is None:
            raise CredentialsError(f"env:{name} is not set")
        return value
    try:
        return Path(name).resolve().read_text().strip()
    except OSError as exc:
        raise CredentialsError(f"file:{name}: {os.strerror(exc.errno or 0)}") from None


def resolve(ref: str | None, settings: EncoderSettings, default_user: str | None = None,
            *, password_only: bool = False) -> tuple[str | None, str | None]:
    """``(username, password)`` for ``ref``; ``(default_user, None)`` when there is no ref.

    ``password_only``: the device has no user name, so the secret is never split at ``:``.
    """
    if not ref:
        return default_user, None
    secret = read_secret(ref, settings)
    if password_only:
        return default_user, secret
    user, sep, password = secret.partition(":")
    if sep:
        return user or default_user, password
    return default_user, secret
