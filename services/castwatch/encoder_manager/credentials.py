"""Resolve an encoder's ``credentials_ref`` (``env:NAME`` or ``file:/path``) to a login.

The secret is ``user:password`` or just ``password`` (the user then comes from the driver
options' ``username``, else ``admin``). Only variables with the configured prefix and files
under the configured directory may be named (see ``encoder_manager.settings``), and a secret is
given out only for a device address the operator bound it to (:mod:`.bindings`): the check
happens here, every time a driver is built for an address, so no row edit can redirect it.
Drivers that take no user name (OBS) get the whole secret as the password, ``:``
included (:func:`resolve` with ``password_only=True``).
"""

from __future__ import annotations

import os
from pathlib import Path

from castwatch.encoder_manager import bindings
from castwatch.encoder_manager.settings import EncoderSettings


class CredentialsError(ValueError):
    """The reference is malformed, not allowed, or names nothing."""


class UnboundCredentialsError(CredentialsError):
    """The secret is not bound to the device address it would be sent to; it was not read."""


def check_ref(ref: str, settings: EncoderSettings, address: str | None = None) -> str | None:
    """Why ``ref`` would be refused (without reading the secret), or None when it is fine.

    With ``address``, also whether the operator bound the secret to that device address. For
    the API to reject a bad ``credentials_ref`` on save instead of the manager at poll time.
    """
    scheme, sep, name = ref.partition(":")
    if not sep or not name:
        return "must be env:NAME or file:/path"
    if scheme == "env":
        if not name.startswith(settings.credentials_env_prefix):
            return f"env: names must start with {settings.credentials_env_prefix}"
    elif scheme == "file":
        base = Path(settings.credentials_dir).resolve()
        if base not in Path(name).resolve().parents:
            return f"file: paths must be under {base}"
    else:
        return f"unknown scheme {scheme!r}: use env: or file:"
    if address is not None:
        return check_binding(ref, address, settings)
    return None


def check_binding(ref: str, address: str, settings: EncoderSettings) -> str | None:
    """Why the secret ``ref`` may not be sent to ``address`` (None when the operator allows it)."""
    return bindings.allows(settings.credentials_bindings, ref, address, settings.credentials_dir)


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


def resolve(ref: str | None, settings: EncoderSettings, default_user: str | None = None, *,
            address: str, password_only: bool = False) -> tuple[str | None, str | None]:
    """``(username, password)`` for sending to ``address``; ``(default_user, None)`` without a ref.

    Raises :class:`UnboundCredentialsError` (before reading anything) when the operator has not
    bound ``ref`` to ``address``, :class:`CredentialsError` for any other refusal.
    ``password_only``: the device has no user name, so the secret is never split at ``:``.
    """
    if not ref:
        return default_user, None
    problem = check_ref(ref, settings)
    if problem is not None:
        raise CredentialsError(f"credentials_ref {ref!r}: {problem}")
    unbound = check_binding(ref, address, settings)
    if unbound is not None:
        raise UnboundCredentialsError(f"credentials_ref {ref!r} withheld: {unbound}")
    secret = read_secret(ref, settings)
    if password_only:
        return default_user, secret
    user, sep, password = secret.partition(":")
    if sep:
        return user or default_user, password
    return default_user, secret
