"""account_status_counts: each account's live statuses and newest one, kept by triggers on statuses
(storage/account_counts.py), filled from existing rows

Revision ID: 0025_account_status_counts
Revises: 0023_web_account
Create Date: 2026-12-02 16:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.account_counts import RECOUNT, create_triggers, drop_triggers

revision = "0025_account_status_counts"
down_revision = "0023_web_account"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _execute(sql: str) -> None:
    op.execute(sa.text(sql))


def upgrade() -> None:
    op.create_table(
        "account_status_counts",
        sa.Column("actor_id", Id, sa.ForeignKey("actors.id", ondelete="CASCADE"), primary_key=True,
                  autoincrement=False),
        sa.Column("statuses", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_status_at", sa.DateTime(timezone=True), nullable=True),
    )  # fmt: skip
    create_triggers(_execute, op.get_bind().dialect.name)
    for sql in RECOUNT:
        _execute(sql)


def downgrade() -> None:
    drop_triggers(_execute, op.get_bind().dialect.name)
    op.drop_table("account_status_counts")
