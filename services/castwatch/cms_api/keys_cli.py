"""Create, list and revoke API keys.

  castwatch keys create --name ops --scope admin --expires 90d   prints the key ONCE
  castwatch keys list [--all]                                     active keys (--all: also revoked/expired)
  castwatch keys revoke ID|PREFIX                                 takes effect within API_KEY_CACHE_SECONDS

Scopes: read < write < admin. Only a SHA-256 of each key is stored. Uses DATABASE_URL; without
it, the embedded PostgreSQL in CASTWATCH_DATA_DIR/pg (migrated first).
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import timedelta

from sqlalchemy import or_, select

from castwatch.cms_api.auth import create_key, key_state, revoke_key
from castwatch.common.db import make_engine, make_session_factory, transaction, upgrade
from castwatch.common.models import SCOPES, ApiKey, utcnow
from castwatch.common.runtime import database_url_or_embedded
from castwatch.settings import Settings

_DURATION = re.compile(r"^(\d+)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_expiry(text: str) -> timedelta | None:
    """``90d``, ``12h``, ``30m``, ``2w`` → a duration; ``never`` → None; else ValueError."""
    if text.strip().lower() == "never":
        return None
    match = _DURATION.match(text.strip().lower())
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"expiry must look like 90d, 12h, 30m, 2w or never, got {text!r}")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def _expiry(text: str) -> timedelta | None:
    try:
        return parse_expiry(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def configure(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    sub = parser.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    create = sub.add_parser("create", help="create a key and print it once")
    create.add_argument("--name", required=True, help="who or what uses the key (shown as actor)")
    create.add_argument("--scope", choices=SCOPES, default="read",
                        help="read, write, admin, or webhook (Alertmanager: that webhook only)")
    create.add_argument("--expires", type=_expiry, default=timedelta(days=90),
                        help="lifetime: 90d, 12h, 30m, 2w or never (default 90d)")
    listing = sub.add_parser("list", help="list keys (never shows the keys themselves)")
    listing.add_argument("--all", action="store_true", help="include revoked and expired keys")
    revoke = sub.add_parser("revoke", help="revoke a key by id or prefix")
    revoke.add_argument("key", help="the key's id or its prefix (cw_…)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    url, embedded = database_url_or_embedded(settings)
    try:
        if embedded is not None:
            upgrade(url)
        engine = make_engine(url, pool_size=1, application_name="castwatch-keys")
        try:
            factory = make_session_factory(engine)
            action = {"create": _create, "list": _list, "revoke": _revoke}[args.keys_command]
            return action(args, factory)
        finally:
            engine.dispose()
    finally:
        if embedded is not None:
            embedded.stop()


def _create(args: argparse.Namespace, factory) -> int:  # type: ignore[no-untyped-def]
    with transaction(factory) as session:
        row, key = create_key(session, name=args.name, scope=args.scope, expires_in=args.expires)
        expires = row.expires_at.isoformat(timespec="seconds") if row.expires_at else "never"
        ident = row.id
    print(key)
    print(f"key id {ident}, name {args.name!r}, scope {args.scope}, expires {expires}. "
          "Store it now: it is not shown again.", file=sys.stderr)
    return 0


def _list(args: argparse.Namespace, factory) -> int:  # type: ignore[no-untyped-def]
    now = utcnow()
    with factory() as session:
        stmt = select(ApiKey).order_by(ApiKey.id)
        if not args.all:
            stmt = stmt.where(ApiKey.revoked_at.is_(None),
                              or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now))
        rows = list(session.scalars(stmt))
    print(f"{'ID':>4}  {'PREFIX':<12} {'NAME':<24} {'SCOPE':<7} {'EXPIRES':<20} {'LAST USED':<20} STATE")
    for row in rows:
        state = key_state(row, now)
        expires = row.expires_at.strftime("%Y-%m-%d %H:%M") if row.expires_at else "never"
        used = row.last_used_at.strftime("%Y-%m-%d %H:%M") if row.last_used_at else "-"
        print(f"{row.id:>4}  {row.prefix:<12} {row.name[:24]:<24} {row.scope:<7} {expires:<20} "
              f"{used:<20} {state}")
    return 0


def _revoke(args: argparse.Namespace, factory) -> int:  # type: ignore[no-untyped-def]
    with transaction(factory) as session:
        stmt = select(ApiKey)
        stmt = (stmt.where(ApiKey.id == int(args.key)) if args.key.isdigit() and len(args.key) < 10
                else stmt.where(ApiKey.prefix == args.key[:11]))
        rows = list(session.scalars(stmt))
        if len(rows) != 1:
            print(f"castwatch keys: {'no' if not rows else 'more than one'} key matches "
                  f"{args.key!r}", file=sys.stderr)
            return 1
        row = rows[0]
        revoke_key(row)
        name, ident = row.name, row.id
    print(f"revoked key {ident} ({name})")
    return 0
