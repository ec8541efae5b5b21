"""Tables of the pictures: generation jobs (prompt -> images, a durable queue) and the media
attachment row of every image, uploaded, generated or copied from another server.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, BigId, utcnow
from storage.queue import QueueMixin


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
