"""encoders: local recording (command actions, group recording policy) and output pools

Revision ID: 0009
Revises: 0005

- ``encoder_outputs``: an output (destination + format + required capabilities, bitrate,
  priority) of a group, which is now a pool: its encoders carry many outputs, each assigned to
  one encoder (``assigned_encoder_id``); ``encoders.max_outputs`` / ``bitrate_budget_kbps`` are
  an encoder's capacity. Today's groups keep working as one-output pools: each gets one output
  named after it, assigned to its active encoder, pointing where its primary's output points
  (the stream key stays in ``encoders.output``).

- ``encoder_commands.action`` also takes ``record_start`` / ``record_stop``;
- ``encoder_groups.record_on_backup``: record on a backup while it is on air;
  ``encoder_groups.record_during_meetings``: record on the on-air encoder during the live events
  (meetings) the schedule importer knows for the group's channels.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0010"
branch_labels = None
depends_on = None

OLD_ACTIONS = ("start", "stop", "failover", "failback", "restart")
NEW_ACTIONS = (*OLD_ACTIONS, "record_start", "record_stop")


def _actions_check(actions: tuple[str, ...]) -> None:
    op.drop_constraint(op.f("ck_encoder_commands_action"), "encoder_commands", type_="check")
    listed = ", ".join(f"'{a}'" for a in actions)
    op.create_check_constraint(op.f("ck_encoder_commands_action"), "encoder_commands",
                               f"action IN ({listed})")


def _outputs_table() -> None:
    op.create_table(
        "encoder_outputs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("destination", sa.Text(), server_default="", nullable=False),
        sa.Column("format", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("required_capabilities", postgresql.JSONB(astext_type=sa.Text()), server_default="[]",
                  nullable=False),
        sa.Column("bitrate_kbps", sa.Integer(), server_default="0", nullable=False),
        sa.Column("priority", sa.Integer(), server_default="0", nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("assigned_encoder_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("bitrate_kbps >= 0", name=op.f("ck_encoder_outputs_bitrate_non_negative")),
        sa.ForeignKeyConstraint(["group_id"], ["encoder_groups.id"],
                                name=op.f("fk_encoder_outputs_group_id_encoder_groups"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["assigned_encoder_id"], ["encoders.id"],
                                name=op.f("fk_encoder_outputs_assigned_encoder_id_encoders"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_encoder_outputs")),
        sa.UniqueConstraint("name", name=op.f("uq_encoder_outputs_name")),
    )
    op.create_index(op.f("ix_encoder_outputs_group_id"), "encoder_outputs", ["group_id"])
    # announced on the bus like the other configuration tables (castwatch_notify() is from 0001)
    op.execute("CREATE TRIGGER encoder_outputs_notify AFTER INSERT OR UPDATE OR DELETE ON encoder_outputs "
               "FOR EACH ROW EXECUTE FUNCTION castwatch_notify()")
    op.add_column("encoders", sa.Column("max_outputs", sa.Integer(), server_default="1", nullable=False))
    op.add_column("encoders", sa.Column("bitrate_budget_kbps", sa.Integer(), nullable=True))
    # today's groups as one-output pools
    op.execute("""
        INSERT INTO encoder_outputs (name, group_id, destination, format, assigned_encoder_id)
        SELECT g.name, g.id,
               COALESCE((SELECT e.output->>'url' FROM encoders e WHERE e.group_id = g.id
                         ORDER BY (e.role <> 'primary'), e.priority, e.id LIMIT 1), ''),
               COALESCE((SELECT jsonb_strip_nulls(jsonb_build_object(
                             'protocol', e.output->'protocol', 'codec', e.output->'codec',
                             'resolution', e.output->'resolution', 'bitrate_kbps', e.output->'bitrate_kbps'))
                         FROM encoders e WHERE e.group_id = g.id
                         ORDER BY (e.role <> 'primary'), e.priority, e.id LIMIT 1), '{}'::jsonb),
               g.active_encoder_id
        FROM encoder_groups g
    """)


def upgrade() -> None:
    _outputs_table()
    _actions_check(NEW_ACTIONS)
    op.add_column("encoder_groups", sa.Column("record_on_backup", sa.Boolean(), server_default="false",
                                              nullable=False))
    op.add_column("encoder_groups", sa.Column("record_during_meetings", sa.Boolean(),
                                              server_default="false", nullable=False))


def downgrade() -> None:
    op.drop_column("encoders", "bitrate_budget_kbps")
    op.drop_column("encoders", "max_outputs")
    op.drop_index(op.f("ix_encoder_outputs_group_id"), table_name="encoder_outputs")
    op.drop_table("encoder_outputs")
    op.drop_column("encoder_groups", "record_during_meetings")
    op.drop_column("encoder_groups", "record_on_backup")
    op.execute("DELETE FROM encoder_commands WHERE action IN ('record_start', 'record_stop')")
    _actions_check(OLD_ACTIONS)
