"""inbox entries: the client-to-server inbox reads its own indexed table; inbox items know their
sender's host; tokens know their authorization code; boosts of deleted posts go

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 07:00:00
"""

from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op

import storage.models
from storage.db import batch_reflection_warnings_hidden

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with batch_reflection_warnings_hidden():
        _upgrade()


def _upgrade() -> None:
    op.create_table(
        "inbox_entries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("activity_ap_id", sa.String(length=2048), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["actors.id"], name=op.f("fk_inbox_entries_account_id_actors"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_entries")),
        sa.UniqueConstraint("account_id", "activity_ap_id", name=op.f("uq_inbox_entries_account_id")),
    )
    with op.batch_alter_table("inbox_entries", schema=None) as batch_op:
        batch_op.create_index("ix_inbox_entries_account_id_id", ["account_id", "id"], unique=False)
    # Activities received at a personal inbox before this table existed stay in their owner's inbox.
    op.execute(
        "INSERT INTO inbox_entries (account_id, activity_ap_id, document, created_at) "
        "SELECT recipient_id, activity_ap_id, document, created_at FROM inbox_items "
        "WHERE recipient_id IS NOT NULL ORDER BY id"
    )
    # The sender's host of each inbox item, for the worker's per-host fairness (queued rows filled in;
    # finished ones are purged before long anyway).
    with op.batch_alter_table("inbox_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("host", sa.String(length=255), server_default="", nullable=False))
    connection = op.get_bind()
    pending = connection.execute(sa.text("SELECT id, actor_ap_id FROM inbox_items WHERE state != 'done'"))
    for item_id, actor in list(pending):
        connection.execute(
            sa.text("UPDATE inbox_items SET host = :host WHERE id = :id"),
            {"host": urlsplit(actor).netloc.lower()[:255], "id": item_id},
        )
    # Tokens remember the authorization code they were issued for (a reused code revokes them).
    with op.batch_alter_table("oauth_tokens", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("code_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_oauth_tokens_code_id_oauth_codes"),
            "oauth_codes",
            ["code_id"],
            ["id"],
            ondelete="SET NULL",
        )
    # A deleted post's boosts are deleted with it from now on; boosts of posts deleted before are too.
    op.execute(
        "UPDATE statuses SET deleted_at = "
        "(SELECT d.deleted_at FROM statuses AS d WHERE d.id = statuses.reblog_of_id) "
        "WHERE deleted_at IS NULL AND reblog_of_id IN (SELECT id FROM statuses WHERE deleted_at IS NOT NULL)"
    )


def downgrade() -> None:
    with op.batch_alter_table("oauth_tokens", schema=None) as batch_op:
        batch_op.drop_constraint("fk_oauth_tokens_code_id_oauth_codes", type_="foreignkey")
        batch_op.drop_column("code_id")
    with op.batch_alter_table("inbox_items", schema=None) as batch_op:
        batch_op.drop_column("host")
    with op.batch_alter_table("inbox_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_entries_account_id_id")
    op.drop_table("inbox_entries")
