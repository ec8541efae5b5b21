"""Models of sign-up: who applied (and whether they confirmed their email and were approved), the
instance's invites, and the single-use tokens sent by email (confirmation, password reset).

Tokens are kept as SHA-256 hashes of random values, as access tokens are: a leaked database opens no
account.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, BigId, utcnow


class Invite(Base):
    """An invite code: signs people up while registrations are by invite (or closed), within its limits."""

    __tablename__ = "invites"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    # The account that made it (None: the operator, at the CLI).
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id", ondelete="SET NULL"))
    max_uses: Mapped[int | None] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Signup(Base):
    """A local account made by signing up: it can sign in once its email is confirmed and (in approval
    mode) an admin approved it. Accounts without a row (made at the CLI) are neither pending."""

    __tablename__ = "signups"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), unique=True)
    # Why the applicant wants to join (approval mode), for whoever approves.
    reason: Mapped[str] = mapped_column(Text, default="")
    locale: Mapped[str | None] = mapped_column(String(16))
    invite_id: Mapped[int | None] = mapped_column(ForeignKey("invites.id", ondelete="SET NULL"), index=True)
    confirmed_at: Mapped[datetime | None]
    approved_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EmailToken(Base):
    """A single-use token sent by email: "confirm" (the address) or "reset" (the password)."""

    __tablename__ = "email_tokens"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
