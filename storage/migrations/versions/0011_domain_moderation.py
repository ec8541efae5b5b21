"""domain moderation: severities, comments and media/report rejection on domain blocks; the allow list;
the moderation version counter

Revision ID: 0011_domain_moderation
Revises: 0010_signup
Create Date: 2026-12-02 09:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.models
from storage.db import batch_reflection_warnings_hidden

revision = "0011_domain_moderation"
down_revision = "0010_signup"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with batch_reflection_warnings_hidden():
        with op.batch_alter_table("domain_blocks", schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("severity", sa.String(length=16), nullable=False, server_default="suspend")
            )
            batch_op.add_column(
                sa.Column("reject_media", sa.Boolean(), nullable=False, server_default=sa.false())
            )
            batch_op.add_column(
                sa.Column("reject_reports", sa.Boolean(), nullable=False, server_default=sa.false())
            )
            batch_op.add_column(sa.Column("public_comment", sa.Text(), nullable=False, server_default=""))
            batch_op.add_column(
                sa.Column("obfuscate", sa.Boolean(), nullable=False, server_default=sa.false())
            )
            batch_op.add_column(
                sa.Column("updated_at", storage.models.UTCDateTime(timezone=True), nullable=True)
            )
    op.create_table(
        "domain_allows",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_domain_allows")),
        sa.UniqueConstraint("domain", name=op.f("uq_domain_allows_domain")),
    )
    op.create_table(
        "moderation_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_version")),
    )
    op.execute("INSERT INTO moderation_version (id, value) VALUES (1, 1)")


def downgrade() -> None:
    op.drop_table("moderation_version")
    op.drop_table("domain_allows")
    with batch_reflection_warnings_hidden():
        with op.batch_alter_table("domain_blocks", schema=None) as batch_op:
            for column in ("updated_at", "obfuscate", "public_comment", "reject_reports", "reject_media",
                           "severity"):  # fmt: skip
                batch_op.drop_column(column)
