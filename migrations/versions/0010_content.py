"""content: template thresholds of the probe's content layer, and channel thumbnails

Revision ID: 0010
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0006"
branch_labels = None
depends_on = None

#: (column, type, server default, nullable) added to templates, defaults of issue #14
_COLUMNS = [
    ("content_mode", sa.String(12), None, True),
    ("content_sample_interval_s", sa.Float(), "10", False),
    ("content_rendition", sa.String(50), "lowest", False),
    ("black_min_s", sa.Float(), "2", False),
    ("frozen_min_s", sa.Float(), "2", False),
    ("silence_threshold_dbfs", sa.Float(), "-60", False),
    ("silence_min_s", sa.Float(), "2", False),
    ("loudness_standard", sa.String(10), "ebu_r128", False),
    ("loudness_target_lufs", sa.Float(), None, True),
    ("loudness_tolerance_lu", sa.Float(), "5", False),
    ("loudness_min_s", sa.Float(), "10", False),
    ("true_peak_max_dbtp", sa.Float(), "-1", False),
    ("mos_min", sa.Float(), "3.5", False),
]

_CHECKS = [
    ("content_mode", "content_mode IS NULL OR content_mode IN ('continuous', 'sampled', 'off')"),
    ("loudness_standard", "loudness_standard IN ('ebu_r128', 'atsc_a85')"),
    ("content_durations_positive", "content_sample_interval_s > 0 AND black_min_s > 0 AND "
     "frozen_min_s > 0 AND silence_min_s > 0 AND loudness_min_s > 0 AND loudness_tolerance_lu >= 0"),
    ("mos_min_range", "mos_min BETWEEN 1 AND 5"),
]


def upgrade() -> None:
    for name, type_, default, nullable in _COLUMNS:
        op.add_column("templates", sa.Column(name, type_, server_default=default, nullable=nullable))
    for name, condition in _CHECKS:
        op.create_check_constraint(op.f(f"ck_templates_{name}"), "templates", condition)
    op.create_table(
        "channel_thumbnails",
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("jpeg", sa.LargeBinary(), nullable=False),
        sa.Column("etag", sa.String(64), nullable=False),
        sa.Column("rendition", sa.String(50), nullable=True),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["channel_id"], ["channels.id"], ondelete="CASCADE",
                                name=op.f("fk_channel_thumbnails_channel_id_channels")),
        sa.PrimaryKeyConstraint("channel_id", name=op.f("pk_channel_thumbnails")),
    )


def downgrade() -> None:
    op.drop_table("channel_thumbnails")
    for name, _ in reversed(_CHECKS):
        op.drop_constraint(op.f(f"ck_templates_{name}"), "templates", type_="check")
    for name, *_ in reversed(_COLUMNS):
        op.drop_column("templates", name)
