"""Grafana's read-only InfluxDB token: created, kept and rotated by castwatch, never by hand.

Grafana must read InfluxDB with a token that can only **read** castwatch's bucket (issue #11:
a dashboard viewer with the all-access token could delete the bucket or write fake history).
:func:`ensure_read_token` runs with the admin token (``INFLUXDB_TOKEN``) in the compose job
``grafana-token`` before Grafana starts and leaves the read token in a file that only Grafana's
container mounts (Grafana's provisioning reads it with ``$__file{…}``).

Contract, on every run (idempotent; safe on every ``docker compose up``):

- the authorization recorded in ``<out_dir>/authorization-id`` is kept when InfluxDB still has
  it active, for this org, with exactly one permission: ``read`` on this bucket;
- otherwise a new authorization with exactly that permission is created (description
  :data:`DESCRIPTION`), its token written to ``<out_dir>/token`` (mode 0644: Grafana runs as
  another user; the directory is the secret's boundary) and its id recorded, both atomically;
- every other authorization with :data:`DESCRIPTION` is deleted, so a rotated or tampered token
  stops working;
- anything unexpected (bucket or org missing, InfluxDB down or refusing the admin token) raises
  :class:`ReadTokenError` with a message an operator can act on; the files are left as they were.

The HTTP calls go through influxdb-client (InfluxData's own client for the v2 API), bounded by
its timeout. ``INFLUXDB_URL`` is the operator's own setting, like SMTP and Telegram, so it is not
subject to the egress policy (docs/security.md).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: the description that marks the authorizations castwatch manages for Grafana
DESCRIPTION = "castwatch: Grafana read-only (managed; do not edit)"
TOKEN_FILE = "token"
ID_FILE = "authorization-id"


class ReadTokenError(Exception):
    """The read token could not be ensured; the message says what to fix."""


@dataclass(frozen=True)
class Grant:
    """An authorization as far as this module cares."""

    id: str
    active: bool
    org_id: str
    permissions: tuple[tuple[str, str, str | None], ...]  # (action, resource type, resource id)


def read_only_for(grant: Grant, *, org_id: str, bucket_id: str) -> bool:
    """True when ``grant`` is active and can do exactly one thing: read ``bucket_id``."""
    return (grant.active and grant.org_id == org_id
            and grant.permissions == (("read", "buckets", bucket_id),))


def plan(grants: list[Grant], recorded_id: str | None, *, org_id: str,
         bucket_id: str) -> tuple[str | None, list[str]]:
    """Pure decision: (the id to keep, or None to create a new one; the ids to delete).

    ``grants`` are the authorizations carrying :data:`DESCRIPTION`.
    """
    keep = next((g.id for g in grants if g.id == recorded_id
                 and read_only_for(g, org_id=org_id, bucket_id=bucket_id)), None)
    return keep, [g.id for g in grants if g.id != keep]


@dataclass(frozen=True)
class Outcome:
    created: bool
    authorization_id: str
    deleted: int


def _grant(auth: Any) -> Grant:
    permissions = tuple(
        (str(p.action), str(p.resource.type), p.resource.id) for p in (auth.permissions or []))
    return Grant(id=str(auth.id), active=auth.status == "active", org_id=str(auth.org_id),
                 permissions=permissions)


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def ensure_read_token(*, url: str, admin_token: str, org: str, bucket: str, out_dir: Path,
                      timeout_ms: int = 10_000) -> Outcome:
    """Make ``out_dir/token`` hold a working read-only token for ``bucket`` (see module doc)."""
    from influxdb_client import Authorization, InfluxDBClient, Permission, PermissionResource
    from influxdb_client.rest import ApiException
    from urllib3.exceptions import HTTPError as TransportError

    if not url or not admin_token:
        raise ReadTokenError("INFLUXDB_URL and INFLUXDB_TOKEN must be set")
    out_dir.mkdir(parents=True, exist_ok=True)
    id_path, token_path = out_dir / ID_FILE, out_dir / TOKEN_FILE
    recorded = id_path.read_text().strip() if id_path.exists() and token_path.exists() else None
    with InfluxDBClient(url=url, token=admin_token, org=org, timeout=timeout_ms) as client:
        try:
            orgs = client.organizations_api().find_organizations(org=org)
            if not orgs:
                raise ReadTokenError(f"InfluxDB has no organization {org!r} (INFLUXDB_ORG)")
            org_id = str(orgs[0].id)
            found = client.buckets_api().find_bucket_by_name(bucket)
            if found is None or str(found.org_id) != org_id:
                raise ReadTokenError(f"InfluxDB has no bucket {bucket!r} in {org!r} (INFLUXDB_BUCKET)")
            bucket_id = str(found.id)
            auths_api = client.authorizations_api()
            ours = [a for a in auths_api.find_authorizations(org_id=org_id) or []
                    if a.description == DESCRIPTION]
            keep, delete = plan([_grant(a) for a in ours], recorded, org_id=org_id, bucket_id=bucket_id)
            created = keep is None
            if keep is None:
                permission = Permission(action="read", resource=PermissionResource(
                    type="buckets", id=bucket_id, org_id=org_id))
                made = auths_api.create_authorization(authorization=Authorization(
                    org_id=org_id, permissions=[permission], description=DESCRIPTION))
                if not made.token or not made.id:
                    raise ReadTokenError("InfluxDB created the authorization but returned no token")
                _write_atomically(token_path, str(made.token))
                _write_atomically(id_path, str(made.id))
                keep = str(made.id)
            for auth in ours:
                if str(auth.id) in delete:
                    auths_api.delete_authorization(auth)
        except ApiException as exc:
            hint = " (INFLUXDB_TOKEN must be the all-access admin token)" if exc.status in (401, 403) else ""
            raise ReadTokenError(f"InfluxDB refused the request: HTTP {exc.status}{hint}") from None
        except (OSError, ValueError, TransportError) as exc:
            raise ReadTokenError(f"cannot reach InfluxDB at {url}: {type(exc).__name__}") from None
    return Outcome(created=created, authorization_id=keep, deleted=len(delete))
