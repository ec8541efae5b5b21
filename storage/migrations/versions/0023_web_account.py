"""web account preferences: a local account's default post visibility and whether its prompts stay private

Revision ID: 0023_web_account
Revises: 0016_image_moderation
Create Date: 2026-12-02 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.db import batch_reflection_warnings_hidden

revision = "0023_web_account"
down_revision = "0019_counters"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with batch_reflection_warnings_hidden():
        with op.batch_alter_table("users", schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("default_visibility", sa.String(length=16), nullable=False, server_default="public")
            )
            batch_op.add_column(
                sa.Column("private_prompts", sa.Boolean(), nullable=False, server_default=sa.false())
            )


def downgrade() -> None:
    with batch_reflection_warnings_hidden():
        with op.batch_alter_table("users", schema=None) as batch_op:
            batch_op.drop_column("private_prompts")
            batch_op.drop_column("default_visibility")
