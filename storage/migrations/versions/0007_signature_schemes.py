"""signature schemes: per host, which HTTP signature scheme it accepts and what its NodeInfo says it runs

Revision ID: 0007_signature_schemes
Revises: 0006_emoji
Create Date: 2026-12-03 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0007_signature_schemes"
down_revision = "0006_emoji"
branch_labels = None
depends_on = None

_COLUMNS = (
    "signature_scheme",
    "signature_scheme_at",
    "software_name",
    "software_version",
    "nodeinfo_checked_at",
)


def upgrade() -> None:
    with op.batch_alter_table("hosts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signature_scheme", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("signature_scheme_at", storage.models.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("software_name", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("software_version", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("nodeinfo_checked_at", storage.models.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("hosts", schema=None) as batch_op:
        for column in reversed(_COLUMNS):
            batch_op.drop_column(column)
