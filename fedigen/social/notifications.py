"""Notifications: the one place that decides whether a local account hears about something.

Every social action that should reach someone (a follow or follow request, a mention or reply, a
favourite, a boost, a move, the end of a poll) calls :func:`notify`, whichever front door it came
through: a local account, the client API, C2S, the CLI or another server.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.clients import AccountDomainBlock, Mute
from storage.models import Actor, Block, Notification, Status, utcnow


class Kind(StrEnum):
    """Notification types, named as Mastodon's API names them."""

    FOLLOW = "follow"
    FOLLOW_REQUEST = "follow_request"
    MENTION = "mention"
    FAVOURITE = "favourite"
    REBLOG = "reblog"
    MOVE = "move"
    # Pleroma's and Akkoma's name, which Mastodon API clients that show reactions read.
    EMOJI_REACTION = "pleroma:emoji_reaction"
    POLL = "poll"  # a poll the account made or voted in has ended


async def blocks(session: AsyncSession, actor: Actor, target: Actor) -> bool:
    """True when ``actor`` has blocked ``target``, or ``target``'s domain."""
    found = await session.scalar(
        select(Block.id).where(Block.actor_id == actor.id, Block.target_id == target.id)
    )
    if found is None and target.domain is not None:
        mine = AccountDomainBlock.account_id == actor.id
        found = await session.scalar(
            select(AccountDomainBlock.id).where(mine, AccountDomainBlock.domain == target.domain)
        )
    return found is not None


async def notify(
    session: AsyncSession, recipient: Actor, kind: Kind, sender: Actor, status: Status | None = None,
    *, reaction_id: int | None = None,
) -> None:  # fmt: skip
    """Tell a local account; never about its own actions (except that its own poll ended, which comes
    from itself as on Mastodon), nor about accounts it blocked.

    ``reaction_id`` is the emoji reaction an EMOJI_REACTION is about (undoing it removes the notification).
    """
    if recipient.domain is not None or (recipient.id == sender.id and kind != Kind.POLL):
        return
    if not await blocks(session, recipient, sender):
        session.add(
            Notification(recipient_id=recipient.id, type=kind.value, from_actor_id=sender.id,
                         status_id=status.id if status else None, reaction_id=reaction_id)
        )  # fmt: skip


def not_muted(viewer: Actor) -> Any:
    """A condition on notifications: those from accounts the viewer muted with notifications are left
    out (the client API's list and the notifications page alike)."""
    muted = select(Mute.target_id).where(
        Mute.account_id == viewer.id, Mute.notifications.is_(True),
        or_(Mute.expires_at.is_(None), Mute.expires_at > utcnow()),
    )  # fmt: skip
    return Notification.from_actor_id.not_in(muted)
