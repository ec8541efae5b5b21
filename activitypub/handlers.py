"""Side effects of received activities: one visible dispatch table, one small handler per type.

Unknown types are logged and dropped. Every handler is idempotent: a redelivered activity changes
nothing twice (the inbox dedupes on the activity id; handlers also check what already exists).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.errors import ActivityPubError, FetchError
from activitypub.inbox import same_origin
from activitypub.jsonld import id_of, ids_of
from activitypub.notes import remote_note_fields
from activitypub.outbox import publish, response_of, update_of
from activitypub.resolver import Resolver
from activitypub.urls import LocalUrls
from activitypub.vocab import ACTOR_TYPES, CONTEXT, NOTE_TYPES
from storage.models import (
    Activity,
    Actor,
    Block,
    Favourite,
    Follow,
    InboxItem,
    Mention,
    Notification,
    Remix,
    Report,
    Status,
    StatusTag,
    Tombstone,
    utcnow,
)

log = logging.getLogger(__name__)


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


async def _local_actor(session: AsyncSession, ap_id: str | None) -> Actor | None:
    if not ap_id:
        return None
    return await session.scalar(select(Actor).where(Actor.ap_id == ap_id, Actor.domain.is_(None)))


async def _status(session: AsyncSession, ap_id: str | None) -> Status | None:
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


# --- Follow and its answers -------------------------------------------------------------------------


async def on_follow(ctx: Context) -> None:
    """Follow of a local account: accept at once, or hold as a request when the account is locked."""
    target = await _local_actor(ctx.session, ctx.object_id)
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
        follower = await _local_actor(ctx.session, id_of(obj.get("actor")))
        if follower is not None and id_of(obj.get("object")) == ctx.actor.ap_id:
            return await ctx.session.scalar(query.where(Follow.follower_id == follower.id))
    return None


async def on_accept(ctx: Context) -> None:
    """Accept{Follow}: our follow request is granted; Accept{QuoteRequest}: our remix is authorised."""
    if await _quote_accepted(ctx):
        return
    follow = await _our_follow(ctx)
    if follow is not None:
        follow.state = "accepted"


async def _quote_accepted(ctx: Context) -> bool:
    """Accept of one of our QuoteRequests: keep the stamp on the quoting post and send an Update."""
    request_id = ctx.object_id
    if not request_id or not ctx.urls.is_local(request_id):
        return False
    sent = await ctx.session.scalar(
        select(Activity).where(Activity.ap_id == request_id, Activity.ap_type == "QuoteRequest")
    )
    if sent is None:
        return False
    stamp = id_of(ctx.doc.get("result"))
    quoted = id_of(sent.document.get("object"))
    quoting = await _status(ctx.session, id_of(sent.document.get("instrument")))
    quoted_status = await _status(ctx.session, quoted)
    if (
        stamp is None or quoting is None or quoted_status is None
        or quoted_status.actor_id != ctx.actor.id or not same_origin(stamp, ctx.actor.ap_id)
    ):  # fmt: skip
        return True
    author = await ctx.session.get(Actor, quoting.actor_id)
    if author is not None and quoting.extra.get("quote_authorization") != stamp:
        quoting.extra = {**quoting.extra, "quote_authorization": stamp}
        await publish(ctx.session, author, update_of(quoting, author, ctx.urls))
    return True


async def on_reject(ctx: Context) -> None:
    """Reject{Follow}: our follow request (or an accepted follow) is refused."""
    follow = await _our_follow(ctx)
    if follow is not None:
        await ctx.session.delete(follow)


# --- Notes ------------------------------------------------------------------------------------------


async def _is_relevant(ctx: Context, fields: dict[str, Any]) -> bool:
    """Store a post only when a local account follows its author, is mentioned, or is replied to."""
    if await _has_local_followers(ctx):
        return True
    if any(ctx.urls.is_local(m) for m in fields["_mentions"]):
        return True
    quoted = fields["extra"].get("remix_of") or fields["extra"].get("quote_of")
    return ctx.urls.is_local(fields["in_reply_to_ap_id"]) or ctx.urls.is_local(quoted)


async def _apply_note(ctx: Context, status: Status, fields: dict[str, Any]) -> None:
    mentions, hashtags = fields.pop("_mentions"), fields.pop("_hashtags")
    if fields.get("published") is None:
        fields.pop("published")
    for key, value in fields.items():
        setattr(status, key, value)
    parent = await _status(ctx.session, status.in_reply_to_ap_id)
    status.in_reply_to_id = parent.id if parent else None
    await ctx.session.flush()
    await record_remix(ctx.session, status)
    await ctx.session.execute(delete(StatusTag).where(StatusTag.status_id == status.id))
    ctx.session.add_all(StatusTag(status_id=status.id, name=name) for name in hashtags)
    already = set(await ctx.session.scalars(select(Mention.actor_id).where(Mention.status_id == status.id)))
    for actor in await ctx.session.scalars(select(Actor).where(Actor.ap_id.in_(mentions[:50]))):
        if actor.id not in already:
            ctx.session.add(Mention(status_id=status.id, actor_id=actor.id))
            await notify(ctx.session, actor, "mention", ctx.actor, status)
    if parent is not None and parent.actor_id != ctx.actor.id and parent.local:
        author = await ctx.session.get(Actor, parent.actor_id)
        if author is not None and author.ap_id not in mentions:
            await notify(ctx.session, author, "mention", ctx.actor, status)


async def _object_document(ctx: Context) -> dict[str, Any] | None:
    """The embedded object, or the object fetched by id (its id checked against the URL by the fetcher)."""
    obj = ctx.object
    if isinstance(obj, dict):
        return obj
    if isinstance(obj, str) and same_origin(obj, ctx.actor.ap_id):
        return (await ctx.resolver.fetcher.fetch_object(obj)).document
    return None


async def on_create(ctx: Context) -> None:
    """Create of a Note-like object: stored when relevant, never after its Delete (case 18)."""
    obj = await _object_document(ctx)
    if obj is None or obj.get("type") not in NOTE_TYPES or id_of(obj.get("attributedTo")) != ctx.actor.ap_id:
        return
    if not isinstance(obj.get("id"), str) or not same_origin(obj["id"], ctx.actor.ap_id):
        return
    # Only the author's own Delete suppresses a late Create (INTEROP.md case 18).
    tombstone = select(Tombstone.id).where(
        Tombstone.ap_id == obj["id"], Tombstone.actor_ap_id == ctx.actor.ap_id
    )
    if await ctx.session.scalar(tombstone) is not None:
        return
    if await ctx.session.scalar(select(Status.id).where(Status.ap_id == obj["id"])) is not None:
        return
    fields = remote_note_fields(obj, ctx.actor, allow_private=ctx.resolver.allow_private_addresses)
    if not await _is_relevant(ctx, fields):
        return
    status = Status(actor_id=ctx.actor.id, local=False)
    ctx.session.add(status)
    await _apply_note(ctx, status, fields)


async def on_update(ctx: Context) -> None:
    """Update of the sender's own profile or own Note (case 17); anything else is ignored."""
    obj = ctx.object
    if not isinstance(obj, dict):
        return
    if obj.get("type") in ACTOR_TYPES:
        if obj.get("id") == ctx.actor.ap_id:
            await ctx.resolver.store_actor(obj, ctx.actor.ap_id, session=ctx.session)
        return
    if obj.get("type") in NOTE_TYPES:
        status = await _status(ctx.session, id_of(obj))
        if status is None or status.actor_id != ctx.actor.id or status.local:
            return
        fields = remote_note_fields(obj, ctx.actor, allow_private=ctx.resolver.allow_private_addresses)
        fields["edited_at"] = fields.get("edited_at") or utcnow()
        await _apply_note(ctx, status, fields)


async def on_delete(ctx: Context) -> None:
    """Delete of the sender itself, or of one of its own Notes; a tombstone guards against late Creates."""
    object_id = ctx.object_id
    if not object_id:
        return
    if object_id == ctx.actor.ap_id:
        ctx.actor.deleted_at = utcnow()
        await ctx.session.execute(
            delete(Follow).where(or_(Follow.follower_id == ctx.actor.id, Follow.followee_id == ctx.actor.id))
        )
        return
    if not same_origin(object_id, ctx.actor.ap_id):
        return
    status = await _status(ctx.session, object_id)
    if status is not None and status.actor_id == ctx.actor.id and not status.local:
        status.deleted_at = utcnow()
        await ctx.session.execute(delete(Notification).where(Notification.status_id == status.id))
    if await ctx.session.scalar(select(Tombstone.id).where(Tombstone.ap_id == object_id)) is None:
        ctx.session.add(Tombstone(ap_id=object_id, actor_ap_id=ctx.actor.ap_id))


async def record_remix(session: AsyncSession, status: Status) -> None:
    """Remember that ``status`` remixes ``extra['remix_of']`` (local or remote), for lineage queries."""
    parent_ap_id = (status.extra or {}).get("remix_of")
    if not isinstance(parent_ap_id, str):
        return
    parent = await _status(session, parent_ap_id)
    existing = await session.scalar(select(Remix).where(Remix.child_ap_id == status.ap_id))
    if existing is None:
        session.add(Remix(child_ap_id=status.ap_id, child_status_id=status.id, parent_ap_id=parent_ap_id,
                          parent_status_id=parent.id if parent else None))  # fmt: skip


async def on_quote_request(ctx: Context) -> None:
    """FEP-044f QuoteRequest for one of our posts: public and unlisted posts may be quoted (remixed)
    by anyone, so the request is accepted at once with a QuoteAuthorization stamp; others are rejected.
    """
    status = await _status(ctx.session, ctx.object_id)
    if status is None or not status.local:
        return
    author = await ctx.session.get(Actor, status.actor_id)
    if author is None:
        return
    instrument = ctx.doc.get("instrument")
    quoting_id = id_of(instrument)
    request = {k: v for k, v in ctx.doc.items() if k != "@context"}
    allowed = (
        status.visibility in ("public", "unlisted")
        and quoting_id is not None
        and same_origin(quoting_id, ctx.actor.ap_id)
        and not await blocks(ctx.session, author, ctx.actor)
    )
    if not allowed:
        reject = response_of("Reject", ctx.urls.new_activity(), author, request, ctx.actor.ap_id)
        await publish(ctx.session, author, reject)
        return
    stamp_id = ctx.urls.new_activity()
    stamp = {
        "@context": CONTEXT, "id": stamp_id, "type": "QuoteAuthorization", "attributedTo": author.ap_id,
        "interactingObject": quoting_id, "interactionTarget": status.ap_id,
    }  # fmt: skip
    ctx.session.add(Activity(ap_id=stamp_id, ap_type="QuoteAuthorization", actor_id=author.id,
                             object_ap_id=status.ap_id, public=True, document=stamp))  # fmt: skip
    accept = response_of("Accept", ctx.urls.new_activity(), author, request, ctx.actor.ap_id)
    accept["result"] = stamp_id
    await publish(ctx.session, author, accept)
    known = await ctx.session.scalar(select(Remix.id).where(Remix.child_ap_id == quoting_id))
    if known is None:
        ctx.session.add(Remix(child_ap_id=quoting_id, parent_ap_id=status.ap_id, parent_status_id=status.id))


# --- Reactions --------------------------------------------------------------------------------------


async def on_like(ctx: Context) -> None:
    """Like of a status we have: a favourite and a notification for its local author."""
    status = await _status(ctx.session, ctx.object_id)
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
    target = await _status(ctx.session, ctx.object_id)
    if target is None and ctx.object_id and await _has_local_followers(ctx):
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


async def fetch_public_note(
    session: AsyncSession, resolver: Resolver, urls: LocalUrls, ap_id: str
) -> Status | None:
    """Fetch a public or unlisted remote Note by id and store it (None when it is neither)."""
    fetched = await resolver.fetcher.fetch_object(ap_id)
    doc = fetched.document
    if doc.get("type") not in NOTE_TYPES:
        return None
    author = await resolver.get_actor(id_of(doc.get("attributedTo")) or "", session=session)
    fields = remote_note_fields(doc, author, allow_private=resolver.allow_private_addresses)
    if fields["visibility"] not in ("public", "unlisted") or not same_origin(fields["ap_id"], author.ap_id):
        return None
    existing = await _status(session, fields["ap_id"])
    if existing is not None:
        return existing
    status = Status(actor_id=author.id, local=False)
    session.add(status)
    await _apply_note(Context(session, resolver, urls, author, {"id": ap_id}), status, fields)
    return status


async def _has_local_followers(ctx: Context) -> bool:
    found = await ctx.session.scalar(
        select(Follow.id)
        .join(Actor, Actor.id == Follow.follower_id)
        .where(Follow.followee_id == ctx.actor.id, Follow.state == "accepted", Actor.domain.is_(None))
        .limit(1)
    )
    return found is not None


async def on_undo(ctx: Context) -> None:
    """Undo of the sender's own Follow, Like, Announce or Block."""
    inner = ctx.object
    inner_id = id_of(inner)
    inner_type = inner.get("type") if isinstance(inner, dict) else None
    if isinstance(inner, dict) and id_of(inner.get("actor")) not in (None, ctx.actor.ap_id):
        return
    if inner_type == "Follow" or inner_type is None:
        target = await _local_actor(
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
    target = await _local_actor(ctx.session, ctx.object_id)
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
        target_actor = await _local_actor(ctx.session, ap_id)
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
