"""Stream keys at rest: sealed (encrypted) with ``CASTWATCH_SECRET_KEY``, shown redacted.

An encoder's ``output.stream_key`` is write-only in the API. It is stored sealed, as
``enc:v1:<last 4 characters>:<Fernet token>`` (AES-128-CBC + HMAC-SHA256, from
``cryptography``), with the key derived from ``CASTWATCH_SECRET_KEY`` (every process that needs
it — the API to seal, the encoder manager to open — gets the same value). Every view shows it
as ``sk-…1234``: REST responses, Socket.IO events and Grafana's curated views.

Pure functions plus one small class; no settings are read here.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

SEALED_PREFIX = "enc:v1:"
REDACTED_PREFIX = "sk-…"


class SealingError(ValueError):
    """A sealed value cannot be opened (wrong ``CASTWATCH_SECRET_KEY`` or damaged)."""


def fernet_key(secret: str) -> bytes:
    """The Fernet key for ``secret`` (any string; it is stretched by SHA-256, domain-separated)."""
    return base64.urlsafe_b64encode(hashlib.sha256(b"castwatch-stream-keys\0" + secret.encode()).digest())


def is_sealed(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(SEALED_PREFIX)


def is_redacted(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(REDACTED_PREFIX)


def redact(value: Any) -> str:
    """``sk-…1234``: the last four characters of a clear or sealed stream key, never more."""
    if is_sealed(value):
        tail = str(value)[len(SEALED_PREFIX):].split(":", 1)[0]
    else:
        text = str(value)
        tail = text[-4:] if len(text) >= 12 else ""  # a short key shows nothing of itself
    return REDACTED_PREFIX + tail


def redact_output(output: dict[str, Any] | None) -> dict[str, Any]:
    """``output`` with its ``stream_key`` redacted (a copy; other fields as they are)."""
    shown = dict(output or {})
    if shown.get("stream_key") is not None:
        shown["stream_key"] = redact(shown["stream_key"])
    return shown


class Sealer:
    """Seals and opens stream keys with one ``CASTWATCH_SECRET_KEY``."""

    def __init__(self, secret: str) -> None:
        self._fernet = Fernet(fernet_key(secret))

    def seal(self, clear: str) -> str:
        tail = clear[-4:] if len(clear) >= 12 else ""
        token = self._fernet.encrypt(clear.encode()).decode()
        return f"{SEALED_PREFIX}{tail}:{token}"

    def open(self, stored: str) -> str:
        """The clear value of a sealed one (a clear legacy value is returned as it is)."""
        if not is_sealed(stored):
            return stored
        token = stored[len(SEALED_PREFIX):].split(":", 1)[1]
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except (InvalidToken, ValueError):
            raise SealingError("the stream key cannot be opened with this CASTWATCH_SECRET_KEY") from None

    def seal_output(self, new: dict[str, Any], stored: dict[str, Any] | None = None) -> dict[str, Any]:
        """``new`` as it is to be stored: a clear ``stream_key`` sealed; the redacted form (a
        client sending back what it read) keeps the ``stored`` sealed value."""
        out = dict(new)
        key = out.get("stream_key")
        if key is None:
            return out
        if is_redacted(key):
            old = (stored or {}).get("stream_key")
            if old is not None and redact(old) == key:
                out["stream_key"] = old if is_sealed(old) else self.seal(str(old))
                return out
            raise SealingError("stream_key: send the new key, or the redacted value you read to keep it")
        if not is_sealed(key):
            out["stream_key"] = self.seal(str(key))
        return out

    def open_output(self, output: dict[str, Any]) -> dict[str, Any]:
        """``output`` with a clear ``stream_key`` (for the encoder manager, which sends it on)."""
        out = dict(output)
        if is_sealed(out.get("stream_key")):
            out["stream_key"] = self.open(out["stream_key"])
        return out
