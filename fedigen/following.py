"""Following: local accounts following remote ones, and owners answering follow requests."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.outbox import follow_of, publish, response_of, undo_of
from fedigen.accounts import get_local
from fedigen.errors import ConflictError, NotFoundError, ValidationError
from fedigen.services import Services
from storage.models import Actor, Follow


async def find_actor(svc: Services, session: AsyncSession, handle: str) -> Actor:
    """A local or remote actor by @user@host, user@host, a local username or an actor URL."""
    value = handle.strip()
    if value.startswith(("http://", "https://")):
        return await svc.resolver.get_actor(value, session=session)
    user, _, domain = value.lstrip("@").partition("@")
    if not user:
        raise ValidationError("account", f"not a handle: {handle!r}")
    if not domain or domain.lower() == svc.urls.host.lower():
        return await get_local(session, user)
    return await svc.resolver.resolve_handle(f"{user}@{domain}", session=session)


async def follow(svc: Services, session: AsyncSession, follower: Actor, target: Actor) -> Follow:
    """Follow an account: local ones at once (or as a request when locked), remote ones by a Follow."""
    if target.id == follower.id:
        raise ValidationError("account", "you cannot follow yourself")
    existing = await session.scalar(
        select(Follow).where(Follow.follower_id == follower.id, Follow.followee_id == target.id)
    )
    if existing is not None:
        return existing
    row = Follow(
        follower_id=follower.id, followee_id=target.id, state="requested", ap_id=svc.urls.new_activity()
    )
    session.add(row)
    await session.flush()
    if target.domain is None:
        if not target.locked:
            row.state = "accepted"
        return row
    await publish(session, follower, follow_of(row.ap_id or "", follower, target))
    return row


async def unfollow(svc: Services, session: AsyncSession, follower: Actor, target: Actor) -> None:
    """Stop following; remote followees get Undo{Follow}."""
    row = await session.scalar(
        select(Follow).where(Follow.follower_id == follower.id, Follow.followee_id == target.id)
    )
    if row is None:
        raise NotFoundError("not following that account")
    await session.delete(row)
    if target.domain is not None and row.ap_id:
        inner = follow_of(row.ap_id, follower, target)
        await publish(session, follower, undo_of(svc.urls.new_activity(), follower, inner, [target.ap_id]))


async def answer_request(
    svc: Services, session: AsyncSession, owner: Actor, requester: Actor, *, approve: bool
) -> None:
    """Approve (Accept) or reject (Reject) a pending follow request to a locked account."""
    row = await session.scalar(
        select(Follow).where(Follow.follower_id == requester.id, Follow.followee_id == owner.id)
    )
    if row is None or row.state != "requested":
        raise ConflictError("there is no pending follow request from that account")
    if approve:
        row.state = "accepted"
    else:
        await session.delete(row)
    if requester.domain is not None:
        follow_doc = {"id": row.ap_id, "type": "Follow", "actor": requester.ap_id, "object": owner.ap_id}
        kind = "Accept" if approve else "Reject"
        await publish(
            session, owner, response_of(kind, svc.urls.new_activity(), owner, follow_doc, requester.ap_id)
        )


async def pending_requests(session: AsyncSession, owner: Actor) -> list[Actor]:
    """Accounts waiting for the owner's approval."""
    rows = await session.scalars(
        select(Actor)
        .join(Follow, Follow.follower_id == Actor.id)
        .where(Follow.followee_id == owner.id, Follow.state == "requested")
        .order_by(Follow.id)
    )
    return list(rows)
