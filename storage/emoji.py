"""Tables of custom emoji: our copies of other servers' emoji, and which statuses and remote actors
were sent with them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, BigId, utcnow


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
