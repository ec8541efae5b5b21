"""SQLAlchemy 2 models. ``ap_id`` / ``ap_type`` are ActivityPub identifiers; ``id`` is ours."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    func,
    text,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.vocabulary import FollowState, QueueState, StrEnumColumn, Visibility

# Named constraints so alembic migrations are stable across SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    """Now, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


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


class Status(Base):
    """A Note (or Question/Article/Page/Image read as one), or a boost when reblog_of_id is set."""

    __tablename__ = "statuses"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ap_id: Mapped[str] = mapped_column(String(2048), unique=True)
    url: Mapped[str | None] = mapped_column(String(2048))
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    ap_type: Mapped[str] = mapped_column(String(32), default="Note")
    local: Mapped[bool] = mapped_column(Boolean, default=False)
    content: Mapped[str] = mapped_column(Text, default="")
    source_text: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text, default="")
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    visibility: Mapped[Visibility] = mapped_column(StrEnumColumn(Visibility), default=Visibility.PUBLIC)
    language: Mapped[str | None] = mapped_column(String(16))
    in_reply_to_ap_id: Mapped[str | None] = mapped_column(String(2048), index=True)
    in_reply_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("statuses.id", ondelete="SET NULL"), index=True
    )
    reblog_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("statuses.id", ondelete="CASCADE"), index=True
    )
    to: Mapped[list[Any]] = mapped_column(JSON, default=list)
    cc: Mapped[list[Any]] = mapped_column(JSON, default=list)
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    attachments: Mapped[list[Any]] = mapped_column(JSON, default=list)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # A remote post's favourites and boosts as its server counts them (its ``likes`` and ``shares``
    # ``totalItems``), shown instead of ours when known, as Mastodon does; None for local posts.
    untrusted_favourites_count: Mapped[int | None] = mapped_column(Integer)
    untrusted_reblogs_count: Mapped[int | None] = mapped_column(Integer)
    published: Mapped[datetime] = mapped_column(default=utcnow)
    edited_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]
    __table_args__ = (
        Index("ix_statuses_actor_id_id", "actor_id", "id"),
        Index("ix_statuses_visibility_local_id", "visibility", "local", "id"),
        # The public timeline (local and remote together), newest first, from the index.
        Index("ix_statuses_visibility_id", "visibility", "id"),
        # An account's live statuses newest first (its timeline without boosts).
        Index(
            "ix_statuses_actor_id_live",
            "actor_id",
            "id",
            "published",
            sqlite_where=text("deleted_at IS NULL AND reblog_of_id IS NULL"),
            postgresql_where=text("deleted_at IS NULL AND reblog_of_id IS NULL"),
        ),
    )


class StatusCount(Base):
    """A status's favourites, boosts, replies and remixes as counted here, kept by the use-cases in the
    transaction of each action (``fedigen.social.counts``), so a page of statuses reads its counts in
    one indexed query instead of counting rows. No row means all zero."""

    __tablename__ = "status_counts"
    status_id: Mapped[int] = mapped_column(
        ForeignKey("statuses.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    favourites: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reblogs: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    replies: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    remixes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class AccountStatusCount(Base):
    """An account's live statuses (not deleted, not boosts) and when its newest was published, kept by
    triggers on ``statuses`` (:mod:`storage.account_counts`). No row means none."""

    __tablename__ = "account_status_counts"
    actor_id: Mapped[int] = mapped_column(
        ForeignKey("actors.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    statuses: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_status_at: Mapped[datetime | None]


class StatusPin(Base):
    """A post its author pinned to their profile (the ``featured`` collection); remote accounts' too."""

    __tablename__ = "status_pins"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    status_id: Mapped[int] = mapped_column(ForeignKey("statuses.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("account_id", "status_id"),)


class Mention(Base):
    """A local or remote actor mentioned by a status."""

    __tablename__ = "mentions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    status_id: Mapped[int] = mapped_column(ForeignKey("statuses.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    __table_args__ = (UniqueConstraint("status_id", "actor_id"),)


class StatusTag(Base):
    """A hashtag on a status (name lower-cased, without '#')."""

    __tablename__ = "status_tags"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    status_id: Mapped[int] = mapped_column(ForeignKey("statuses.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    __table_args__ = (
        UniqueConstraint("status_id", "name"),
        # A hashtag's statuses from the index alone (tag timelines, followed hashtags in home).
        Index("ix_status_tags_name_status_id", "name", "status_id"),
    )


class Tombstone(Base):
    """An object id known to be deleted, so a late Create for it is ignored."""

    __tablename__ = "tombstones"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ap_id: Mapped[str] = mapped_column(String(2048), unique=True)
    actor_ap_id: Mapped[str] = mapped_column(String(2048))
    deleted_at: Mapped[datetime] = mapped_column(default=utcnow)


class Poll(Base):
    """The poll of a status (an ActivityPub Question): its options, per-option counts and end.

    A local poll counts the votes recorded in ``poll_votes``; a remote one mirrors the counts its
    server sends (``Update{Question}``), plus the votes of local accounts until the next update.
    """

    __tablename__ = "polls"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    status_id: Mapped[int] = mapped_column(ForeignKey("statuses.id", ondelete="CASCADE"), unique=True)
    options: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # Votes per option, in the order of ``options`` (Mastodon's cached_tallies).
    tallies: Mapped[list[Any]] = mapped_column(JSON, default=list)
    multiple: Mapped[bool] = mapped_column(Boolean, default=False)
    hide_totals: Mapped[bool] = mapped_column(Boolean, default=False)
    # Distinct voters (toot:votersCount); None when a remote server does not say.
    voters_count: Mapped[int | None] = mapped_column(Integer)
    expires_at: Mapped[datetime | None]
    # Local polls: when the Update with the new counts is due (votes are sent in batches).
    update_due_at: Mapped[datetime | None] = mapped_column(index=True)
    # When the end was handled: voters and the author told, the final counts sent.
    ended_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    __table_args__ = (
        # The polls still to end, for the worker's look each pass (ended ones leave the index).
        Index(
            "ix_polls_ending",
            "expires_at",
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
    )


class PollVote(Base):
    """One choice of one voter (local or remote) in a poll; a voter counts once per option."""

    __tablename__ = "poll_votes"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"))
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    choice: Mapped[int] = mapped_column(Integer)
    # The vote's Note: ours for local voters, the voter's for remote ones.
    ap_id: Mapped[str | None] = mapped_column(String(2048))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("poll_id", "actor_id", "choice"),)


class Favourite(Base):
    """A Like of a status."""

    __tablename__ = "favourites"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ap_id: Mapped[str | None] = mapped_column(String(2048), index=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    status_id: Mapped[int] = mapped_column(ForeignKey("statuses.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("actor_id", "status_id"),)


class CustomEmoji(Base):
    """A custom emoji another server's posts, names, bios or reactions use, and our copy of its image.

    Emoji are named by shortcode within the domain of the account that used them (as Mastodon keeps
    them), so one server can never replace another's. ``state`` is ``pending`` until the worker has
    copied the image (``image_key``: the emoji as shown, animation kept; ``static_key``: its first
    frame as PNG), ``ready`` after, or ``failed`` when the image was refused; a new ``remote_url`` or a
    newer ``updated`` makes it ``pending`` again.
    """

    __tablename__ = "custom_emojis"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shortcode: Mapped[str] = mapped_column(String(100))
    domain: Mapped[str | None] = mapped_column(String(255))
    ap_id: Mapped[str | None] = mapped_column(String(2048))
    remote_url: Mapped[str] = mapped_column(String(2048))
    media_type: Mapped[str | None] = mapped_column(String(64))
    updated: Mapped[datetime | None]
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    image_key: Mapped[str | None] = mapped_column(String(255))
    static_key: Mapped[str | None] = mapped_column(String(255))
    fetched_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("shortcode", "domain"),)


class StatusEmoji(Base):
    """A custom emoji a status's text (content or content warning) was sent with."""

    __tablename__ = "status_emojis"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    status_id: Mapped[int] = mapped_column(ForeignKey("statuses.id", ondelete="CASCADE"), index=True)
    emoji_id: Mapped[int] = mapped_column(ForeignKey("custom_emojis.id", ondelete="CASCADE"))
    __table_args__ = (UniqueConstraint("status_id", "emoji_id"),)


class ActorEmoji(Base):
    """A custom emoji a remote actor's name, bio or profile fields were sent with."""

    __tablename__ = "actor_emojis"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    emoji_id: Mapped[int] = mapped_column(ForeignKey("custom_emojis.id", ondelete="CASCADE"))
    __table_args__ = (UniqueConstraint("actor_id", "emoji_id"),)


class Reaction(Base):
    """An emoji reaction to a status: ``name`` is a Unicode emoji, or a custom emoji's shortcode
    (``emoji_id`` then names it). ``ap_id`` is the Like or EmojiReact that made it."""

    __tablename__ = "reactions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ap_id: Mapped[str | None] = mapped_column(String(2048), index=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    status_id: Mapped[int] = mapped_column(ForeignKey("statuses.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    emoji_id: Mapped[int | None] = mapped_column(ForeignKey("custom_emojis.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("actor_id", "status_id", "name"),)


class Block(Base):
    """actor blocks target."""

    __tablename__ = "blocks"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ap_id: Mapped[str | None] = mapped_column(String(2048), index=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    target_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("actor_id", "target_id"),)


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


class Activity(Base):
    """An activity we published, kept so its id dereferences and deliveries can refer to it."""

    __tablename__ = "activities"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ap_id: Mapped[str] = mapped_column(String(2048), unique=True)
    ap_type: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    object_ap_id: Mapped[str | None] = mapped_column(String(2048), index=True)
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Host(Base):
    """What we know of a remote host (``domain`` is its host[:port]): delivery health, with
    ``unavailable_since`` set when it kept failing for days; and the HTTP signature scheme it accepts."""

    __tablename__ = "hosts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    domain: Mapped[str] = mapped_column(String(255), unique=True)
    first_failure_at: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    failures: Mapped[int] = mapped_column(Integer, default=0)
    unavailable_since: Mapped[datetime | None]
    # activitypub.schemes: "rfc9421" (it accepted an RFC 9421 signature) or "draft-cavage" (it refused
    # one and took draft-cavage), and when that was learned; the software its NodeInfo names, and when
    # NodeInfo was last asked (software_name stays empty when it could not be read).
    signature_scheme: Mapped[str | None] = mapped_column(String(16))
    signature_scheme_at: Mapped[datetime | None]
    software_name: Mapped[str | None] = mapped_column(String(64))
    software_version: Mapped[str | None] = mapped_column(String(64))
    nodeinfo_checked_at: Mapped[datetime | None]


class QueueMixin:
    """The columns every durable queue shares (docs/architecture.md, "Durable work")."""

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    state: Mapped[QueueState] = mapped_column(StrEnumColumn(QueueState), default=QueueState.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class InboxItem(QueueMixin, Base):
    """A verified incoming activity waiting for its side effects."""

    __tablename__ = "inbox_items"
    activity_ap_id: Mapped[str] = mapped_column(String(2048), unique=True)
    ap_type: Mapped[str] = mapped_column(String(32))
    actor_ap_id: Mapped[str] = mapped_column(String(2048))
    # The sender's host: the worker takes a few items per host at a time, so one slow or flooding
    # server delays only its own activities.
    host: Mapped[str] = mapped_column(String(255), default="", server_default="")
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id", ondelete="SET NULL"))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    __table_args__ = (Index("ix_inbox_items_state_next", "state", "next_attempt_at"),)


class InboxEntry(Base):
    """An activity a local account received, for its ActivityPub client-to-server inbox (``GET inbox``).

    Written by the worker when it applies a received activity, one row per local account the activity
    was for (its personal inbox, named in the audience, or a follower of the sender), so the owner's
    ``GET`` is one indexed range read however many other activities the instance receives.
    """

    __tablename__ = "inbox_entries"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    activity_ap_id: Mapped[str] = mapped_column(String(2048))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (
        Index("ix_inbox_entries_account_id_id", "account_id", "id"),
        UniqueConstraint("account_id", "activity_ap_id"),
    )


class Delivery(QueueMixin, Base):
    """One activity to POST to one inbox."""

    __tablename__ = "deliveries"
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), index=True)
    inbox_url: Mapped[str] = mapped_column(String(2048))
    host: Mapped[str] = mapped_column(String(255), index=True)
    last_status: Mapped[int | None] = mapped_column(Integer)
    __table_args__ = (
        Index("ix_deliveries_state_next", "state", "next_attempt_at"),
        UniqueConstraint("activity_id", "inbox_url"),
    )


class GenerationJob(QueueMixin, Base):
    """Prompt -> images, then (by ``purpose``) nothing more, a post, or the bot's reply.

    ``account_id`` is the local account that will own the images (the bot for bot replies);
    ``requester_id`` is whoever asked (a remote actor for the bot), for quotas and rate limits.
    """

    __tablename__ = "generation_jobs"
    account_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    requester_domain: Mapped[str | None] = mapped_column(String(255))
    purpose: Mapped[str] = mapped_column(String(16), default="images")
    prompt: Mapped[str] = mapped_column(Text)
    negative_prompt: Mapped[str] = mapped_column(Text, default="")
    backend: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer, default=1)
    seed: Mapped[int | None] = mapped_column(BigInteger)
    strength: Mapped[float | None]
    # Remix: the status remixed (local, or remote and stored) and its id on the wire.
    parent_status_id: Mapped[int | None] = mapped_column(ForeignKey("statuses.id", ondelete="SET NULL"))
    parent_ap_id: Mapped[str | None] = mapped_column(String(2048))
    # What to post when the images are made (caption, visibility, alt texts...), by purpose.
    post: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    model: Mapped[str | None] = mapped_column(String(255))
    # The status made from the images, once posted.
    status_id: Mapped[int | None] = mapped_column(ForeignKey("statuses.id", ondelete="SET NULL"))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    __table_args__ = (
        Index("ix_generation_jobs_state_next", "state", "next_attempt_at"),
        Index("ix_generation_jobs_requester_created", "requester_id", "created_at"),
        Index("ix_generation_jobs_domain_created", "requester_domain", "created_at"),
    )


class MediaAttachment(Base):
    """An image: uploaded, generated, or a processed copy of a remote one; files live in the media store.

    ``meta`` holds Mastodon's MediaAttachment meta (original/small sizes, focus); ``generation`` the
    provenance of generated images (prompt, negative prompt, backend, model, seed, size, parent).
    """

    __tablename__ = "media_attachments"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    status_id: Mapped[int | None] = mapped_column(ForeignKey("statuses.id", ondelete="SET NULL"), index=True)
    job_id: Mapped[int | None] = mapped_column(
        ForeignKey("generation_jobs.id", ondelete="SET NULL"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    # "processing" while an upload is worked on, then "ready" (or "failed").
    state: Mapped[str] = mapped_column(String(16), default="ready")
    original_key: Mapped[str | None] = mapped_column(String(255), index=True)
    federation_key: Mapped[str | None] = mapped_column(String(255))
    thumbnail_key: Mapped[str | None] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(64), default="image/jpeg")
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    blurhash: Mapped[str | None] = mapped_column(String(128))
    focus_x: Mapped[float] = mapped_column(default=0.0)
    focus_y: Mapped[float] = mapped_column(default=0.0)
    description: Mapped[str] = mapped_column(Text, default="")
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ai_generated: Mapped[bool] = mapped_column(Boolean, default=False)
    generation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # For remote images kept as copies (avatars): where they came from.
    remote_url: Mapped[str | None] = mapped_column(String(2048), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Remix(Base):
    """One link of remix lineage: child remixed parent (either may be remote, known by ``ap_id``)."""

    __tablename__ = "remixes"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    child_ap_id: Mapped[str] = mapped_column(String(2048), unique=True)
    child_status_id: Mapped[int | None] = mapped_column(ForeignKey("statuses.id", ondelete="CASCADE"))
    parent_ap_id: Mapped[str] = mapped_column(String(2048), index=True)
    parent_status_id: Mapped[int | None] = mapped_column(
        ForeignKey("statuses.id", ondelete="SET NULL"), index=True
    )
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


class ReportNote(Base):
    """A moderator's note on a report."""

    __tablename__ = "report_notes"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id", ondelete="SET NULL"))
    content: Mapped[str] = mapped_column(Text)
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


QUEUE_MODELS: tuple[type[QueueMixin], ...] = (InboxItem, Delivery, GenerationJob)


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
