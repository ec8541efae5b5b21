"""Tables of the traffic with other servers: the activities we published and their deliveries, the
activities received (the inbox queue and each local account's client-to-server inbox), and what
we know of each remote host.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, BigId, utcnow
from storage.queue import QueueMixin


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
