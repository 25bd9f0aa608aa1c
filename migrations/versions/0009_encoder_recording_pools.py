"""encoders: local recording (command actions, group recording policy)

Revision ID: 0009
Revises: 0005

- ``encoder_commands.action`` also takes ``record_start`` / ``record_stop``;
- ``encoder_groups.record_on_backup``: record on a backup while it is on air;
  ``encoder_groups.record_during_meetings``: record on the on-air encoder during the live events
  (meetings) the schedule importer knows for the group's channels.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0005"
branch_labels = None
depends_on = None

OLD_ACTIONS = ("start", "stop", "failover", "failback", "restart")
NEW_ACTIONS = (*OLD_ACTIONS, "record_start", "record_stop")


def _actions_check(actions: tuple[str, ...]) -> None:
    op.drop_constraint(op.f("ck_encoder_commands_action"), "encoder_commands", type_="check")
    listed = ", ".join(f"'{a}'" for a in actions)
    op.create_check_constraint(op.f("ck_encoder_commands_action"), "encoder_commands",
                               f"action IN ({listed})")


def upgrade() -> None:
    _actions_check(NEW_ACTIONS)
    op.add_column("encoder_groups", sa.Column("record_on_backup", sa.Boolean(), server_default="false",
                                              nullable=False))
    op.add_column("encoder_groups", sa.Column("record_during_meetings", sa.Boolean(),
                                              server_default="false", nullable=False))


def downgrade() -> None:
    op.drop_column("encoder_groups", "record_during_meetings")
    op.drop_column("encoder_groups", "record_on_backup")
    op.execute("DELETE FROM encoder_commands WHERE action IN ('record_start', 'record_stop')")
    _actions_check(OLD_ACTIONS)
