"""pinned posts, posting languages, remote counts: status pins (local and remote accounts'), an
account's default posting language, when a remote actor's featured collection was last read, and
the favourite and boost counts a remote post's server reports

Revision ID: 0008_pins_language
Revises: 0007_signature_schemes
Create Date: 2026-12-09 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.models
from storage.db import batch_reflection_warnings_hidden

revision = "0008_pins_language"
down_revision = "0007_signature_schemes"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with batch_reflection_warnings_hidden():
        _upgrade()


def _upgrade() -> None:
    op.create_table(
        "status_pins",
        sa.Column("id", Id, nullable=False),
        sa.Column("account_id", Id, nullable=False),
        sa.Column("status_id", Id, nullable=False),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["actors.id"], name=op.f("fk_status_pins_account_id_actors"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["status_id"], ["statuses.id"], name=op.f("fk_status_pins_status_id_statuses"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_pins")),
        sa.UniqueConstraint("account_id", "status_id", name=op.f("uq_status_pins_account_id")),
    )
    with op.batch_alter_table("status_pins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_status_pins_status_id"), ["status_id"], unique=False)
    with op.batch_alter_table("actors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("default_language", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("featured_synced_at", storage.models.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("statuses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("untrusted_favourites_count", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("untrusted_reblogs_count", sa.Integer(), nullable=True))
    # Accounts made from now on are not indexable until their owner says so (the model's default);
    # existing accounts keep the value they have, which their owners may have chosen.


def downgrade() -> None:
    with batch_reflection_warnings_hidden():
        with op.batch_alter_table("statuses", schema=None) as batch_op:
            batch_op.drop_column("untrusted_reblogs_count")
            batch_op.drop_column("untrusted_favourites_count")
        with op.batch_alter_table("actors", schema=None) as batch_op:
            batch_op.drop_column("featured_synced_at")
            batch_op.drop_column("default_language")
    with op.batch_alter_table("status_pins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_status_pins_status_id"))
    op.drop_table("status_pins")
