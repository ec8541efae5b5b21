"""moderation: account flags, report queue fields, account warnings, report notes, the audit log,
canonical email blocks

Revision ID: 0012_moderation
Revises: 0011_domain_moderation
Create Date: 2026-12-02 09:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.db import batch_reflection_warnings_hidden
from storage.models import UTCDateTime

revision = "0012_moderation"
down_revision = "0011_domain_moderation"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ACTOR_FLAGS = ("suspended_at", "silenced_at", "sensitized_at", "disabled_at")


def upgrade() -> None:
    with batch_reflection_warnings_hidden():
        with op.batch_alter_table("actors", schema=None) as batch_op:
            for name in ACTOR_FLAGS:
                batch_op.add_column(sa.Column(name, UTCDateTime(timezone=True), nullable=True))
            batch_op.add_column(sa.Column("forced_cw", sa.Text(), nullable=True))
        with op.batch_alter_table("reports", schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("category", sa.String(length=16), nullable=False, server_default="other")
            )
            batch_op.add_column(
                sa.Column("rule_ids", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
            )
            batch_op.add_column(
                sa.Column("forwarded", sa.Boolean(), nullable=False, server_default=sa.false())
            )
            batch_op.add_column(sa.Column("assigned_account_id", BigId, nullable=True))
            batch_op.add_column(sa.Column("action_taken_by_id", BigId, nullable=True))
            batch_op.add_column(sa.Column("updated_at", UTCDateTime(timezone=True), nullable=True))
            batch_op.create_foreign_key(
                "fk_reports_assigned_account_id_actors", "actors", ["assigned_account_id"], ["id"],
                ondelete="SET NULL",
            )  # fmt: skip
            batch_op.create_foreign_key(
                "fk_reports_action_taken_by_id_actors", "actors", ["action_taken_by_id"], ["id"],
                ondelete="SET NULL",
            )  # fmt: skip
    op.create_table(
        "account_warnings",
        sa.Column("id", BigId, nullable=False),
        sa.Column("target_id", BigId, nullable=False),
        sa.Column("account_id", BigId, nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("report_id", BigId, nullable=True),
        sa.Column("status_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["target_id"], ["actors.id"], name="fk_account_warnings_target_id_actors", ondelete="CASCADE"
        ),  # fmt: skip
        sa.ForeignKeyConstraint(
            ["account_id"], ["actors.id"], name="fk_account_warnings_account_id_actors", ondelete="SET NULL"
        ),  # fmt: skip
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name="fk_account_warnings_report_id_reports", ondelete="SET NULL"
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("id", name="pk_account_warnings"),
    )
    op.create_index("ix_account_warnings_target_id", "account_warnings", ["target_id"])
    op.create_table(
        "report_notes",
        sa.Column("id", BigId, nullable=False),
        sa.Column("report_id", BigId, nullable=False),
        sa.Column("account_id", BigId, nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name="fk_report_notes_report_id_reports", ondelete="CASCADE"
        ),  # fmt: skip
        sa.ForeignKeyConstraint(
            ["account_id"], ["actors.id"], name="fk_report_notes_account_id_actors", ondelete="SET NULL"
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("id", name="pk_report_notes"),
    )
    op.create_index("ix_report_notes_report_id", "report_notes", ["report_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", BigId, nullable=False),
        sa.Column("account_id", BigId, nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target_type", sa.String(length=32), nullable=False),
        sa.Column("target_id", BigId, nullable=True),
        sa.Column("target_label", sa.String(length=2048), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["actors.id"], name="fk_audit_log_account_id_actors", ondelete="SET NULL"
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_created_at", "audit_log", ["created_at"])
    op.create_table(
        "canonical_email_blocks",
        sa.Column("id", BigId, nullable=False),
        sa.Column("canonical_email_hash", sa.String(length=64), nullable=False),
        sa.Column("reference_account_id", BigId, nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["reference_account_id"],
            ["actors.id"],
            name="fk_canonical_email_blocks_reference_account_id_actors",
            ondelete="SET NULL",
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("id", name="pk_canonical_email_blocks"),
        sa.UniqueConstraint("canonical_email_hash", name="uq_canonical_email_blocks_canonical_email_hash"),
    )


def downgrade() -> None:
    op.drop_table("canonical_email_blocks")
    op.drop_table("audit_log")
    op.drop_table("report_notes")
    op.drop_table("account_warnings")
    with batch_reflection_warnings_hidden():
        with op.batch_alter_table("reports", schema=None) as batch_op:
            batch_op.drop_constraint("fk_reports_action_taken_by_id_actors", type_="foreignkey")
            batch_op.drop_constraint("fk_reports_assigned_account_id_actors", type_="foreignkey")
            for name in ("updated_at", "action_taken_by_id", "assigned_account_id", "forwarded", "rule_ids",
                         "category"):  # fmt: skip
                batch_op.drop_column(name)
        with op.batch_alter_table("actors", schema=None) as batch_op:
            for name in ("forced_cw", *ACTOR_FLAGS):
                batch_op.drop_column(name)
