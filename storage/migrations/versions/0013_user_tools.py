"""user tools: filters, lists, per-user domain blocks, followed tags

Revision ID: 0013_user_tools
Revises: 0012_moderation
Create Date: 2026-12-02 09:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0013_user_tools"
down_revision = "0012_moderation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_domain_blocks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["actors.id"],
            name=op.f("fk_account_domain_blocks_account_id_actors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_domain_blocks")),
        sa.UniqueConstraint("account_id", "domain", name=op.f("uq_account_domain_blocks_account_id")),
    )
    with op.batch_alter_table("account_domain_blocks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_domain_blocks_domain"), ["domain"], unique=False)

    op.create_table(
        "custom_filters",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("expires_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["actors.id"],
            name=op.f("fk_custom_filters_account_id_actors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_filters")),
    )
    with op.batch_alter_table("custom_filters", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_custom_filters_account_id"), ["account_id"], unique=False)

    op.create_table(
        "lists",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("replies_policy", sa.String(length=16), nullable=False),
        sa.Column("exclusive", sa.Boolean(), nullable=False),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["actors.id"], name=op.f("fk_lists_account_id_actors"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lists")),
    )
    with op.batch_alter_table("lists", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lists_account_id"), ["account_id"], unique=False)

    op.create_table(
        "tag_follows",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["actors.id"], name=op.f("fk_tag_follows_account_id_actors"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tag_follows")),
        sa.UniqueConstraint("account_id", "name", name=op.f("uq_tag_follows_account_id")),
    )
    with op.batch_alter_table("tag_follows", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tag_follows_name"), ["name"], unique=False)

    op.create_table(
        "custom_filter_keywords",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("filter_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("keyword", sa.Text(), nullable=False),
        sa.Column("whole_word", sa.Boolean(), nullable=False),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["filter_id"],
            ["custom_filters.id"],
            name=op.f("fk_custom_filter_keywords_filter_id_custom_filters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_filter_keywords")),
    )
    with op.batch_alter_table("custom_filter_keywords", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_custom_filter_keywords_filter_id"), ["filter_id"], unique=False)

    op.create_table(
        "custom_filter_statuses",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("filter_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("status_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["filter_id"],
            ["custom_filters.id"],
            name=op.f("fk_custom_filter_statuses_filter_id_custom_filters"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["status_id"],
            ["statuses.id"],
            name=op.f("fk_custom_filter_statuses_status_id_statuses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_filter_statuses")),
        sa.UniqueConstraint("filter_id", "status_id", name=op.f("uq_custom_filter_statuses_filter_id")),
    )
    with op.batch_alter_table("custom_filter_statuses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_custom_filter_statuses_filter_id"), ["filter_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_custom_filter_statuses_status_id"), ["status_id"], unique=False)

    op.create_table(
        "list_accounts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("list_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["actors.id"], name=op.f("fk_list_accounts_account_id_actors"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["list_id"], ["lists.id"], name=op.f("fk_list_accounts_list_id_lists"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_list_accounts")),
        sa.UniqueConstraint("list_id", "account_id", name=op.f("uq_list_accounts_list_id")),
    )
    with op.batch_alter_table("list_accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_list_accounts_account_id"), ["account_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("list_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_list_accounts_account_id"))

    op.drop_table("list_accounts")
    with op.batch_alter_table("custom_filter_statuses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_custom_filter_statuses_status_id"))
        batch_op.drop_index(batch_op.f("ix_custom_filter_statuses_filter_id"))

    op.drop_table("custom_filter_statuses")
    with op.batch_alter_table("custom_filter_keywords", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_custom_filter_keywords_filter_id"))

    op.drop_table("custom_filter_keywords")
    with op.batch_alter_table("tag_follows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tag_follows_name"))

    op.drop_table("tag_follows")
    with op.batch_alter_table("lists", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lists_account_id"))

    op.drop_table("lists")
    with op.batch_alter_table("custom_filters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_custom_filters_account_id"))

    op.drop_table("custom_filters")
    with op.batch_alter_table("account_domain_blocks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_domain_blocks_domain"))

    op.drop_table("account_domain_blocks")
