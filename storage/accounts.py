"""Tables of accounts, local and remote, and what links them: logins, fetched keys, follows,
blocks and the notifications a local account gets.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, BigId, utcnow
from storage.vocabulary import FollowState, StrEnumColumn


class Actor(Base):
    """A local account or a remote actor (domain is None for local ones)."""

    __tablename__ = "actors"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ap_id: Mapped[str] = mapped_column(String(2048), unique=True)
    ap_type: Mapped[str] = mapped_column(String(32), default="Person")
    username: Mapped[str] = mapped_column(String(255))
    domain: Mapped[str | None] = mapped_column(String(255), index=True)
    display_name: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(String(2048))
    inbox_url: Mapped[str | None] = mapped_column(String(2048))
    shared_inbox_url: Mapped[str | None] = mapped_column(String(2048))
    outbox_url: Mapped[str | None] = mapped_column(String(2048))
    followers_url: Mapped[str | None] = mapped_column(String(2048))
    following_url: Mapped[str | None] = mapped_column(String(2048))
    featured_url: Mapped[str | None] = mapped_column(String(2048))
    icon_url: Mapped[str | None] = mapped_column(String(2048))
    image_url: Mapped[str | None] = mapped_column(String(2048))
    public_key_id: Mapped[str | None] = mapped_column(String(2048))
    public_key_pem: Mapped[str | None] = mapped_column(Text)
    private_key_pem: Mapped[str | None] = mapped_column(Text)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    discoverable: Mapped[bool] = mapped_column(Boolean, default=True)
    # Whether the account's public posts may be searched by anyone (Mastodon's opt-in: off until asked).
    indexable: Mapped[bool] = mapped_column(Boolean, default=False)
    # A local account's default posting language (ISO 639-1; None: the instance's default).
    default_language: Mapped[str | None] = mapped_column(String(16))
    fields: Mapped[list[Any]] = mapped_column(JSON, default=list)
    also_known_as: Mapped[list[Any]] = mapped_column(JSON, default=list)
    moved_to_ap_id: Mapped[str | None] = mapped_column(String(2048))
    # Privacy (docs/privacy.md): the owner asks that its posts and images not be used to train AI
    # (robots noai/noimageai, TDM reservation; fedigen:aiTrainingOptOut), and whether others may remix
    # them (fedigen:allowRemixes). Remote actors' values are read from their actor documents.
    ai_training_opt_out: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    allow_remixes: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    published: Mapped[datetime | None]
    fetched_at: Mapped[datetime | None]
    # When a remote actor's featured collection (its pinned posts) was last read: it is read again
    # after the actor's document is fetched again (fetched_at later than this).
    featured_synced_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None]
    # Moderation, as Mastodon's account flags (fedigen.social.account_moderation sets them): suspended
    # (refused and hidden; its data goes after the retention period), silenced (limited: off public
    # timelines, follows need approval), sensitized (all its media shown sensitive), a forced content
    # warning on its posts, and a local login disabled.
    suspended_at: Mapped[datetime | None]
    silenced_at: Mapped[datetime | None]
    sensitized_at: Mapped[datetime | None]
    forced_cw: Mapped[str | None] = mapped_column(Text)
    disabled_at: Mapped[datetime | None]

    __table_args__ = (
        Index(
            "uq_actors_local_username",
            func.lower(username),
            unique=True,
            sqlite_where=domain.is_(None),
            postgresql_where=domain.is_(None),
        ),
        Index("ix_actors_username_domain", username, domain),
        # The few suspended and silenced accounts every timeline leaves out, found without reading every
        # account (fedigen.social.standing).
        Index(
            "ix_actors_suspended",
            "id",
            sqlite_where=text("suspended_at IS NOT NULL"),
            postgresql_where=text("suspended_at IS NOT NULL"),
        ),  # fmt: skip
        Index(
            "ix_actors_silenced",
            "id",
            sqlite_where=text("silenced_at IS NOT NULL"),
            postgresql_where=text("silenced_at IS NOT NULL"),
        ),  # fmt: skip
    )

    @property
    def local(self) -> bool:
        """True for accounts of this instance."""
        return self.domain is None


class User(Base):
    """Login credentials and roles of a local account."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), unique=True)
    password_hash: Mapped[str | None] = mapped_column(Text)
    # owner, admin, moderator or member (fedigen.social.roles says what each may do).
    role: Mapped[str] = mapped_column(String(16), default="member", server_default="member")
    email: Mapped[str | None] = mapped_column(String(320))
    # Preferences (the settings pages): the visibility new posts get unless another is chosen, and
    # whether the prompts of the account's generated images stay private by default.
    default_visibility: Mapped[str] = mapped_column(String(16), default="public", server_default="public")
    private_prompts: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RemoteKey(Base):
    """Cache of public keys fetched by keyId."""

    __tablename__ = "remote_keys"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(2048), unique=True)
    owner_ap_id: Mapped[str] = mapped_column(String(2048))
    public_key_pem: Mapped[str] = mapped_column(Text)
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)


class Follow(Base):
    """follower follows followee; state is ``requested`` until accepted."""

    __tablename__ = "follows"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ap_id: Mapped[str | None] = mapped_column(String(2048), index=True)
    follower_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    followee_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    state: Mapped[FollowState] = mapped_column(StrEnumColumn(FollowState), default=FollowState.REQUESTED)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    __table_args__ = (UniqueConstraint("follower_id", "followee_id"),)


class Block(Base):
    """actor blocks target."""

    __tablename__ = "blocks"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ap_id: Mapped[str | None] = mapped_column(String(2048), index=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    target_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("actor_id", "target_id"),)


class Notification(Base):
    """Something a local account should see: follow, follow_request, mention, favourite, reblog, move,
    poll (a poll it made or voted in has ended), and an emoji reaction (``reaction_id``; the
    notification goes when the reaction is undone)."""

    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(32))
    from_actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    status_id: Mapped[int | None] = mapped_column(ForeignKey("statuses.id", ondelete="CASCADE"))
    reaction_id: Mapped[int | None] = mapped_column(ForeignKey("reactions.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    __table_args__ = (Index("ix_notifications_recipient_id_id", "recipient_id", "id"),)
