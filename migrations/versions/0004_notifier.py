"""notifier: planner watermark, planned-event markers, button user id, outbox indexes

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("recipients", sa.Column("telegram_user_id", sa.BigInteger(), nullable=True))
    op.create_table(
        "notify_cursor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_event_id", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_cursor")),
    )
    op.create_table(
        "notify_planned_events",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column(
            "planned_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["alert_events.id"],
            name=op.f("fk_notify_planned_events_event_id_alert_events"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_notify_planned_events")),
    )
    op.create_index(
        "ix_deliveries_group_key", "deliveries", ["group_key"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index("ix_deliveries_recipient_status", "deliveries",
                    ["recipient_id", "transport", "status"])
    op.create_index(
        "ix_deliveries_claimed", "deliveries", ["claimed_at"],
        postgresql_where=sa.text("status = 'sending'"),
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_claimed", table_name="deliveries")
    op.drop_index("ix_deliveries_recipient_status", table_name="deliveries")
    op.drop_index("ix_deliveries_group_key", table_name="deliveries")
    op.drop_table("notify_planned_events")
    op.drop_table("notify_cursor")
    op.drop_column("recipients", "telegram_user_id")
