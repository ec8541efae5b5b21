"""roles: owner, admin, moderator or member on each user, replacing the admin flag

Revision ID: 0009_roles
Revises: 0008_pins_language
Create Date: 2026-12-02 09:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.db import batch_reflection_warnings_hidden

revision = "0009_roles"
down_revision = "0008_pins_language"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with batch_reflection_warnings_hidden():
        with op.batch_alter_table("users", schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("role", sa.String(length=16), nullable=False, server_default="member")
            )
        # Admins stay admins; the first of them (the one `fedigen init --admin` made) owns the instance.
        op.execute("UPDATE users SET role = 'admin' WHERE is_admin")
        op.execute("UPDATE users SET role = 'owner' WHERE id = (SELECT min(id) FROM users WHERE is_admin)")
        with op.batch_alter_table("users", schema=None) as batch_op:
            batch_op.drop_column("is_admin")


def downgrade() -> None:
    with batch_reflection_warnings_hidden():
        with op.batch_alter_table("users", schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("is_admin", sa.Boolean(), nullable=False, server_default=sa.false())
            )
        op.execute("UPDATE users SET is_admin = (role IN ('admin', 'owner'))")
        with op.batch_alter_table("users", schema=None) as batch_op:
            batch_op.drop_column("role")
