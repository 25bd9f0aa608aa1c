"""hardening: the ``webhook`` key scope, stream keys sealed at rest, Grafana's curated views

Revision ID: 0006
Revises: 0005

- ``api_keys.scope`` may be ``webhook`` (Alertmanager's key: that webhook only).
- Every clear ``encoders.output.stream_key`` is sealed (``enc:v1:<last4>:<Fernet token>``) with
  ``CASTWATCH_SECRET_KEY`` (or ``CASTWATCH_SECRET_KEY_FILE``); the upgrade stops with a message
  when such rows exist and no key is set. Same format as ``castwatch.common.sealing`` (copied:
  a migration imports nothing from the live package).
- Schema ``grafana``: views of the tables the dashboards read, without secrets (no credentials
  refs, driver options, input URLs, alert details; stream keys redacted), readable by the
  NOLOGIN role ``castwatch_grafana`` (created when the migrating user may create roles). Grafana's
  login role is a member of it with ``search_path = grafana``, so the dashboards' SQL is unchanged.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0007"
branch_labels = None
depends_on = None

GRAFANA_ROLE = "castwatch_grafana"
_REDACTED_KEY = ("'sk-…' || CASE WHEN output->>'stream_key' LIKE 'enc:v1:%' "
                 "THEN split_part(output->>'stream_key', ':', 3) "
                 "WHEN length(output->>'stream_key') >= 12 THEN right(output->>'stream_key', 4) "
                 "ELSE '' END")
VIEWS = {
    "channels": "SELECT id, code, name, channel_type, tier, protocol, probe_id, template_id, "
                "encoder_group_id, enabled, is_4k, is_hdr, is_atmos, status, last_checked_at, "
                "created_at, updated_at FROM public.channels",
    "alerts": "SELECT id, source, subject, alert_type, severity, state, summary, root_cause_alert_id, "
              "channel_id, encoder_id, group_id, opened_at, last_seen_at, acknowledged_at, "
              "acknowledged_by, resolved_at, resolved_by FROM public.alerts",
    "probes": "SELECT id, name, hostname, location, status, version, started_at, last_heartbeat_at, "
              "created_at FROM public.probes",
    "encoders": "SELECT id, name, driver_kind, address, group_id, role, priority, enabled, state, "
                "reachable, last_seen_at, instability_score, "
                "CASE WHEN output ? 'stream_key' THEN output || jsonb_build_object('stream_key', "
                f"{_REDACTED_KEY}) ELSE output END AS output FROM public.encoders",
    "encoder_groups": "SELECT id, name, description, failover_enabled, failure_threshold, "
                      "poll_interval_s, preference, active_encoder_id, created_at, updated_at "
                      "FROM public.encoder_groups",
    "failover_events": "SELECT id, group_id, from_encoder_id, to_encoder_id, kind, reason, status, "
                       "actor, created_at, completed_at FROM public.failover_events",
}


def _secret_key() -> str | None:
    value = os.environ.get("CASTWATCH_SECRET_KEY")
    path = os.environ.get("CASTWATCH_SECRET_KEY_FILE")
    if not value and path:
        value = Path(path).read_text().strip()
    return value or None


def _seal(secret: str, clear: str) -> str:
    from cryptography.fernet import Fernet

    key = base64.urlsafe_b64encode(hashlib.sha256(b"castwatch-stream-keys\0" + secret.encode()).digest())
    tail = clear[-4:] if len(clear) >= 12 else ""
    return f"enc:v1:{tail}:{Fernet(key).encrypt(clear.encode()).decode()}"


def _seal_stream_keys() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.text(
        "SELECT id, output->>'stream_key' AS key FROM encoders WHERE output ? 'stream_key' "
        "AND jsonb_typeof(output->'stream_key') = 'string' "
        "AND output->>'stream_key' NOT LIKE 'enc:v1:%'")).all()
    if not rows:
        return
    secret = _secret_key()
    if secret is None:
        raise RuntimeError(f"{len(rows)} encoder(s) hold a clear output.stream_key: set "
                           "CASTWATCH_SECRET_KEY (or _FILE) so this migration can encrypt them")
    for ident, clear in rows:
        conn.execute(sa.text("UPDATE encoders SET output = jsonb_set(output, '{stream_key}', "
                             "to_jsonb(CAST(:sealed AS text))) WHERE id = :id"),
                     {"sealed": _seal(secret, clear), "id": ident})


def _may_create_roles() -> bool:
    return bool(op.get_bind().scalar(sa.text(
        "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user")))


def upgrade() -> None:
    op.drop_constraint(op.f("ck_api_keys_scope"), "api_keys", type_="check")
    op.create_check_constraint(op.f("ck_api_keys_scope"), "api_keys",
                               "scope IN ('read', 'write', 'admin', 'webhook')")
    _seal_stream_keys()
    op.execute("CREATE SCHEMA IF NOT EXISTS grafana")
    for name, query in VIEWS.items():
        op.execute(f"CREATE OR REPLACE VIEW grafana.{name} AS {query}")
    if _may_create_roles():  # roles are per server: another database may have made it already
        op.execute(f"DO $$ BEGIN CREATE ROLE {GRAFANA_ROLE} NOLOGIN; "
                   "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$")
    if op.get_bind().scalar(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": GRAFANA_ROLE}):
        op.execute(f"GRANT USAGE ON SCHEMA grafana TO {GRAFANA_ROLE}")
        op.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA grafana TO {GRAFANA_ROLE}")


def downgrade() -> None:
    for name in VIEWS:
        op.execute(f"DROP VIEW IF EXISTS grafana.{name}")
    op.execute("DROP SCHEMA IF EXISTS grafana")
    # sealed stream keys stay sealed (their clear value would be a secret at rest again)
    op.execute("DELETE FROM api_keys WHERE scope = 'webhook'")
    op.drop_constraint(op.f("ck_api_keys_scope"), "api_keys", type_="check")
    op.create_check_constraint(op.f("ck_api_keys_scope"), "api_keys",
                               "scope IN ('read', 'write', 'admin')")
