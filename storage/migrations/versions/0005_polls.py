"""polls: the options, counts and end of a status's poll (a Question), and each vote

Revision ID: 0005_polls
Revises: 0004
Create Date: 2026-12-03 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0005_polls"
down_revision = "0004"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "polls",
        sa.Column("id", ID, nullable=False),
        sa.Column("status_id", ID, nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("tallies", sa.JSON(), nullable=False),
        sa.Column("multiple", sa.Boolean(), nullable=False),
        sa.Column("hide_totals", sa.Boolean(), nullable=False),
        sa.Column("voters_count", sa.Integer(), nullable=True),
        sa.Column("expires_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("update_due_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["status_id"], ["statuses.id"], name=op.f("fk_polls_status_id_statuses"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_polls")),
        sa.UniqueConstraint("status_id", name=op.f("uq_polls_status_id")),
    )
    with op.batch_alter_table("polls", schema=None) as batch_op:
        # The polls still to end (see storage/models.py).
        batch_op.create_index(
            "ix_polls_ending", ["expires_at"], unique=False,
            sqlite_where=sa.text("ended_at IS NULL"), postgresql_where=sa.text("ended_at IS NULL"),
        )  # fmt: skip
        batch_op.create_index(batch_op.f("ix_polls_update_due_at"), ["update_due_at"], unique=False)
    op.create_table(
        "poll_votes",
        sa.Column("id", ID, nullable=False),
        sa.Column("poll_id", ID, nullable=False),
        sa.Column("actor_id", ID, nullable=False),
        sa.Column("choice", sa.Integer(), nullable=False),
        sa.Column("ap_id", sa.String(length=2048), nullable=True),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["actors.id"], name=op.f("fk_poll_votes_actor_id_actors"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["poll_id"], ["polls.id"], name=op.f("fk_poll_votes_poll_id_polls"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_poll_votes")),
        sa.UniqueConstraint("poll_id", "actor_id", "choice", name=op.f("uq_poll_votes_poll_id")),
    )
    with op.batch_alter_table("poll_votes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_poll_votes_actor_id"), ["actor_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("poll_votes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_poll_votes_actor_id"))
    op.drop_table("poll_votes")
    with op.batch_alter_table("polls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_polls_update_due_at"))
        batch_op.drop_index("ix_polls_ending")
    op.drop_table("polls")
