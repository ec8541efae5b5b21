"""Tables of moderation: domain policies (blocks, the allowlist and their version counter), reports
and moderators' notes on them, account warnings, the audit log, blocked email addresses, prompt
rules and the refusals they caused.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, BigId, utcnow


class DomainBlock(Base):
    """A moderation decision about a domain, as Mastodon's DomainBlock (docs/moderation-domains.md).

    ``severity`` is ``suspend``, ``silence`` or ``noop``; ``reason`` is Mastodon's private comment.
    """

    __tablename__ = "domain_blocks"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    domain: Mapped[str] = mapped_column(String(255), unique=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    severity: Mapped[str] = mapped_column(String(16), default="suspend", server_default="suspend")
    reject_media: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    reject_reports: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    public_comment: Mapped[str] = mapped_column(Text, default="", server_default="")
    obfuscate: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    updated_at: Mapped[datetime | None] = mapped_column(default=utcnow, onupdate=utcnow)


class DomainAllow(Base):
    """A domain that federates in allowlist ("limited federation") mode, as Mastodon's DomainAllow."""

    __tablename__ = "domain_allows"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    domain: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModerationVersion(Base):
    """One row (id 1) whose ``value`` goes up in the same transaction as every domain-policy change:
    each process reads it (cheaply, at most once a second) to know its copy of the policies is stale."""

    __tablename__ = "moderation_version"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class Report(Base):
    """A Flag received from another server (or filed locally), for moderators."""

    __tablename__ = "reports"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ap_id: Mapped[str | None] = mapped_column(String(2048), index=True)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id", ondelete="SET NULL"))
    target_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    status_ap_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    # Mastodon's report fields: spam, legal, violation (of ``rule_ids``) or other; sent on to the
    # target's server; who took it and who resolved it.
    category: Mapped[str] = mapped_column(String(16), default="other", server_default="other")
    rule_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    forwarded: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    assigned_account_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id", ondelete="SET NULL"))
    action_taken_by_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime | None]


class ReportNote(Base):
    """A moderator's note on a report."""

    __tablename__ = "report_notes"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id", ondelete="SET NULL"))
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AccountWarning(Base):
    """One moderation action on an account (Mastodon's AccountWarning / "strike"): none, sensitive,
    disable, silence, suspend, force_cw, delete_statuses, and their reversals."""

    __tablename__ = "account_warnings"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text, default="")
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="SET NULL"))
    status_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditLog(Base):
    """Every moderator action (Mastodon's Admin::ActionLog): who (None: the CLI operator), what, on what."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[int | None] = mapped_column(BigId)
    # The target as a person reads it (an acct, "report #3"), kept when the target is gone.
    target_label: Mapped[str] = mapped_column(String(2048), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class CanonicalEmailBlock(Base):
    """A blocked email address, kept only as the SHA-256 of its canonical form (Mastodon's)."""

    __tablename__ = "canonical_email_blocks"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    canonical_email_hash: Mapped[str] = mapped_column(String(64), unique=True)
    reference_account_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PromptRule(Base):
    """A prompt rule admins edit without a restart: a blocked ``term`` or ``pattern`` (a regex).

    The ``[generation]`` config's blocked terms and patterns are written here when first seen
    (``source`` "config"); one an admin removes stays as a row with ``removed_at``, so it is not seeded
    again.
    """

    __tablename__ = "prompt_rules"
    __table_args__ = (UniqueConstraint("kind", "value"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(1000))
    source: Mapped[str] = mapped_column(String(16), default="admin")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column()


class PromptRulesVersion(Base):
    """One row counting changes to the prompt rules: every process re-reads them when it moves."""

    __tablename__ = "prompt_rules_version"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


class Refusal(Base):
    """A prompt or an image the instance refused (the rules, the classifier, the bot), for moderators."""

    __tablename__ = "refusals"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # "prompt" or "image"; where: "generation", "bot", "upload".
    kind: Mapped[str] = mapped_column(String(16))
    origin: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id", ondelete="SET NULL"), index=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("generation_jobs.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text, default="")
    prompt: Mapped[str | None] = mapped_column(Text)
    # The classifier's verdict: the rules that matched and the top scores.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
