"""Reactions of a local account to a status: favourite, boost and bookmark, and their undoing.

Favourites and boosts federate as Mastodon sends them: a Like goes to the status's author only; an
Announce is public, addressed to the author and the booster's followers; each is withdrawn with an
Undo carrying the original activity (https://docs.joinmastodon.org/spec/activitypub/). Bookmarks are
private and never leave the server. The caller commits.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.handling import notify
from activitypub.outbox import announce_of, like_of, publish, undo_of
from activitypub.vocab import PUBLIC
from fedigen.errors import NotFoundError, ValidationError
from fedigen.services import Services
from fedigen.timelines import visible_status
from storage.clients import Bookmark
from storage.models import Actor, Favourite, Status, utcnow

BOOST_VISIBILITIES = ("public", "unlisted", "followers")


async def _author(session: AsyncSession, status: Status) -> Actor:
    author = await session.get(Actor, status.actor_id)
    if author is None:
        raise NotFoundError("Record not found")
    return author


async def favourite(svc: Services, session: AsyncSession, actor: Actor, status_id: int | str) -> Status:
    """Favourite a status the account may see (again is a no-op)."""
    status = await visible_status(session, status_id, actor.id)
    if status.reblog_of_id is not None:
        status = await visible_status(session, status.reblog_of_id, actor.id)
    found = await session.scalar(
        select(Favourite).where(Favourite.actor_id == actor.id, Favourite.status_id == status.id)
    )
    if found is not None:
        return status
    like = Favourite(ap_id=svc.urls.new_activity(), actor_id=actor.id, status_id=status.id)
    session.add(like)
    author = await _author(session, status)
    await notify(session, author, "favourite", actor, status)
    await session.flush()
    if author.domain is not None:
        await publish(session, actor, like_of(like.ap_id or "", actor, status, author))
    return status


async def unfavourite(svc: Services, session: AsyncSession, actor: Actor, status_id: int | str) -> Status:
    """Withdraw a favourite (none is a no-op) and send Undo{Like} to the author."""
    status = await visible_status(session, status_id, actor.id)
    found = await session.scalar(
        select(Favourite).where(Favourite.actor_id == actor.id, Favourite.status_id == status.id)
    )
    if found is None:
        return status
    await session.delete(found)
    await session.flush()
    author = await _author(session, status)
    if author.domain is not None and found.ap_id:
        like = like_of(found.ap_id, actor, status, author)
        await publish(session, actor, undo_of(svc.urls.new_activity(), actor, like, [author.ap_id]))
    return status


async def _own_boost(session: AsyncSession, actor: Actor, status: Status) -> Status | None:
    return await session.scalar(
        select(Status).where(
            Status.actor_id == actor.id, Status.reblog_of_id == status.id, Status.deleted_at.is_(None)
        )
    )


async def reblog(
    svc: Services, session: AsyncSession, actor: Actor, status_id: int | str, visibility: str = "public"
) -> Status:
    """Boost a public or unlisted status (one's own followers-only ones too); returns the boost."""
    if visibility not in BOOST_VISIBILITIES:
        raise ValidationError("visibility", f"must be one of {', '.join(BOOST_VISIBILITIES)}")
    status = await visible_status(session, status_id, actor.id)
    if status.reblog_of_id is not None:
        status = await visible_status(session, status.reblog_of_id, actor.id)
    own_private = status.visibility == "followers" and status.actor_id == actor.id
    if status.visibility not in ("public", "unlisted") and not own_private:
        raise NotFoundError("Record not found")
    existing = await _own_boost(session, actor, status)
    if existing is not None:
        return existing
    author = await _author(session, status)
    followers = actor.followers_url or svc.urls.followers(actor.username)
    to, cc = ([PUBLIC], [author.ap_id, followers]) if visibility == "public" else (
        [followers], [author.ap_id, PUBLIC] if visibility == "unlisted" else [author.ap_id])  # fmt: skip
    boost = Status(
        ap_id=svc.urls.new_activity(), actor_id=actor.id, local=True, reblog_of_id=status.id,
        visibility=visibility if not own_private else "followers", to=to, cc=cc, published=utcnow(),
    )  # fmt: skip
    session.add(boost)
    await session.flush()
    await notify(session, author, "reblog", actor, status)
    await publish(session, actor, announce_of(boost, actor, status))
    return boost


async def unreblog(svc: Services, session: AsyncSession, actor: Actor, status_id: int | str) -> Status:
    """Withdraw a boost (none is a no-op) with Undo{Announce} to the same audience; returns the status."""
    status = await visible_status(session, status_id, actor.id)
    if status.reblog_of_id is not None and status.actor_id == actor.id:
        status = await visible_status(session, status.reblog_of_id, actor.id)
    boost = await _own_boost(session, actor, status)
    if boost is None:
        return status
    boost.deleted_at = utcnow()
    await session.flush()
    announce = announce_of(boost, actor, status)
    undo = undo_of(svc.urls.new_activity(), actor, announce, list(boost.to))
    undo["cc"] = list(boost.cc)
    await publish(session, actor, undo)
    return status


async def bookmark(session: AsyncSession, actor: Actor, status_id: int | str) -> Status:
    """Bookmark a status the account may see (again is a no-op)."""
    status = await visible_status(session, status_id, actor.id)
    found = await session.scalar(
        select(Bookmark.id).where(Bookmark.account_id == actor.id, Bookmark.status_id == status.id)
    )
    if found is None:
        session.add(Bookmark(account_id=actor.id, status_id=status.id))
        await session.flush()
    return status


async def unbookmark(session: AsyncSession, actor: Actor, status_id: int | str) -> Status:
    """Remove a bookmark (none is a no-op)."""
    status = await visible_status(session, status_id, actor.id)
    await session.execute(
        delete(Bookmark).where(Bookmark.account_id == actor.id, Bookmark.status_id == status.id)
    )
    return status
