"""hardening: the narrow ``webhook`` API-key scope (Alertmanager's key)

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint(op.f("ck_api_keys_scope"), "api_keys", type_="check")
    op.create_check_constraint(op.f("ck_api_keys_scope"), "api_keys",
                               "scope IN ('read', 'write', 'admin', 'webhook')")


def downgrade() -> None:
    # a webhook key cannot be expressed before this revision: it goes (Alertmanager then gets 401)
    op.execute("DELETE FROM api_keys WHERE scope = 'webhook'")
    op.drop_constraint(op.f("ck_api_keys_scope"), "api_keys", type_="check")
    op.create_check_constraint(op.f("ck_api_keys_scope"), "api_keys",
                               "scope IN ('read', 'write', 'admin')")
