"""custom emoji and emoji reactions: remote emoji and our copies of their images, the emoji each
remote status and actor was sent with, reactions to statuses, and the reaction a notification is about

Revision ID: 0006_emoji
Revises: 0005_polls
Create Date: 2026-12-05 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.models
from storage.db import batch_reflection_warnings_hidden

revision = "0006_emoji"
down_revision = "0005_polls"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with batch_reflection_warnings_hidden():
        _upgrade()


def _upgrade() -> None:
    op.create_table(
        "custom_emojis",
        sa.Column("id", ID, nullable=False),
        sa.Column("shortcode", sa.String(length=100), nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=True),
        sa.Column("ap_id", sa.String(length=2048), nullable=True),
        sa.Column("remote_url", sa.String(length=2048), nullable=False),
        sa.Column("media_type", sa.String(length=64), nullable=True),
        sa.Column("updated", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("image_key", sa.String(length=255), nullable=True),
        sa.Column("static_key", sa.String(length=255), nullable=True),
        sa.Column("fetched_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_emojis")),
        sa.UniqueConstraint("shortcode", "domain", name=op.f("uq_custom_emojis_shortcode")),
    )
    with op.batch_alter_table("custom_emojis", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_custom_emojis_state"), ["state"], unique=False)

    op.create_table(
        "status_emojis",
        sa.Column("id", ID, nullable=False),
        sa.Column("status_id", ID, nullable=False),
        sa.Column("emoji_id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["emoji_id"],
            ["custom_emojis.id"],
            name=op.f("fk_status_emojis_emoji_id_custom_emojis"),
            ondelete="CASCADE",
        ),  # fmt: skip
        sa.ForeignKeyConstraint(
            ["status_id"],
            ["statuses.id"],
            name=op.f("fk_status_emojis_status_id_statuses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_emojis")),
        sa.UniqueConstraint("status_id", "emoji_id", name=op.f("uq_status_emojis_status_id")),
    )
    with op.batch_alter_table("status_emojis", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_status_emojis_status_id"), ["status_id"], unique=False)

    op.create_table(
        "actor_emojis",
        sa.Column("id", ID, nullable=False),
        sa.Column("actor_id", ID, nullable=False),
        sa.Column("emoji_id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["actors.id"], name=op.f("fk_actor_emojis_actor_id_actors"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["emoji_id"],
            ["custom_emojis.id"],
            name=op.f("fk_actor_emojis_emoji_id_custom_emojis"),
            ondelete="CASCADE",
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("id", name=op.f("pk_actor_emojis")),
        sa.UniqueConstraint("actor_id", "emoji_id", name=op.f("uq_actor_emojis_actor_id")),
    )
    with op.batch_alter_table("actor_emojis", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_actor_emojis_actor_id"), ["actor_id"], unique=False)

    op.create_table(
        "reactions",
        sa.Column("id", ID, nullable=False),
        sa.Column("ap_id", sa.String(length=2048), nullable=True),
        sa.Column("actor_id", ID, nullable=False),
        sa.Column("status_id", ID, nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("emoji_id", ID, nullable=True),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["actors.id"], name=op.f("fk_reactions_actor_id_actors"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["emoji_id"],
            ["custom_emojis.id"],
            name=op.f("fk_reactions_emoji_id_custom_emojis"),
            ondelete="SET NULL",
        ),  # fmt: skip
        sa.ForeignKeyConstraint(
            ["status_id"], ["statuses.id"], name=op.f("fk_reactions_status_id_statuses"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reactions")),
        sa.UniqueConstraint("actor_id", "status_id", "name", name=op.f("uq_reactions_actor_id")),
    )
    with op.batch_alter_table("reactions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reactions_ap_id"), ["ap_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reactions_status_id"), ["status_id"], unique=False)

    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reaction_id", ID, nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_notifications_reaction_id_reactions"), "reactions", ["reaction_id"], ["id"],
            ondelete="CASCADE",
        )  # fmt: skip


def downgrade() -> None:
    with batch_reflection_warnings_hidden():
        with op.batch_alter_table("notifications", schema=None) as batch_op:
            batch_op.drop_constraint("fk_notifications_reaction_id_reactions", type_="foreignkey")
            batch_op.drop_column("reaction_id")
    with op.batch_alter_table("reactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reactions_status_id"))
        batch_op.drop_index(batch_op.f("ix_reactions_ap_id"))
    op.drop_table("reactions")
    with op.batch_alter_table("actor_emojis", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_actor_emojis_actor_id"))
    op.drop_table("actor_emojis")
    with op.batch_alter_table("status_emojis", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_status_emojis_status_id"))
    op.drop_table("status_emojis")
    with op.batch_alter_table("custom_emojis", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_custom_emojis_state"))
    op.drop_table("custom_emojis")
