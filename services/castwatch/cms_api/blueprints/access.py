"""Who am I (``GET /api/v1/me``) and API-key administration (``/api/v1/keys``, admin scope).

Keys are made by the same code as ``castwatch keys`` (:func:`castwatch.cms_api.auth.create_key`):
the plaintext is returned once, in the ``201`` answer of ``POST /api/v1/keys``; only its SHA-256
and an 11-character prefix are stored. Revoking is idempotent. An admin cannot revoke the key
it is calling with unless the body says ``{"allow_self": true}`` (409 ``own_key`` otherwise), so
a slip of the mouse in the console does not lock its operator out.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from flask import Blueprint
from pydantic import BaseModel, Field
from sqlalchemy import select

from castwatch.cms_api.auth import create_key, key_state, revoke_key
from castwatch.cms_api.context import api_context, db, principal
from castwatch.cms_api.crud import get_or_404
from castwatch.cms_api.errors import ApiError
from castwatch.cms_api.registry import api_route
from castwatch.cms_api.schemas.base import Model, OutModel, text
from castwatch.common.models import ApiKey, utcnow

bp = Blueprint("access", __name__)

class MeOut(BaseModel):
    name: str
    scope: str
    key_id: int | None = Field(None, description="null for the anonymous reader")
    expires_at: datetime | None = None


class KeyOut(OutModel):
    id: int
    name: str
    prefix: str
    scope: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    state: str = Field(description="active, expired or revoked")


class KeyCreate(Model):
    """A new key. ``expires_in_days`` omitted → 90 days (as the CLI); ``null`` → never expires."""

    name: Annotated[str, text(100)]
    scope: Literal["read", "write", "admin", "webhook"] = "read"
    expires_in_days: int | None = Field(90, ge=1, le=3650)


class KeyCreated(KeyOut):
    key: str = Field(description="the key itself, shown this once; only its hash is stored")


class RevokeRequest(Model):
    allow_self: bool = Field(False, description="allow revoking the key making this request")


def _out(row: ApiKey, now: datetime) -> KeyOut:
    return KeyOut(id=row.id, name=row.name, prefix=row.prefix, scope=row.scope,
                  created_at=row.created_at, expires_at=row.expires_at, revoked_at=row.revoked_at,
                  last_used_at=row.last_used_at, state=key_state(row, now))


@api_route(bp, "/api/v1/me", response=MeOut, tag="access")
def me() -> MeOut:
    """The caller: the key's name and scope (``anonymous``/``read`` without a key when allowed)."""
    who = principal()
    return MeOut(name=who.name, scope=who.scope, key_id=who.key_id, expires_at=who.expires_at)


@api_route(bp, "/api/v1/keys", response=list[KeyOut], scope="admin", tag="access")
def list_keys() -> list[KeyOut]:
    """Every API key (active, expired and revoked), newest first; never the keys themselves."""
    now = utcnow()
    return [_out(r, now) for r in db().scalars(select(ApiKey).order_by(ApiKey.id.desc()))]


@api_route(bp, "/api/v1/keys", ["POST"], body=KeyCreate, response=KeyCreated, status=201,
           scope="admin", tag="access")
def create_api_key(body: KeyCreate) -> KeyCreated:
    """Create a key; the answer carries the key once (store it now, it cannot be shown again)."""
    session = db()
    expires = timedelta(days=body.expires_in_days) if body.expires_in_days else None
    row, key = create_key(session, name=body.name, scope=body.scope, expires_in=expires)
    session.commit()
    return KeyCreated(**_out(row, utcnow()).model_dump(), key=key)


@api_route(bp, "/api/v1/keys/<int:key_id>/revoke", ["POST"], body=RevokeRequest,
           body_required=False, response=KeyOut, scope="admin", errors=(404, 409), tag="access")
def revoke_api_key(key_id: int, body: RevokeRequest) -> KeyOut:
    """Revoke a key (idempotent); other workers stop accepting it within API_KEY_CACHE_SECONDS.

    Revoking the key this request is made with needs ``{"allow_self": true}``; without it the
    answer is 409 ``own_key``.
    """
    row = get_or_404(ApiKey, key_id, "API key")
    if row.id == principal().key_id and not body.allow_self and row.revoked_at is None:
        raise ApiError(409, "own_key", "this is the key you are signed in with; send "
                       '{"allow_self": true} to revoke it anyway', "allow_self")
    revoke_key(row)
    db().commit()
    api_context().keys.forget(row.key_hash)
    return _out(row, utcnow())
