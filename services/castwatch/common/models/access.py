"""API keys and leases."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from castwatch.common.models.base import Base, created_at, enum_check

#: ordered scopes: each allows what the ones before it allow
RANKED_SCOPES = ("read", "write", "admin")
#: every scope; ``webhook`` is narrow: it may only post Alertmanager's webhook (and admin may too)
SCOPES = (*RANKED_SCOPES, "webhook")


class ApiKey(Base):
    """An API key; only its SHA-256 is stored, ``prefix`` finds it and shows it in lists."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = created_at()
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (enum_check("scope", SCOPES),)


class Lease(Base):
    """A time-limited claim of a resource (``channel:42``) by a holder (a probe replica)."""

    __tablename__ = "leases"

    resource: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100), index=True)
    acquired_at: Mapped[datetime] = created_at()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
