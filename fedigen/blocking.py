"""Blocking and muting accounts: a block ends follows both ways and is sent as Block; a mute stays here."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.outbox import publish, undo_of
from activitypub.vocab import CONTEXT
from fedigen.errors import ValidationError
from fedigen.services import Services
from storage.clients import Mute
from storage.models import Actor, Block, Follow, utcnow

MAX_MUTE_SECONDS = 10 * 365 * 24 * 3600


def block_of(ap_id: str, actor: Actor, target: Actor) -> dict[str, object]:
    """The Block activity (Mastodon sends it to the blocked account so its server hides us)."""
    return {"@context": CONTEXT, "id": ap_id, "type": "Block", "actor": actor.ap_id,
            "object": target.ap_id, "to": [target.ap_id]}  # fmt: skip


def _not_self(actor: Actor, target: Actor, verb: str) -> None:
    if actor.id == target.id:
        raise ValidationError("id", f"you cannot {verb} yourself")


async def block(svc: Services, session: AsyncSession, actor: Actor, target: Actor) -> Block:
    """Block ``target``: follows between the two end, and a remote target gets Block (caller commits)."""
    _not_self(actor, target, "block")
    row = await session.scalar(select(Block).where(Block.actor_id == actor.id, Block.target_id == target.id))
    if row is not None:
        return row
    row = Block(actor_id=actor.id, target_id=target.id, ap_id=svc.urls.new_activity())
    session.add(row)
    await session.execute(
        delete(Follow).where(
            or_(
                (Follow.follower_id == actor.id) & (Follow.followee_id == target.id),
                (Follow.follower_id == target.id) & (Follow.followee_id == actor.id),
            )
        )
    )
    await session.flush()
    if target.domain is not None:
        await publish(session, actor, block_of(row.ap_id or "", actor, target))
    return row


async def unblock(svc: Services, session: AsyncSession, actor: Actor, target: Actor) -> None:
    """Lift a block; a remote target gets Undo{Block}. Unblocking someone not blocked changes nothing."""
    row = await session.scalar(select(Block).where(Block.actor_id == actor.id, Block.target_id == target.id))
    if row is None:
        return
    await session.delete(row)
    await session.flush()
    if target.domain is not None and row.ap_id:
        inner = block_of(row.ap_id, actor, target)
        await publish(session, actor, undo_of(svc.urls.new_activity(), actor, inner, [target.ap_id]))


async def mute(
    session: AsyncSession, actor: Actor, target: Actor, *, notifications: bool = True, duration: int = 0
) -> Mute:
    """Mute ``target`` (and its notifications unless told not to), for ``duration`` seconds (0 = forever)."""
    _not_self(actor, target, "mute")
    if duration < 0 or duration > MAX_MUTE_SECONDS:
        raise ValidationError("duration", f"must be between 0 and {MAX_MUTE_SECONDS} seconds")
    row = await session.scalar(select(Mute).where(Mute.account_id == actor.id, Mute.target_id == target.id))
    if row is None:
        row = Mute(account_id=actor.id, target_id=target.id)
        session.add(row)
    row.notifications = notifications
    row.expires_at = utcnow() + timedelta(seconds=duration) if duration else None
    await session.flush()
    return row


async def unmute(session: AsyncSession, actor: Actor, target: Actor) -> None:
    """Lift a mute (nothing happens when there is none)."""
    await session.execute(delete(Mute).where(Mute.account_id == actor.id, Mute.target_id == target.id))
