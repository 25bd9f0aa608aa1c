"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21 07:37:37.147676

Every table of the foundation, the partial unique index that keeps one open alert per key,
and the NOTIFY triggers of the bus (castwatch.common.bus).

Frozen history: this revision imports nothing from castwatch. The table list and the trigger
SQL below are copies of what the bus announced when this revision was written; a table added
to ``NOTIFY_TABLES`` later gets its trigger in the revision that adds it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# The tables announced on the bus as of this revision (frozen; never import the live list).
NOTIFY_TABLES = (
    "alerts", "alert_events", "channels", "encoders", "encoder_groups", "encoder_commands",
    "failover_events", "deliveries", "probes", "templates",
)

NOTIFY_FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION castwatch_notify() RETURNS trigger AS $$
DECLARE
  row_id text;
BEGIN
  IF TG_OP = 'DELETE' THEN
    row_id := to_jsonb(OLD) ->> 'id';
  ELSE
    row_id := to_jsonb(NEW) ->> 'id';
  END IF;
  PERFORM pg_notify('castwatch_' || TG_TABLE_NAME,
    json_build_object('table', TG_TABLE_NAME, 'op', TG_OP, 'id', row_id::bigint)::text);
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""


def notify_sql(table: str) -> str:
    return f"""
CREATE TRIGGER {table}_notify AFTER INSERT OR UPDATE OR DELETE ON {table}
FOR EACH ROW EXECUTE FUNCTION castwatch_notify();
"""


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("scope IN ('read', 'write', 'admin')", name=op.f("ck_api_keys_scope")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_index(op.f("ix_api_keys_prefix"), "api_keys", ["prefix"], unique=False)
    op.create_table(
        "encoder_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("failover_enabled", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("failure_threshold", sa.Integer(), server_default="3", nullable=False),
        sa.Column("poll_interval_s", sa.Float(), server_default="1", nullable=False),
        sa.Column("verify_timeout_s", sa.Float(), server_default="10", nullable=False),
        sa.Column("preference", sa.String(length=20), server_default="equal", nullable=False),
        sa.Column("failback_hold_s", sa.Float(), server_default="30", nullable=False),
        sa.Column("min_switch_interval_s", sa.Float(), server_default="30", nullable=False),
        sa.Column(
            "thresholds",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("active_encoder_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "preference IN ('equal', 'primary_preferred')",
            name=op.f("ck_encoder_groups_preference"),
        ),
        sa.CheckConstraint(
            "failure_threshold >= 1", name=op.f("ck_encoder_groups_failure_threshold_positive")
        ),
        sa.CheckConstraint(
            "poll_interval_s > 0", name=op.f("ck_encoder_groups_poll_interval_positive")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_encoder_groups")),
        sa.UniqueConstraint("name", name=op.f("uq_encoder_groups_name")),
    )
    op.create_table(
        "leases",
        sa.Column("resource", sa.String(length=100), nullable=False),
        sa.Column("holder", sa.String(length=100), nullable=False),
        sa.Column(
            "acquired_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("resource", name=op.f("pk_leases")),
    )
    op.create_index(op.f("ix_leases_expires_at"), "leases", ["expires_at"], unique=False)
    op.create_index(op.f("ix_leases_holder"), "leases", ["holder"], unique=False)
    op.create_table(
        "maintenance_windows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "weekdays", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False
        ),
        sa.Column("start_time", sa.String(length=5), nullable=True),
        sa.Column("duration_minutes", sa.Integer(), nullable=True),
        sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False),
        sa.Column(
            "channel_ids",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column(
            "encoder_ids",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column(
            "group_ids",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(starts_at IS NOT NULL AND ends_at IS NOT NULL AND ends_at > starts_at) OR (start_time IS NOT NULL AND duration_minutes > 0)",
            name=op.f("ck_maintenance_windows_one_off_or_recurring"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_windows")),
    )
    op.create_table(
        "notification_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("priority", sa.Integer(), server_default="100", nullable=False),
        sa.Column(
            "match", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column(
            "roles", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False
        ),
        sa.Column(
            "recipient_ids",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column(
            "transports",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default='["telegram", "email"]',
            nullable=False,
        ),
        sa.Column("group_wait_s", sa.Integer(), server_default="30", nullable=False),
        sa.Column("repeat_interval_s", sa.Integer(), nullable=True),
        sa.Column("send_resolved", sa.Boolean(), server_default="true", nullable=False),
        sa.Column(
            "escalation",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "group_wait_s >= 0", name=op.f("ck_notification_rules_group_wait_not_negative")
        ),
        sa.CheckConstraint(
            "repeat_interval_s IS NULL OR repeat_interval_s >= 60",
            name=op.f("ck_notification_rules_repeat_interval_min"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_rules")),
        sa.UniqueConstraint("name", name=op.f("uq_notification_rules_name")),
    )
    op.create_table(
        "probes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=True),
        sa.Column("location", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=20), server_default="unknown", nullable=False),
        sa.Column("version", sa.String(length=50), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "stats", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('unknown', 'online', 'offline', 'stopped')", name=op.f("ck_probes_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_probes")),
        sa.UniqueConstraint("name", name=op.f("uq_probes_name")),
    )
    op.create_table(
        "recipients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("telegram_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("telegram_username", sa.String(length=100), nullable=True),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("telegram_enabled", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("email_enabled", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("is_admin", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "role IN ('cablecaster', 'technician', 'engineer', 'management')",
            name=op.f("ck_recipients_role"),
        ),
        sa.CheckConstraint(
            "telegram_chat_id IS NOT NULL OR email IS NOT NULL",
            name=op.f("ck_recipients_has_a_destination"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recipients")),
        sa.UniqueConstraint("name", name=op.f("uq_recipients_name")),
    )
    op.create_table(
        "templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("segment_duration_target", sa.Float(), nullable=False),
        sa.Column("segment_duration_tolerance", sa.Float(), nullable=False),
        sa.Column("max_download_time_ms", sa.Integer(), nullable=False),
        sa.Column("min_download_ratio", sa.Float(), nullable=False),
        sa.Column("poll_interval_s", sa.Float(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "max_download_time_ms > 0", name=op.f("ck_templates_max_download_time_positive")
        ),
        sa.CheckConstraint(
            "poll_interval_s IS NULL OR poll_interval_s > 0",
            name=op.f("ck_templates_poll_interval_positive"),
        ),
        sa.CheckConstraint(
            "segment_duration_target > 0",
            name=op.f("ck_templates_segment_duration_target_positive"),
        ),
        sa.CheckConstraint(
            "segment_duration_tolerance >= 0", name=op.f("ck_templates_tolerance_not_negative")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_templates")),
        sa.UniqueConstraint("name", name=op.f("uq_templates_name")),
    )
    op.create_table(
        "channels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("channel_type", sa.String(length=10), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("protocol", sa.String(length=10), nullable=False),
        sa.Column("input_url", sa.Text(), nullable=False),
        sa.Column("probe_id", sa.Integer(), nullable=True),
        sa.Column("template_id", sa.Integer(), nullable=True),
        sa.Column("encoder_group_id", sa.Integer(), nullable=True),
        sa.Column("enabled", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("is_4k", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("is_hdr", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("is_atmos", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("status", sa.String(length=20), server_default="unknown", nullable=False),
        sa.Column("last_checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "last_check",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "channel_type IN ('LIVE', 'EVENT', 'VOD')", name=op.f("ck_channels_channel_type")
        ),
        sa.CheckConstraint("protocol IN ('HLS', 'DASH')", name=op.f("ck_channels_protocol")),
        sa.CheckConstraint(
            "status IN ('unknown', 'ok', 'warning', 'critical', 'disabled')",
            name=op.f("ck_channels_status"),
        ),
        sa.CheckConstraint("tier BETWEEN 1 AND 3", name=op.f("ck_channels_tier")),
        sa.ForeignKeyConstraint(
            ["encoder_group_id"],
            ["encoder_groups.id"],
            name=op.f("fk_channels_encoder_group_id_encoder_groups"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["probe_id"],
            ["probes.id"],
            name=op.f("fk_channels_probe_id_probes"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["templates.id"],
            name=op.f("fk_channels_template_id_templates"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channels")),
        sa.UniqueConstraint("code", name=op.f("uq_channels_code")),
    )
    op.create_table(
        "encoders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("driver_kind", sa.String(length=30), nullable=False),
        sa.Column("address", sa.String(length=255), nullable=False),
        sa.Column("credentials_ref", sa.String(length=255), nullable=True),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("priority", sa.Integer(), server_default="0", nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default="true", nullable=False),
        sa.Column(
            "thresholds",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column(
            "output", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column(
            "driver_options",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("state", sa.String(length=20), server_default="unknown", nullable=False),
        sa.Column("reachable", sa.Boolean(), nullable=True),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "last_sample",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("instability_score", sa.Float(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "driver_kind IN ('aja_helo', 'matrox_monarch', 'haivision_makito', 'obs', 'blackmagic', 'generic_http')",
            name=op.f("ck_encoders_driver_kind"),
        ),
        sa.CheckConstraint("role IN ('primary', 'backup')", name=op.f("ck_encoders_role")),
        sa.CheckConstraint(
            "state IN ('idle', 'starting', 'live', 'degraded', 'failed', 'unknown')",
            name=op.f("ck_encoders_state"),
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["encoder_groups.id"],
            name=op.f("fk_encoders_group_id_encoder_groups"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_encoders")),
        sa.UniqueConstraint("name", name=op.f("uq_encoders_name")),
    )
    op.create_index(op.f("ix_encoders_group_id"), "encoders", ["group_id"], unique=False)
    op.create_table(
        "template_renditions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("bandwidth", sa.BigInteger(), nullable=False),
        sa.Column("resolution", sa.String(length=20), nullable=True),
        sa.Column("codecs", sa.String(length=200), nullable=True),
        sa.Column("frame_rate", sa.Float(), nullable=True),
        sa.Column("video_range", sa.String(length=10), nullable=True),
        sa.Column("audio_channels", sa.String(length=20), nullable=True),
        sa.CheckConstraint(
            "video_range IS NULL OR video_range IN ('SDR', 'PQ', 'HLG')",
            name=op.f("ck_template_renditions_video_range"),
        ),
        sa.CheckConstraint("bandwidth > 0", name=op.f("ck_template_renditions_bandwidth_positive")),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["templates.id"],
            name=op.f("fk_template_renditions_template_id_templates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_template_renditions")),
        sa.UniqueConstraint("template_id", "name", name="uq_template_renditions_template_name"),
    )
    op.create_index(
        op.f("ix_template_renditions_template_id"),
        "template_renditions",
        ["template_id"],
        unique=False,
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=50), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("alert_type", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=20), server_default="firing", nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column(
            "details", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("root_cause_alert_id", sa.Integer(), nullable=True),
        sa.Column("channel_id", sa.Integer(), nullable=True),
        sa.Column("encoder_id", sa.Integer(), nullable=True),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column(
            "opened_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column(
            "last_seen_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=100), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=100), nullable=True),
        sa.Column("snoozed_until", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "severity IN ('critical', 'major', 'minor', 'info')", name=op.f("ck_alerts_severity")
        ),
        sa.CheckConstraint(
            "state IN ('firing', 'acknowledged', 'resolved')", name=op.f("ck_alerts_state")
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_alerts_channel_id_channels"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["encoder_id"],
            ["encoders.id"],
            name=op.f("fk_alerts_encoder_id_encoders"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["encoder_groups.id"],
            name=op.f("fk_alerts_group_id_encoder_groups"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["root_cause_alert_id"],
            ["alerts.id"],
            name=op.f("fk_alerts_root_cause_alert_id_alerts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    op.create_index(op.f("ix_alerts_channel_id"), "alerts", ["channel_id"], unique=False)
    op.create_index(op.f("ix_alerts_encoder_id"), "alerts", ["encoder_id"], unique=False)
    op.create_index("ix_alerts_state_opened", "alerts", ["state", "opened_at"], unique=False)
    op.create_index(
        "uq_alerts_open_key",
        "alerts",
        ["source", "subject", "alert_type"],
        unique=True,
        postgresql_where=sa.text("state <> 'resolved'"),
    )
    op.create_table(
        "encoder_commands",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("encoder_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column(
            "params", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="pending", nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "action IN ('start', 'stop', 'failover', 'failback', 'restart')",
            name=op.f("ck_encoder_commands_action"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'done', 'failed')",
            name=op.f("ck_encoder_commands_status"),
        ),
        sa.ForeignKeyConstraint(
            ["encoder_id"],
            ["encoders.id"],
            name=op.f("fk_encoder_commands_encoder_id_encoders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_encoder_commands")),
    )
    op.create_index(
        op.f("ix_encoder_commands_encoder_id"), "encoder_commands", ["encoder_id"], unique=False
    )
    op.create_table(
        "failover_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("from_encoder_id", sa.Integer(), nullable=True),
        sa.Column("to_encoder_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('automatic', 'manual', 'failback', 'preemptive')",
            name=op.f("ck_failover_events_kind"),
        ),
        sa.CheckConstraint(
            "status IN ('started', 'succeeded', 'failed')", name=op.f("ck_failover_events_status")
        ),
        sa.ForeignKeyConstraint(
            ["from_encoder_id"],
            ["encoders.id"],
            name=op.f("fk_failover_events_from_encoder_id_encoders"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["encoder_groups.id"],
            name=op.f("fk_failover_events_group_id_encoder_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["to_encoder_id"],
            ["encoders.id"],
            name=op.f("fk_failover_events_to_encoder_id_encoders"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_failover_events")),
    )
    op.create_index(
        op.f("ix_failover_events_group_id"), "failover_events", ["group_id"], unique=False
    )
    op.create_table(
        "alert_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("from_state", sa.String(length=20), nullable=True),
        sa.Column("to_state", sa.String(length=20), nullable=False),
        sa.Column(
            "details", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('opened', 'updated', 'acknowledged', 'resolved', 'escalated', 'refired', 'snoozed', 'note')",
            name=op.f("ck_alert_events_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_alert_events_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_events")),
    )
    op.create_index(op.f("ix_alert_events_alert_id"), "alert_events", ["alert_id"], unique=False)
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("transport", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="pending", nullable=False),
        sa.Column("group_key", sa.String(length=255), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("thread_id", sa.String(length=255), nullable=True),
        sa.Column(
            "payload", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'failed', 'suppressed', 'grouped')",
            name=op.f("ck_deliveries_status"),
        ),
        sa.CheckConstraint(
            "transport IN ('telegram', 'email')", name=op.f("ck_deliveries_transport")
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_deliveries_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["alert_events.id"],
            name=op.f("fk_deliveries_event_id_alert_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["recipients.id"],
            name=op.f("fk_deliveries_recipient_id_recipients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["notification_rules.id"],
            name=op.f("fk_deliveries_rule_id_notification_rules"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint(
            "event_id", "recipient_id", "transport", "kind", name="uq_deliveries_event_recipient"
        ),
    )
    op.create_index(op.f("ix_deliveries_alert_id"), "deliveries", ["alert_id"], unique=False)
    op.create_index("ix_deliveries_due", "deliveries", ["status", "next_attempt_at"], unique=False)
    op.create_foreign_key(
        op.f("fk_encoder_groups_active_encoder_id_encoders"),
        "encoder_groups",
        "encoders",
        ["active_encoder_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.execute(NOTIFY_FUNCTION_SQL)
    for table in NOTIFY_TABLES:
        op.execute(notify_sql(table))


def downgrade() -> None:
    for table in NOTIFY_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_notify ON {table}")
    op.execute("DROP FUNCTION IF EXISTS castwatch_notify()")
    op.drop_constraint(
        op.f("fk_encoder_groups_active_encoder_id_encoders"), "encoder_groups", type_="foreignkey"
    )
    op.drop_index("ix_deliveries_due", table_name="deliveries")
    op.drop_index(op.f("ix_deliveries_alert_id"), table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_index(op.f("ix_alert_events_alert_id"), table_name="alert_events")
    op.drop_table("alert_events")
    op.drop_index(op.f("ix_failover_events_group_id"), table_name="failover_events")
    op.drop_table("failover_events")
    op.drop_index(op.f("ix_encoder_commands_encoder_id"), table_name="encoder_commands")
    op.drop_table("encoder_commands")
    op.drop_index(
        "uq_alerts_open_key", table_name="alerts", postgresql_where=sa.text("state <> 'resolved'")
    )
    op.drop_index("ix_alerts_state_opened", table_name="alerts")
    op.drop_index(op.f("ix_alerts_encoder_id"), table_name="alerts")
    op.drop_index(op.f("ix_alerts_channel_id"), table_name="alerts")
    op.drop_table("alerts")
    op.drop_index(op.f("ix_template_renditions_template_id"), table_name="template_renditions")
    op.drop_table("template_renditions")
    op.drop_index(op.f("ix_encoders_group_id"), table_name="encoders")
    op.drop_table("encoders")
    op.drop_table("channels")
    op.drop_table("templates")
    op.drop_table("recipients")
    op.drop_table("probes")
    op.drop_table("notification_rules")
    op.drop_table("maintenance_windows")
    op.drop_index(op.f("ix_leases_holder"), table_name="leases")
    op.drop_index(op.f("ix_leases_expires_at"), table_name="leases")
    op.drop_table("leases")
    op.drop_table("encoder_groups")
    op.drop_index(op.f("ix_api_keys_prefix"), table_name="api_keys")
    op.drop_table("api_keys")
