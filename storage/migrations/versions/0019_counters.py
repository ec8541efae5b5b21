"""counters: status_counts (favourites, boosts, replies, remixes per status), filled from existing rows

Revision ID: 0019_counters
Revises: 0016_image_moderation
Create Date: 2026-12-02 11:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019_counters"
down_revision = "0016_image_moderation"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Every status something counts toward, and its four counts, from the rows themselves (the same
# definitions fedigen.social.counts.recount uses).
FILL = """
INSERT INTO status_counts (status_id, favourites, reblogs, replies, remixes)
SELECT t.id,
       (SELECT count(*) FROM favourites f WHERE f.status_id = t.id),
       (SELECT count(*) FROM statuses b WHERE b.reblog_of_id = t.id AND b.deleted_at IS NULL),
       (SELECT count(*) FROM statuses r WHERE r.in_reply_to_id = t.id AND r.deleted_at IS NULL),
       (SELECT count(*) FROM remixes x WHERE x.parent_status_id = t.id)
FROM (
    SELECT status_id AS id FROM favourites
    UNION SELECT reblog_of_id FROM statuses WHERE reblog_of_id IS NOT NULL AND deleted_at IS NULL
    UNION SELECT in_reply_to_id FROM statuses WHERE in_reply_to_id IS NOT NULL AND deleted_at IS NULL
    UNION SELECT parent_status_id FROM remixes WHERE parent_status_id IS NOT NULL
) AS t
"""


def upgrade() -> None:
    op.create_table(
        "status_counts",
        sa.Column("status_id", Id, autoincrement=False, nullable=False),
        sa.Column("favourites", sa.Integer(), server_default="0", nullable=False),
        sa.Column("reblogs", sa.Integer(), server_default="0", nullable=False),
        sa.Column("replies", sa.Integer(), server_default="0", nullable=False),
        sa.Column("remixes", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["status_id"],
            ["statuses.id"],
            name=op.f("fk_status_counts_status_id_statuses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("status_id", name=op.f("pk_status_counts")),
    )
    op.execute(FILL)
    # Indexes the timeline queries need (tests/api/test_timeline_plans.py reads their plans).
    with op.batch_alter_table("actors", schema=None) as batch_op:
        for name, column in (("ix_actors_suspended", "suspended_at"), ("ix_actors_silenced", "silenced_at")):
            where = sa.text(f"{column} IS NOT NULL")
            batch_op.create_index(name, ["id"], unique=False, sqlite_where=where, postgresql_where=where)
    with op.batch_alter_table("statuses", schema=None) as batch_op:
        batch_op.create_index("ix_statuses_visibility_id", ["visibility", "id"], unique=False)
    with op.batch_alter_table("status_tags", schema=None) as batch_op:
        batch_op.create_index("ix_status_tags_name_status_id", ["name", "status_id"], unique=False)
        batch_op.drop_index("ix_status_tags_name")


def downgrade() -> None:
    with op.batch_alter_table("status_tags", schema=None) as batch_op:
        batch_op.create_index("ix_status_tags_name", ["name"], unique=False)
        batch_op.drop_index("ix_status_tags_name_status_id")
    with op.batch_alter_table("statuses", schema=None) as batch_op:
        batch_op.drop_index("ix_statuses_visibility_id")
    with op.batch_alter_table("actors", schema=None) as batch_op:
        batch_op.drop_index("ix_actors_silenced")
        batch_op.drop_index("ix_actors_suspended")
    op.drop_table("status_counts")
