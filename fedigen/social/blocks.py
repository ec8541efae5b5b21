"""Blocking and muting accounts, for every origin.

A block ends follows both ways; a local account's block of a remote one is sent as Block, and a Block
received from another server is recorded the same way. A mute stays on this server.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.activities import block_of, undo_of
from activitypub.outbox import publish
from fedigen.errors import ValidationError
from fedigen.services import Services
from fedigen.social.follows import sever
from storage.clients import Mute
from storage.models import Actor, Block, utcnow

MAX_MUTE_SECONDS = 10 * 365 * 24 * 3600


def _not_self(actor: Actor, target: Actor, verb: str) -> None:
    if actor.id == target.id:
        raise ValidationError("id", f"you cannot {verb} yourself")


async def block(
    svc: Services, session: AsyncSession, actor: Actor, target: Actor, *, ap_id: str | None = None
) -> Block:
    """``actor`` blocks ``target``: follows between the two end; ``ap_id`` is a received Block's id."""
    _not_self(actor, target, "block")
    row = await session.scalar(select(Block).where(Block.actor_id == actor.id, Block.target_id == target.id))
    if row is None:
        row = Block(actor_id=actor.id, target_id=target.id, ap_id=ap_id or svc.urls.new_activity())
        session.add(row)
        await session.flush()
        if actor.domain is None and target.domain is not None:
            await publish(session, actor, block_of(row.ap_id or "", actor, target))
    await sever(session, actor, target)
    return row


async def unblock(svc: Services, session: AsyncSession, actor: Actor, target: Actor) -> None:
    """Lift a block (none is a no-op); a local account's block of a remote one is undone with Undo{Block}."""
    row = await session.scalar(select(Block).where(Block.actor_id == actor.id, Block.target_id == target.id))
    if row is None:
        return
    await session.delete(row)
    await session.flush()
    if actor.domain is None and target.domain is not None and row.ap_id:
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
