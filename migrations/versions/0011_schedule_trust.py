"""schedules: a source's time zone and last good import's counts; cancelled schedule items

Revision ID: 0011
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("schedule_sources", sa.Column("timezone", sa.String(64), nullable=True))
    op.add_column("schedule_sources", sa.Column(
        "last_import_stats", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False))
    op.add_column("schedule_items", sa.Column(
        "status", sa.String(10), server_default="scheduled", nullable=False))
    op.create_check_constraint(op.f("ck_schedule_items_status"), "schedule_items",
                               "status IN ('scheduled', 'cancelled')")


def downgrade() -> None:
    op.drop_constraint(op.f("ck_schedule_items_status"), "schedule_items", type_="check")
    op.drop_column("schedule_items", "status")
    op.drop_column("schedule_sources", "last_import_stats")
    op.drop_column("schedule_sources", "timezone")
