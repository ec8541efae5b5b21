"""image moderation: prompt rules admins edit (with a version counter) and the refusals moderators read

Revision ID: 0016_image_moderation
Revises: 0014_privacy
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0016_image_moderation"
down_revision = "0014_privacy"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = storage.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "prompt_rules",
        sa.Column("id", Id, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=1000), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_by_id", Id, nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.Column("removed_at", When, nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["actors.id"],
            name=op.f("fk_prompt_rules_created_by_id_actors"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prompt_rules")),
        sa.UniqueConstraint("kind", "value", name=op.f("uq_prompt_rules_kind")),
    )
    version = op.create_table(
        "prompt_rules_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prompt_rules_version")),
    )
    # The one counter row, there from the start (so two processes never race to make it).
    op.bulk_insert(version, [{"id": 1, "version": 0}])
    op.create_table(
        "refusals",
        sa.Column("id", Id, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("account_id", Id, nullable=True),
        sa.Column("job_id", Id, nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["actors.id"], name=op.f("fk_refusals_account_id_actors"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["generation_jobs.id"],
            name=op.f("fk_refusals_job_id_generation_jobs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refusals")),
    )
    with op.batch_alter_table("refusals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refusals_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_refusals_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("refusals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refusals_created_at"))
        batch_op.drop_index(batch_op.f("ix_refusals_account_id"))
    op.drop_table("refusals")
    op.drop_table("prompt_rules_version")
    op.drop_table("prompt_rules")
