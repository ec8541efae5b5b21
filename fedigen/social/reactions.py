"""Reactions to a status, for every origin: favourite and boost (and their undoing), emoji reactions,
and bookmarks.

The same functions serve a local account (client API, C2S) and a Like, Announce or Undo received
from another server. They federate as Mastodon sends them: a local account's Like goes to the
status's author only; its Announce is public, addressed to the author and the booster's followers;
each is withdrawn with an Undo carrying the original activity
(https://docs.joinmastodon.org/spec/activitypub/). Bookmarks are private and never leave the server.

Emoji reactions come from other servers (fedigen's own accounts do not react yet, so nothing is sent):
Misskey's Like with ``_misskey_reaction`` is a favourite, as Mastodon counts it, and its emoji is
recorded as a reaction too, without a second notification; Pleroma's and Akkoma's EmojiReact is a
reaction, and tells the author with Pleroma's ``pleroma:emoji_reaction`` notification. An Undo of
either removes the reaction and that notification.

A remote post whose server reported its counts (``likes`` / ``shares`` ``totalItems``) shows those,
moved by each favourite and boost made here, as Mastodon moves them. The caller commits.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.activities import announce_of, like_of, undo_of
from activitypub.emoji import EmojiReaction, known_emoji, remember
from activitypub.notes import Counts
from activitypub.outbox import publish
from activitypub.vocab import PUBLIC
from fedigen.errors import NotFoundError, ValidationError
from fedigen.services import Services
from fedigen.social import counts
from fedigen.social.notifications import Kind, notify
from storage.clients import Bookmark
from storage.models import Actor, CustomEmoji, Favourite, Notification, Reaction, Status, utcnow
from storage.vocabulary import PUBLIC_VISIBILITIES, Visibility

BOOST_VISIBILITIES = (Visibility.PUBLIC, Visibility.UNLISTED, Visibility.FOLLOWERS)
# Distinct emoji one account may react to one status with (Pleroma sets no limit; Misskey allows one).
MAX_REACTIONS_PER_ACCOUNT = 20


async def _author(session: AsyncSession, status: Status) -> Actor:
    author = await session.get(Actor, status.actor_id)
    if author is None:
        raise NotFoundError("Record not found")
    return author


async def note_counts(session: AsyncSession, status_ids: list[int]) -> dict[int, Counts]:
    """How often each of these posts was favourited and boosted (live boosts), for its Note's ``likes``
    and ``shares``."""
    if not status_ids:
        return {}
    likes = await session.execute(
        select(Favourite.status_id, func.count()).where(Favourite.status_id.in_(status_ids))
        .group_by(Favourite.status_id)
    )  # fmt: skip
    shares = await session.execute(
        select(Status.reblog_of_id, func.count())
        .where(Status.reblog_of_id.in_(status_ids), Status.deleted_at.is_(None))
        .group_by(Status.reblog_of_id)
    )
    liked, shared = {k: v for k, v in likes}, {k: v for k, v in shares}
    return {i: Counts(likes=liked.get(i, 0), shares=shared.get(i, 0)) for i in status_ids}


def _move_remote_count(status: Status, column: str, by: int) -> None:
    """Move the count a remote post's server reported, if it reported one (as Mastodon's
    ``Status#increment_count!`` does)."""
    reported = getattr(status, column)
    if not status.local and reported is not None:
        setattr(status, column, max(0, reported + by))


async def favourite(
    svc: Services, session: AsyncSession, actor: Actor, status: Status, *, ap_id: str | None = None
) -> Favourite:
    """``actor`` favourites ``status`` (again is a no-op); ``ap_id`` is a received Like's id."""
    found = await session.scalar(
        select(Favourite).where(Favourite.actor_id == actor.id, Favourite.status_id == status.id)
    )
    if found is not None:
        return found
    like = Favourite(ap_id=ap_id or svc.urls.new_activity(), actor_id=actor.id, status_id=status.id)
    session.add(like)
    _move_remote_count(status, "untrusted_favourites_count", +1)
    await counts.bump(session, status.id, favourites=1)
    await session.flush()
    author = await _author(session, status)
    await notify(session, author, Kind.FAVOURITE, actor, status)
    if actor.domain is None and author.domain is not None:
        await publish(session, actor, like_of(like.ap_id or "", actor, status, author))
    return like


async def unfavourite(svc: Services, session: AsyncSession, actor: Actor, status: Status) -> None:
    """Withdraw a favourite (none is a no-op); a local account's goes to the author as Undo{Like}."""
    found = await session.scalar(
        select(Favourite).where(Favourite.actor_id == actor.id, Favourite.status_id == status.id)
    )
    if found is None:
        return
    await session.delete(found)
    _move_remote_count(status, "untrusted_favourites_count", -1)
    await counts.bump(session, status.id, favourites=-1)
    await session.flush()
    author = await _author(session, status)
    if actor.domain is None and author.domain is not None and found.ap_id:
        like = like_of(found.ap_id, actor, status, author)
        await publish(session, actor, undo_of(svc.urls.new_activity(), actor, like, [author.ap_id]))


async def _reaction_emoji(session: AsyncSession, actor: Actor, reaction: EmojiReaction) -> CustomEmoji | None:
    """The custom emoji of a reaction: from the activity's tag, or one of the reacting server's emoji
    seen before (Akkoma sends its reactions as Like with ``_misskey_reaction`` alone)."""
    if not actor.domain:
        return None
    if reaction.emoji is not None:
        rows = await remember(session, actor.domain, [reaction.emoji])
        return rows[0] if rows else None
    return await known_emoji(session, actor.domain, reaction.name)


async def react(
    svc: Services, session: AsyncSession, actor: Actor, status: Status, reaction: EmojiReaction, *,
    ap_id: str | None = None, notify_author: bool = True,
) -> Reaction | None:  # fmt: skip
    """``actor`` reacts to ``status`` with an emoji (again is a no-op); ``ap_id`` is the Like or
    EmojiReact received. A custom emoji nobody described (no tag, never seen) is no reaction: None.
    ``notify_author`` is False for a Like, whose favourite already told the author."""
    found = await session.scalar(
        select(Reaction).where(
            Reaction.actor_id == actor.id, Reaction.status_id == status.id, Reaction.name == reaction.name
        )
    )
    if found is not None:
        return found
    emoji = await _reaction_emoji(session, actor, reaction) if reaction.custom else None
    if reaction.custom and emoji is None:
        return None
    given = await session.scalar(
        select(func.count(Reaction.id)).where(Reaction.actor_id == actor.id, Reaction.status_id == status.id)
    )
    if int(given or 0) >= MAX_REACTIONS_PER_ACCOUNT:
        return None
    row = Reaction(
        ap_id=ap_id or svc.urls.new_activity(), actor_id=actor.id, status_id=status.id, name=reaction.name,
        emoji_id=emoji.id if emoji is not None else None,
    )  # fmt: skip
    session.add(row)
    await session.flush()
    if notify_author:
        await notify(session, await _author(session, status), Kind.EMOJI_REACTION, actor, status,
                     reaction_id=row.id)  # fmt: skip
    return row


async def unreact(svc: Services, session: AsyncSession, actor: Actor, ap_id: str | None) -> bool:
    """Withdraw the reaction the activity ``ap_id`` of ``actor``'s made, and its notification."""
    if not ap_id:
        return False
    found = await session.scalar(
        select(Reaction).where(Reaction.actor_id == actor.id, Reaction.ap_id == ap_id)
    )
    if found is None:
        return False
    await session.execute(delete(Notification).where(Notification.reaction_id == found.id))
    await session.delete(found)
    await session.flush()
    return True


async def own_boost(session: AsyncSession, actor: Actor, status: Status) -> Status | None:
    """``actor``'s live boost of ``status``."""
    return await session.scalar(
        select(Status).where(
            Status.actor_id == actor.id, Status.reblog_of_id == status.id, Status.deleted_at.is_(None)
        )
    )


async def reblog(
    svc: Services, session: AsyncSession, actor: Actor, status: Status,
    visibility: str = Visibility.PUBLIC, *, ap_id: str | None = None,
    to: list[str] | None = None, cc: list[str] | None = None,
) -> Status:  # fmt: skip
    """``actor`` boosts ``status`` (public or unlisted; one's own followers-only ones too).

    A received Announce gives its ``ap_id`` and addressing; a local boost is addressed by ``visibility``.
    """
    if visibility not in BOOST_VISIBILITIES:
        raise ValidationError("visibility", f"must be one of {', '.join(BOOST_VISIBILITIES)}")
    chosen = Visibility(visibility)
    own_private = status.visibility == Visibility.FOLLOWERS and status.actor_id == actor.id
    if status.visibility not in PUBLIC_VISIBILITIES and not own_private:
        raise NotFoundError("Record not found")
    existing = await own_boost(session, actor, status)
    if existing is not None:
        return existing
    author = await _author(session, status)
    if actor.domain is None:
        followers = actor.followers_url or svc.urls.followers(actor.username)
        if chosen == Visibility.PUBLIC:
            to, cc = [PUBLIC], [author.ap_id, followers]
        else:
            to, cc = [followers], [author.ap_id, PUBLIC] if chosen == Visibility.UNLISTED else [author.ap_id]
        chosen = Visibility.FOLLOWERS if own_private else chosen
    else:
        chosen = status.visibility
    boost = Status(
        ap_id=ap_id or svc.urls.new_activity(), actor_id=actor.id, local=actor.domain is None,
        reblog_of_id=status.id, visibility=chosen, to=to or [], cc=cc or [], published=utcnow(),
    )  # fmt: skip
    session.add(boost)
    _move_remote_count(status, "untrusted_reblogs_count", +1)
    await counts.bump(session, status.id, reblogs=1)
    await session.flush()
    await notify(session, author, Kind.REBLOG, actor, status)
    if actor.domain is None:
        await publish(session, actor, announce_of(boost, actor, status))
    return boost


async def unreblog(svc: Services, session: AsyncSession, actor: Actor, status: Status) -> None:
    """Withdraw a boost (none is a no-op); a local account's Undo{Announce} goes to the same audience."""
    boost = await own_boost(session, actor, status)
    if boost is None:
        return
    _move_remote_count(status, "untrusted_reblogs_count", -1)
    await counts.bump(session, status.id, reblogs=-1)
    if actor.domain is not None:
        await session.delete(boost)  # nothing of a remote boost needs keeping
        return
    boost.deleted_at = utcnow()  # kept: its Undo is built from it, and clients may still hold its id
    await session.flush()
    if actor.domain is None:
        undo = undo_of(svc.urls.new_activity(), actor, announce_of(boost, actor, status), list(boost.to))
        undo["cc"] = list(boost.cc)
        await publish(session, actor, undo)


async def bookmark(session: AsyncSession, actor: Actor, status: Status) -> None:
    """Bookmark a status (again is a no-op)."""
    found = await session.scalar(
        select(Bookmark.id).where(Bookmark.account_id == actor.id, Bookmark.status_id == status.id)
    )
    if found is None:
        session.add(Bookmark(account_id=actor.id, status_id=status.id))
        await session.flush()


async def unbookmark(session: AsyncSession, actor: Actor, status: Status) -> None:
    """Remove a bookmark (none is a no-op)."""
    await session.execute(
        delete(Bookmark).where(Bookmark.account_id == actor.id, Bookmark.status_id == status.id)
    )
