"""What every inbox handler shares: its context, and the lookups and notifications they all use."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.jsonld import id_of
from activitypub.resolver import Resolver
from activitypub.urls import LocalUrls
from storage.models import Actor, Block, Follow, Notification, Status


@dataclass
class Context:
    """What a handler works with: one transaction, the sender, and the activity."""

    session: AsyncSession
    resolver: Resolver
    urls: LocalUrls
    actor: Actor
    doc: dict[str, Any]

    @property
    def object(self) -> Any:
        """The activity's object, as given (id string or embedded document)."""
        return self.doc.get("object")

    @property
    def object_id(self) -> str | None:
        """The id of the activity's object."""
        return id_of(self.object)


Handler = Callable[[Context], Awaitable[None]]


async def local_actor(session: AsyncSession, ap_id: str | None) -> Actor | None:
    if not ap_id:
        return None
    return await session.scalar(select(Actor).where(Actor.ap_id == ap_id, Actor.domain.is_(None)))


async def status_by_id(session: AsyncSession, ap_id: str | None) -> Status | None:
    if not ap_id:
        return None
    return await session.scalar(select(Status).where(Status.ap_id == ap_id, Status.deleted_at.is_(None)))


async def blocks(session: AsyncSession, actor: Actor, target: Actor) -> bool:
    """True when actor has blocked target."""
    found = await session.scalar(
        select(Block.id).where(Block.actor_id == actor.id, Block.target_id == target.id)
    )
    return found is not None


async def notify(
    session: AsyncSession, recipient: Actor, kind: str, sender: Actor, status: Status | None
) -> None:
    """Record a notification for a local account (never for its own actions)."""
    if recipient.domain is not None or recipient.id == sender.id:
        return
    if not await blocks(session, recipient, sender):
        session.add(
            Notification(recipient_id=recipient.id, type=kind, from_actor_id=sender.id,
                         status_id=status.id if status else None)
        )  # fmt: skip


async def has_local_followers(ctx: Context) -> bool:
    found = await ctx.session.scalar(
        select(Follow.id)
        .join(Actor, Actor.id == Follow.follower_id)
        .where(Follow.followee_id == ctx.actor.id, Follow.state == "accepted", Actor.domain.is_(None))
        .limit(1)
    )
    return found is not None
