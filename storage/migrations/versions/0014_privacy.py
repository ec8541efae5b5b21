"""privacy: an account's AI-training opt-out and whether others may remix its posts

Revision ID: 0014_privacy
Revises: 0013_user_tools
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.db import batch_reflection_warnings_hidden

revision = "0014_privacy"
down_revision = "0013_user_tools"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with batch_reflection_warnings_hidden():
        with op.batch_alter_table("actors", schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("ai_training_opt_out", sa.Boolean(), nullable=False, server_default=sa.true())
            )
            batch_op.add_column(
                sa.Column("allow_remixes", sa.Boolean(), nullable=False, server_default=sa.true())
            )


def downgrade() -> None:
    with batch_reflection_warnings_hidden():
        with op.batch_alter_table("actors", schema=None) as batch_op:
            batch_op.drop_column("allow_remixes")
            batch_op.drop_column("ai_training_opt_out")
