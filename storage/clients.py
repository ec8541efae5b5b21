"""Models of the client side: OAuth 2 apps, grants and tokens, and what apps keep per account
(bookmarks, mutes, timeline markers, idempotent requests).

Secrets are never stored: client secrets, authorization codes and access tokens are kept as SHA-256
hashes of random values, so a leaked database grants nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, BigId, utcnow


class OAuthApp(Base):
    """A registered client application (POST /api/v1/apps)."""

    __tablename__ = "oauth_apps"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    client_secret_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    website: Mapped[str | None] = mapped_column(String(2048))
    # Allowed redirect URIs, one per line; "urn:ietf:wg:oauth:2.0:oob" for out-of-band.
    redirect_uris: Mapped[str] = mapped_column(Text)
    scopes: Mapped[str] = mapped_column(String(1024), default="read")
    # The account that registered it, when registered with a user token (C2S clients, the web UI).
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OAuthCode(Base):
    """An authorization code waiting to be exchanged (10 minutes, once), with its PKCE challenge."""

    __tablename__ = "oauth_codes"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("oauth_apps.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(String(2048))
    scopes: Mapped[str] = mapped_column(String(1024))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(16))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OAuthToken(Base):
    """An access token: of an account (authorization code, password) or of the app alone
    (client_credentials, ``account_id`` None)."""

    __tablename__ = "oauth_tokens"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("oauth_apps.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    scopes: Mapped[str] = mapped_column(String(1024))
    # The authorization code it was issued for: a second use of that code revokes it (RFC 6749 4.1.2).
    code_id: Mapped[int | None] = mapped_column(ForeignKey("oauth_codes.id", ondelete="SET NULL"))
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Bookmark(Base):
    """A status an account bookmarked."""

    __tablename__ = "bookmarks"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    status_id: Mapped[int] = mapped_column(ForeignKey("statuses.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("account_id", "status_id"),)


class Mute(Base):
    """account mutes target (hidden from timelines; notifications too when ``notifications``)."""

    __tablename__ = "mutes"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    target_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    notifications: Mapped[bool] = mapped_column(Boolean, default=True)
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("account_id", "target_id"),)


class Marker(Base):
    """Where an account stopped reading a timeline ("home" or "notifications")."""

    __tablename__ = "markers"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    timeline: Mapped[str] = mapped_column(String(32))
    last_read_id: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    __table_args__ = (UniqueConstraint("account_id", "timeline"),)


class IdempotentRequest(Base):
    """The answer to a request sent with an Idempotency-Key, replayed when the key comes again (24 h)."""

    __tablename__ = "idempotent_requests"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (
        UniqueConstraint("account_id", "key"),
        Index("ix_idempotent_requests_created_at", "created_at"),
    )


class CustomFilter(Base):
    """A filter of an account (Mastodon's filters v2): keywords and statuses it hides or warns about
    in the contexts it names ("home", "notifications", "public", "thread", "account")."""

    __tablename__ = "custom_filters"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(Text, default="")
    context: Mapped[list[Any]] = mapped_column(JSON, default=list)
    action: Mapped[str] = mapped_column(String(8), default="warn")
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CustomFilterKeyword(Base):
    """A keyword of a filter, matched case-insensitively (at word boundaries when ``whole_word``)."""

    __tablename__ = "custom_filter_keywords"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    filter_id: Mapped[int] = mapped_column(ForeignKey("custom_filters.id", ondelete="CASCADE"), index=True)
    keyword: Mapped[str] = mapped_column(Text)
    whole_word: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CustomFilterStatus(Base):
    """A status a filter matches by id (and the boosts of it)."""

    __tablename__ = "custom_filter_statuses"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    filter_id: Mapped[int] = mapped_column(ForeignKey("custom_filters.id", ondelete="CASCADE"), index=True)
    status_id: Mapped[int] = mapped_column(ForeignKey("statuses.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("filter_id", "status_id"),)


class AccountList(Base):
    """A list of accounts an account follows, read as a timeline of its own."""

    __tablename__ = "lists"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(Text)
    replies_policy: Mapped[str] = mapped_column(String(16), default="list")
    exclusive: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ListAccount(Base):
    """A member of a list."""

    __tablename__ = "list_accounts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("list_id", "account_id"),)


class AccountDomainBlock(Base):
    """A domain an account hides from itself (Mastodon's per-user domain block)."""

    __tablename__ = "account_domain_blocks"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    domain: Mapped[str] = mapped_column(String(255), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("account_id", "domain"),)


class TagFollow(Base):
    """A hashtag an account follows (lower-cased name, no #)."""

    __tablename__ = "tag_follows"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("account_id", "name"),)
