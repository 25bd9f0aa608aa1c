"""notifier: recipient_addresses (one row per person and transport), flood waits on deliveries

- ``recipient_addresses(recipient_id, kind, value, enabled, disabled_reason)``: where a person
  is reached over each transport. Today's ``recipients.telegram_chat_id``/``email`` (and their
  ``*_enabled`` flags) are copied into rows; a trigger keeps the rows of kind ``telegram`` and
  ``email`` in step with those columns, which stay as the API's backward-compatible fields.
  A new transport (slack, webhook, …) needs no schema change.
- ``deliveries.transport`` is checked as a name (lower-case, ≤ 20), no longer as a fixed list.
- ``recipients.has_a_destination`` moves to the API (a person may have only a Slack address).
- ``deliveries.flood_until``: a provider's flood wait, kept with the row so that it survives a
  restart and holds every row to that destination.

Revision ID: 0007
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0011"
branch_labels = None
depends_on = None

SYNC_FUNCTION = """
CREATE OR REPLACE FUNCTION castwatch_sync_recipient_addresses() RETURNS trigger AS $$
BEGIN
  IF NEW.telegram_chat_id IS NULL THEN
    DELETE FROM recipient_addresses WHERE recipient_id = NEW.id AND kind = 'telegram';
  ELSE
    INSERT INTO recipient_addresses (recipient_id, kind, value, enabled, disabled_reason)
    VALUES (NEW.id, 'telegram', NEW.telegram_chat_id::text, NEW.telegram_enabled,
            CASE WHEN NEW.telegram_enabled THEN NULL ELSE NEW.disabled_reason END)
    ON CONFLICT (recipient_id, kind) DO UPDATE
      SET value = EXCLUDED.value, enabled = EXCLUDED.enabled,
          disabled_reason = EXCLUDED.disabled_reason, updated_at = now()
      WHERE (recipient_addresses.value, recipient_addresses.enabled)
            IS DISTINCT FROM (EXCLUDED.value, EXCLUDED.enabled);
  END IF;
  IF NEW.email IS NULL THEN
    DELETE FROM recipient_addresses WHERE recipient_id = NEW.id AND kind = 'email';
  ELSE
    INSERT INTO recipient_addresses (recipient_id, kind, value, enabled, disabled_reason)
    VALUES (NEW.id, 'email', NEW.email, NEW.email_enabled, NULL)
    ON CONFLICT (recipient_id, kind) DO UPDATE
      SET value = EXCLUDED.value, enabled = EXCLUDED.enabled, updated_at = now()
      WHERE (recipient_addresses.value, recipient_addresses.enabled)
            IS DISTINCT FROM (EXCLUDED.value, EXCLUDED.enabled);
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.create_table(
        "recipient_addresses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.CheckConstraint("kind ~ '^[a-z][a-z0-9_]{0,19}$'",
                           name=op.f("ck_recipient_addresses_kind_name")),
        sa.CheckConstraint("length(value) BETWEEN 1 AND 2000",
                           name=op.f("ck_recipient_addresses_value_length")),
        sa.ForeignKeyConstraint(["recipient_id"], ["recipients.id"],
                                name=op.f("fk_recipient_addresses_recipient_id_recipients"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recipient_addresses")),
        sa.UniqueConstraint("recipient_id", "kind", name="uq_recipient_addresses_recipient_kind"),
    )
    op.execute("""
        INSERT INTO recipient_addresses (recipient_id, kind, value, enabled, disabled_reason)
        SELECT id, 'telegram', telegram_chat_id::text, telegram_enabled,
               CASE WHEN telegram_enabled THEN NULL ELSE disabled_reason END
        FROM recipients WHERE telegram_chat_id IS NOT NULL
    """)
    op.execute("""
        INSERT INTO recipient_addresses (recipient_id, kind, value, enabled)
        SELECT id, 'email', email, email_enabled FROM recipients WHERE email IS NOT NULL
    """)
    op.execute(SYNC_FUNCTION)
    op.execute("""
        CREATE TRIGGER trg_recipients_sync_addresses
        AFTER INSERT OR UPDATE OF telegram_chat_id, email, telegram_enabled, email_enabled
        ON recipients FOR EACH ROW EXECUTE FUNCTION castwatch_sync_recipient_addresses()
    """)
    op.drop_constraint(op.f("ck_recipients_has_a_destination"), "recipients", type_="check")
    op.drop_constraint(op.f("ck_deliveries_transport"), "deliveries", type_="check")
    op.create_check_constraint(op.f("ck_deliveries_transport_name"), "deliveries", "transport ~ '^[a-z][a-z0-9_]{0,19}$'")
    op.add_column("deliveries", sa.Column("flood_until", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_deliveries_flood", "deliveries", ["recipient_id", "transport"],
                    postgresql_where=sa.text("flood_until IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_deliveries_flood", table_name="deliveries")
    op.drop_column("deliveries", "flood_until")
    op.drop_constraint(op.f("ck_deliveries_transport_name"), "deliveries", type_="check")
    op.execute("DELETE FROM deliveries WHERE transport NOT IN ('telegram', 'email')")
    op.create_check_constraint(op.f("ck_deliveries_transport"), "deliveries", "transport IN ('telegram', 'email')")
    op.execute("DELETE FROM recipients WHERE telegram_chat_id IS NULL AND email IS NULL")
    op.create_check_constraint(op.f("ck_recipients_has_a_destination"), "recipients",
                               "telegram_chat_id IS NOT NULL OR email IS NOT NULL")
    op.execute("DROP TRIGGER IF EXISTS trg_recipients_sync_addresses ON recipients")
    op.execute("DROP FUNCTION IF EXISTS castwatch_sync_recipient_addresses()")
    op.drop_table("recipient_addresses")
