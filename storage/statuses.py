"""Tables of statuses and what hangs off them: counters, pins, mentions, hashtags, tombstones of
deleted objects, polls and their votes, favourites, emoji reactions and remix lineage.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, BigId, utcnow
from storage.vocabulary import StrEnumColumn, Visibility


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
