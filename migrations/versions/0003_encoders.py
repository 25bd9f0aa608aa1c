"""encoders: a partial index for the encoder manager's claim of pending control commands

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_encoder_commands_pending", "encoder_commands", ["id"],
                    postgresql_where="status = 'pending'")


def downgrade() -> None:
    op.drop_index("ix_encoder_commands_pending", table_name="encoder_commands")
