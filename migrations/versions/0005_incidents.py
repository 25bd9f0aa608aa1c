"""incidents: incidents and their member alerts, schedule sources and imported items

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False, default: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True),
                     server_default=sa.text("now()") if default else None, nullable=nullable)


def _json(name: str) -> sa.Column:
    return sa.Column(name, postgresql.JSONB(astext_type=sa.Text()), server_default="{}",
                     nullable=False)


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("state", sa.String(10), server_default="open", nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("root_kind", sa.String(10), nullable=False),
        sa.Column("root_subject", sa.String(255), nullable=False),
        sa.Column("root_cause_alert_id", sa.Integer(), nullable=True),
        sa.Column("rule", sa.String(50), nullable=False),
        _json("impact"),
        sa.Column("known_issue", sa.String(100), nullable=True),
        sa.Column("remediation", sa.Text(), nullable=True),
        sa.Column("planned_off_air", sa.Boolean(), server_default="false", nullable=False),
        _ts("opened_at"), _ts("updated_at"), _ts("resolved_at", nullable=True, default=False),
        sa.CheckConstraint("state IN ('open', 'resolved')", name=op.f("ck_incidents_state")),
        sa.CheckConstraint(
            "root_kind IN ('origin', 'encoder', 'group', 'channel', 'schedule', 'alert')",
            name=op.f("ck_incidents_root_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["root_cause_alert_id"], ["alerts.id"],
            name=op.f("fk_incidents_root_cause_alert_id_alerts"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    op.create_index("uq_incidents_open_key", "incidents", ["key"], unique=True,
                    postgresql_where=sa.text("state = 'open'"))
    op.create_index("ix_incidents_state_opened", "incidents", ["state", "opened_at"])
    op.create_table(
        "incident_alerts",
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("expected", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        _ts("joined_at"),
        sa.CheckConstraint("role IN ('root', 'symptom')", name=op.f("ck_incident_alerts_role")),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"],
                                name=op.f("fk_incident_alerts_alert_id_alerts"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"],
                                name=op.f("fk_incident_alerts_incident_id_incidents"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("alert_id", name=op.f("pk_incident_alerts")),
    )
    op.create_index(op.f("ix_incident_alerts_incident_id"), "incident_alerts", ["incident_id"])
    op.create_table(
        "schedule_sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        _json("options"),
        sa.Column("enabled", sa.Boolean(), server_default="true", nullable=False),
        _ts("last_import_at", nullable=True, default=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        _ts("created_at"), _ts("updated_at"),
        sa.CheckConstraint("kind IN ('cablecast', 'ical', 'html', 'pdf')",
                           name=op.f("ck_schedule_sources_kind")),
        sa.ForeignKeyConstraint(["channel_id"], ["channels.id"],
                                name=op.f("fk_schedule_sources_channel_id_channels"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_sources")),
        sa.UniqueConstraint("name", name=op.f("uq_schedule_sources_name")),
    )
    op.create_index(op.f("ix_schedule_sources_channel_id"), "schedule_sources", ["channel_id"])
    op.create_table(
        "schedule_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(255), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        _json("details"),
        _ts("imported_at"),
        sa.CheckConstraint("kind IN ('show', 'live_event', 'off_air')",
                           name=op.f("ck_schedule_items_kind")),
        sa.ForeignKeyConstraint(["source_id"], ["schedule_sources.id"],
                                name=op.f("fk_schedule_items_source_id_schedule_sources"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["channel_id"], ["channels.id"],
                                name=op.f("fk_schedule_items_channel_id_channels"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_items")),
        sa.UniqueConstraint("source_id", "external_id", name="uq_schedule_items_source_external"),
    )
    op.create_index(op.f("ix_schedule_items_source_id"), "schedule_items", ["source_id"])
    op.create_index("ix_schedule_items_channel_starts", "schedule_items", ["channel_id", "starts_at"])


def downgrade() -> None:
    op.drop_table("schedule_items")
    op.drop_table("schedule_sources")
    op.drop_table("incident_alerts")
    op.drop_table("incidents")
