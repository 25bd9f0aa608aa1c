"""Probe replicas: heartbeats in ``probes`` and channel leases in ``leases`` (PostgreSQL).

Each replica, every third of the lease TTL, in one transaction: records its heartbeat, renews
its leases, gives up leases of disabled or deleted channels and any above its fair share
(``ceil(enabled channels / live replicas)``), and claims free or expired ones with
``SELECT … FOR UPDATE SKIP LOCKED`` so two replicas never claim the same channel. A replica
that stops renewing loses its channels when their leases expire: another takes them over
within ``ttl + ttl/3`` (< 2 x TTL). All times are the database's ``now()``.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

PREFIX = "channel:"


def heartbeat(session: Session, name: str, *, hostname: str, version: str,
              stats: dict[str, Any]) -> None:
    """Insert or refresh this replica's probes row (status ``online``)."""
    session.execute(text("""
        INSERT INTO probes (name, hostname, status, version, started_at, last_heartbeat_at, stats)
        VALUES (:name, :host, 'online', :version, now(), now(), CAST(:stats AS jsonb))
        ON CONFLICT (name) DO UPDATE SET
            hostname = EXCLUDED.hostname, version = EXCLUDED.version, stats = EXCLUDED.stats,
            last_heartbeat_at = now(), status = 'online',
            started_at = CASE WHEN probes.status = 'online' THEN probes.started_at ELSE now() END
    """), {"name": name, "host": hostname, "version": version, "stats": _json(stats)})


def _json(value: dict[str, Any]) -> str:
    import json

    return json.dumps(value, default=str)


def mark_stopped(session: Session, name: str) -> None:
    """A clean shutdown: free every lease at once and say so in the probes row."""
    session.execute(text("DELETE FROM leases WHERE holder = :h AND resource LIKE 'channel:%'"), {"h": name})
    session.execute(text("UPDATE probes SET status = 'stopped' WHERE name = :n"), {"n": name})


def cycle(session: Session, holder: str, ttl_s: float) -> list[int]:
    """Renew, rebalance and claim; returns the ids of the channels this replica now holds."""
    params = {"h": holder, "ttl": ttl_s}
    session.execute(text("""
        DELETE FROM leases l WHERE l.holder = :h AND l.resource LIKE 'channel:%' AND NOT EXISTS (
            SELECT 1 FROM channels c WHERE l.resource = 'channel:' || c.id AND c.enabled)
    """), params)
    held = [int(r.split(":", 1)[1]) for r in session.scalars(text("""
        UPDATE leases SET expires_at = now() + make_interval(secs => :ttl)
        WHERE holder = :h AND resource LIKE 'channel:%' RETURNING resource
    """), params)]
    live = session.scalar(text("""
        SELECT count(*) FROM probes WHERE status = 'online'
        AND last_heartbeat_at > now() - make_interval(secs => :ttl)
    """), params) or 1
    total = session.scalar(text("SELECT count(*) FROM channels WHERE enabled")) or 0
    share = math.ceil(total / max(live, 1))
    if len(held) > share:
        held.sort()
        excess, held = held[share:], held[:share]
        session.execute(text("DELETE FROM leases WHERE holder = :h AND resource = ANY(:r)"),
                        {"h": holder, "r": [f"{PREFIX}{i}" for i in excess]})
    elif len(held) < share:
        held += _claim(session, holder, ttl_s, share - len(held))
    return sorted(held)


def _claim(session: Session, holder: str, ttl_s: float, n: int) -> list[int]:
    candidates = list(session.scalars(text("""
        SELECT c.id FROM channels c
        LEFT JOIN leases l ON l.resource = 'channel:' || c.id
        WHERE c.enabled AND (l.resource IS NULL OR l.expires_at < now())
        ORDER BY c.id LIMIT :n FOR UPDATE OF c SKIP LOCKED
    """), {"n": n}))
    got = []
    for channel_id in candidates:
        won = session.scalar(text("""
            INSERT INTO leases (resource, holder, acquired_at, expires_at)
            VALUES (:r, :h, now(), now() + make_interval(secs => :ttl))
            ON CONFLICT (resource) DO UPDATE SET holder = EXCLUDED.holder,
                acquired_at = now(), expires_at = EXCLUDED.expires_at
            WHERE leases.expires_at < now()
            RETURNING resource
        """), {"r": f"{PREFIX}{channel_id}", "h": holder, "ttl": ttl_s})
        if won:
            got.append(int(channel_id))
    return got
