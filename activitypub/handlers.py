"""Side effects of received activities: one visible dispatch table, one small handler per type.

Post handlers (Create, Update, Delete, QuoteRequest) live in :mod:`activitypub.posts`, the context
they share in :mod:`activitypub.handling`. Unknown types are logged and dropped. Every handler is
idempotent: a redelivered activity changes nothing twice (the inbox dedupes on the activity id;
handlers also check what already exists).
"""

from __future__ import annotations

import logging

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.errors import ActivityPubError, FetchError
from activitypub.handling import (
    Context,
    Handler,
    blocks,
    has_local_followers,
    local_actor,
    notify,
    status_by_id,
)
from activitypub.jsonld import id_of, ids_of
from activitypub.outbox import publish, response_of
from activitypub.posts import (
    fetch_public_note,
    on_create,
    on_delete,
    on_quote_request,
    on_update,
    quote_accepted,
)
from activitypub.resolver import Resolver
from activitypub.urls import LocalUrls
from storage.models import (
    Actor,
    Block,
    Favourite,
    Follow,
    InboxItem,
    Report,
    Status,
)

log = logging.getLogger(__name__)


# --- Follow and its answers -------------------------------------------------------------------------


async def on_follow(ctx: Context) -> None:
    """Follow of a local account: accept at once, or hold as a request when the account is locked."""
    target = await local_actor(ctx.session, ctx.object_id)
    if target is None:
        return
    doc = {k: v for k, v in ctx.doc.items() if k != "@context"}
    if await blocks(ctx.session, target, ctx.actor):
        await publish(
            ctx.session, target, response_of("Reject", ctx.urls.new_activity(), target, doc, ctx.actor.ap_id)
        )
        return
    follow = await ctx.session.scalar(
        select(Follow).where(Follow.follower_id == ctx.actor.id, Follow.followee_id == target.id)
    )
    if follow is None:
        follow = Follow(follower_id=ctx.actor.id, followee_id=target.id, state="requested")
        ctx.session.add(follow)
        await ctx.session.flush()
        await notify(ctx.session, target, "follow_request" if target.locked else "follow", ctx.actor, None)
    follow.ap_id = ctx.doc["id"]
    if target.locked and follow.state != "accepted":
        return
    follow.state = "accepted"
    await publish(
        ctx.session, target, response_of("Accept", ctx.urls.new_activity(), target, doc, ctx.actor.ap_id)
    )


async def _our_follow(ctx: Context) -> Follow | None:
    """The Follow we sent that an Accept/Reject answers; only the followee may answer it (case 20)."""
    obj = ctx.object
    follow_id = id_of(obj)
    query = (
        select(Follow)
        .join(Actor, Actor.id == Follow.follower_id)
        .where(Follow.followee_id == ctx.actor.id, Actor.domain.is_(None))
    )
    if follow_id and ctx.urls.is_local(follow_id):
        return await ctx.session.scalar(query.where(Follow.ap_id == follow_id))
    if isinstance(obj, dict) and obj.get("type") == "Follow":
        # Some servers answer with a Follow of their own making; match it by who and whom.
        follower = await local_actor(ctx.session, id_of(obj.get("actor")))
        if follower is not None and id_of(obj.get("object")) == ctx.actor.ap_id:
            return await ctx.session.scalar(query.where(Follow.follower_id == follower.id))
    return None


async def on_accept(ctx: Context) -> None:
    """Accept{Follow}: our follow request is granted; Accept{QuoteRequest}: our remix is authorised."""
    if await quote_accepted(ctx):
        return
    follow = await _our_follow(ctx)
    if follow is not None:
        follow.state = "accepted"


async def on_reject(ctx: Context) -> None:
    """Reject{Follow}: our follow request (or an accepted follow) is refused."""
    follow = await _our_follow(ctx)
    if follow is not None:
        await ctx.session.delete(follow)


# --- Notes ------------------------------------------------------------------------------------------


# --- Reactions --------------------------------------------------------------------------------------


async def on_like(ctx: Context) -> None:
    """Like of a status we have: a favourite and a notification for its local author."""
    status = await status_by_id(ctx.session, ctx.object_id)
    if status is None:
        return
    exists = await ctx.session.scalar(
        select(Favourite.id).where(Favourite.actor_id == ctx.actor.id, Favourite.status_id == status.id)
    )
    if exists is not None:
        return
    ctx.session.add(Favourite(ap_id=ctx.doc["id"], actor_id=ctx.actor.id, status_id=status.id))
    author = await ctx.session.get(Actor, status.actor_id)
    if author is not None:
        await notify(ctx.session, author, "favourite", ctx.actor, status)


async def on_announce(ctx: Context) -> None:
    """Announce (boost): recorded as a reblog status of a post we have (or fetch, for followed boosters)."""
    target = await status_by_id(ctx.session, ctx.object_id)
    if target is None and ctx.object_id and await has_local_followers(ctx):
        try:
            target = await fetch_public_note(ctx.session, ctx.resolver, ctx.urls, ctx.object_id)
        except (ActivityPubError, ValueError):
            return
    if target is None or target.visibility not in ("public", "unlisted"):
        return
    if await ctx.session.scalar(select(Status.id).where(Status.ap_id == ctx.doc["id"])) is not None:
        return
    to, cc = ids_of(ctx.doc.get("to")), ids_of(ctx.doc.get("cc"))
    ctx.session.add(
        Status(ap_id=ctx.doc["id"], actor_id=ctx.actor.id, reblog_of_id=target.id, local=False,
               visibility=target.visibility, to=to, cc=cc)
    )  # fmt: skip
    owner = await ctx.session.get(Actor, target.actor_id)
    if owner is not None:
        await notify(ctx.session, owner, "reblog", ctx.actor, target)


async def on_undo(ctx: Context) -> None:
    """Undo of the sender's own Follow, Like, Announce or Block."""
    inner = ctx.object
    inner_id = id_of(inner)
    inner_type = inner.get("type") if isinstance(inner, dict) else None
    if isinstance(inner, dict) and id_of(inner.get("actor")) not in (None, ctx.actor.ap_id):
        return
    if inner_type == "Follow" or inner_type is None:
        target = await local_actor(
            ctx.session, id_of(inner.get("object")) if isinstance(inner, dict) else None
        )
        query = delete(Follow).where(Follow.follower_id == ctx.actor.id)
        if target is not None:
            await ctx.session.execute(query.where(Follow.followee_id == target.id))
        elif inner_id:
            await ctx.session.execute(query.where(Follow.ap_id == inner_id))
    if inner_type in ("Like", None) and inner_id:
        await ctx.session.execute(
            delete(Favourite).where(Favourite.actor_id == ctx.actor.id, Favourite.ap_id == inner_id)
        )
    if inner_type in ("Announce", None) and inner_id:
        await ctx.session.execute(
            delete(Status).where(Status.actor_id == ctx.actor.id, Status.ap_id == inner_id,
                                 Status.reblog_of_id.is_not(None))
        )  # fmt: skip
    if inner_type in ("Block", None) and inner_id:
        await ctx.session.execute(
            delete(Block).where(Block.actor_id == ctx.actor.id, Block.ap_id == inner_id)
        )


# --- Moderation-relevant ----------------------------------------------------------------------------


async def on_block(ctx: Context) -> None:
    """A remote account blocks a local one: recorded, and follows both ways end."""
    target = await local_actor(ctx.session, ctx.object_id)
    if target is None:
        return
    if not await blocks(ctx.session, ctx.actor, target):
        ctx.session.add(Block(ap_id=ctx.doc["id"], actor_id=ctx.actor.id, target_id=target.id))
    await ctx.session.execute(
        delete(Follow).where(
            or_(
                (Follow.follower_id == ctx.actor.id) & (Follow.followee_id == target.id),
                (Follow.follower_id == target.id) & (Follow.followee_id == ctx.actor.id),
            )
        )
    )


async def on_move(ctx: Context) -> None:
    """Move of the sender to a new account that lists it in alsoKnownAs: recorded, followers told."""
    if ctx.object_id != ctx.actor.ap_id:
        return
    target_id = id_of(ctx.doc.get("target"))
    if not target_id:
        return
    try:
        target = await ctx.resolver.get_actor(target_id, refresh=True, session=ctx.session)
    except (ActivityPubError, FetchError):
        return
    if ctx.actor.ap_id not in (target.also_known_as or []):
        return
    ctx.actor.moved_to_ap_id = target.ap_id
    followers = await ctx.session.scalars(
        select(Actor)
        .join(Follow, Follow.follower_id == Actor.id)
        .where(Follow.followee_id == ctx.actor.id, Actor.domain.is_(None))
    )
    for follower in followers:
        await notify(ctx.session, follower, "move", ctx.actor, None)


async def on_flag(ctx: Context) -> None:
    """Flag: a report for the moderators, naming a local account and possibly statuses."""
    objects = ids_of(ctx.object)
    targets = [a for a in objects if ctx.urls.is_local(a)]
    target_actor = None
    for ap_id in targets:
        target_actor = await local_actor(ctx.session, ap_id)
        if target_actor is not None:
            break
    statuses = [o for o in targets if target_actor is None or o != target_actor.ap_id][:100]
    content = ctx.doc.get("content")
    ctx.session.add(
        Report(ap_id=ctx.doc["id"], reporter_id=ctx.actor.id,
               target_id=target_actor.id if target_actor else None, status_ap_ids=statuses,
               comment=content[:5000] if isinstance(content, str) else "")
    )  # fmt: skip


HANDLERS: dict[str, Handler] = {
    "Follow": on_follow,
    "Accept": on_accept,
    "Reject": on_reject,
    "Undo": on_undo,
    "Create": on_create,
    "Update": on_update,
    "Delete": on_delete,
    "Like": on_like,
    "Announce": on_announce,
    "Block": on_block,
    "Move": on_move,
    "Flag": on_flag,
    "QuoteRequest": on_quote_request,
}


async def process(session: AsyncSession, resolver: Resolver, urls: LocalUrls, item: InboxItem) -> None:
    """Apply one queued activity's side effects inside the caller's transaction."""
    handler = HANDLERS.get(item.ap_type)
    if handler is None:
        log.info("dropping activity of unhandled type %s (%s)", item.ap_type, item.activity_ap_id)
        return
    if item.ap_type == "Delete" and id_of(item.document.get("object")) == item.actor_ap_id:
        # A deleted actor's document is gone (410); use what we have rather than fetching it.
        actor = await session.scalar(select(Actor).where(Actor.ap_id == item.actor_ap_id))
        if actor is None:
            return
    else:
        actor = await resolver.get_actor(item.actor_ap_id, session=session)
    await handler(Context(session, resolver, urls, actor, item.document))
