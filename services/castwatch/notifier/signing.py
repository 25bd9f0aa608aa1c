"""HMAC signing of Telegram button callback data (pure functions, no I/O).

Telegram hands ``callback_data`` back verbatim from whoever presses a button, so the data is
signed: ``cw:<action>:d<delivery id>:<tag>`` where ``tag`` is the first 16 bytes of
HMAC-SHA256(key, ``cw:<action>:d<delivery id>``) in unpadded base64url (22 characters). The
longest value (``cw:resolve:d`` + a 19-digit id + ``:`` + 22) is 54 bytes, under Telegram's
64-byte limit. Verification is constant-time; anything that does not verify is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

#: Telegram's limit on ``callback_data`` (bytes).
CALLBACK_DATA_LIMIT = 64
TAG_BYTES = 16
DERIVATION_LABEL = b"castwatch telegram callback key v1"


def derive_key(secret: str | None, bot_token: str | None) -> bytes:
    """The callback key: ``NOTIFY_CALLBACK_SECRET`` when set, else derived from the bot token.

    The derived key is HMAC-SHA256(bot token, label): stable across restarts and replicas
    sharing the token, and unknown to anyone who does not hold the token.
    """
    if secret:
        return secret.encode()
    if bot_token:
        return hmac.new(bot_token.encode(), DERIVATION_LABEL, hashlib.sha256).digest()
    return b""


def _tag(key: bytes, payload: str) -> str:
    digest = hmac.new(key, payload.encode(), hashlib.sha256).digest()[:TAG_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign(key: bytes, payload: str) -> str:
    """``payload`` with its tag appended; raises ValueError without a key or over 64 bytes."""
    if not key:
        raise ValueError("no callback key: set NOTIFY_CALLBACK_SECRET or TELEGRAM_BOT_TOKEN")
    signed = f"{payload}:{_tag(key, payload)}"
    if len(signed.encode()) > CALLBACK_DATA_LIMIT:
        raise ValueError(f"callback data over {CALLBACK_DATA_LIMIT} bytes: {payload!r}")
    return signed


def verify(key: bytes, data: str | None) -> str | None:
    """The payload of signed ``data``, or None when unsigned, forged or malformed."""
    if not key or not data or len(data.encode()) > CALLBACK_DATA_LIMIT:
        return None
    payload, sep, tag = data.rpartition(":")
    if not sep or not payload:
        return None
    return payload if hmac.compare_digest(tag.encode(), _tag(key, payload).encode()) else None
