"""Inbox handlers for posts: Create, Update and Delete of Notes, and quote (remix) requests.

Remote posts are stored when relevant to a local account; their images get media rows and their
remix parent a lineage row. FEP-044f QuoteRequests for our posts are answered here, and Accepts of
ours bring back the authorization stamp.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.handling import Context, blocks, has_local_followers, notify, status_by_id
from activitypub.inbox import same_origin
from activitypub.jsonld import id_of
from activitypub.notes import remote_note_fields
from activitypub.outbox import publish, response_of, update_of
from activitypub.resolver import Resolver
from activitypub.urls import LocalUrls
from activitypub.vocab import ACTOR_TYPES, CONTEXT, NOTE_TYPES
from storage.models import (
    Activity,
    Actor,
    Follow,
    MediaAttachment,
    Mention,
    Notification,
    Remix,
    Status,
    StatusTag,
    Tombstone,
    utcnow,
)


async def _is_relevant(ctx: Context, fields: dict[str, Any]) -> bool:
    """Store a post only when a local account follows its author, is mentioned, or is replied to."""
    if await has_local_followers(ctx):
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
    parent = await status_by_id(ctx.session, status.in_reply_to_ap_id)
    status.in_reply_to_id = parent.id if parent else None
    await ctx.session.flush()
    await record_remix(ctx.session, status)
    await sync_remote_media(ctx.session, status)
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
        status = await status_by_id(ctx.session, id_of(obj))
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
    status = await status_by_id(ctx.session, object_id)
    if status is not None and status.actor_id == ctx.actor.id and not status.local:
        status.deleted_at = utcnow()
        await ctx.session.execute(delete(Notification).where(Notification.status_id == status.id))
    if await ctx.session.scalar(select(Tombstone.id).where(Tombstone.ap_id == object_id)) is None:
        ctx.session.add(Tombstone(ap_id=object_id, actor_ap_id=ctx.actor.ap_id))


async def sync_remote_media(session: AsyncSession, status: Status) -> None:
    """One media row per remote attachment (no files: clients load them from their server), so the
    client API can give each a stable id, as Mastodon does."""
    await session.execute(
        delete(MediaAttachment).where(
            MediaAttachment.status_id == status.id, MediaAttachment.original_key.is_(None)
        )
    )
    for position, item in enumerate(status.attachments or []):
        width, height = item.get("width"), item.get("height")
        focus = item.get("focalPoint") or [0.0, 0.0]
        meta = {"original": {"width": width, "height": height}} if width and height else {}
        row = MediaAttachment(
            account_id=status.actor_id, status_id=status.id, position=position, state="remote",
            remote_url=item["url"], media_type=item.get("mediaType") or "image/jpeg", width=width,
            height=height, blurhash=item.get("blurhash"), focus_x=focus[0], focus_y=focus[1],
            description=item.get("name") or "", meta=meta,
        )  # fmt: skip
        session.add(row)


async def record_remix(session: AsyncSession, status: Status) -> None:
    """Remember that ``status`` remixes ``extra['remix_of']`` (local or remote), for lineage queries."""
    parent_ap_id = (status.extra or {}).get("remix_of")
    if not isinstance(parent_ap_id, str):
        return
    parent = await status_by_id(session, parent_ap_id)
    existing = await session.scalar(select(Remix).where(Remix.child_ap_id == status.ap_id))
    if existing is None:
        session.add(Remix(child_ap_id=status.ap_id, child_status_id=status.id, parent_ap_id=parent_ap_id,
                          parent_status_id=parent.id if parent else None))  # fmt: skip


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
    existing = await status_by_id(session, fields["ap_id"])
    if existing is not None:
        return existing
    status = Status(actor_id=author.id, local=False)
    session.add(status)
    await _apply_note(Context(session, resolver, urls, author, {"id": ap_id}), status, fields)
    return status


async def on_quote_request(ctx: Context) -> None:
    """FEP-044f QuoteRequest for one of our posts: public and unlisted posts may be quoted (remixed)
    by anyone, so the request is accepted at once with a QuoteAuthorization stamp; others are rejected.
    """
    status = await status_by_id(ctx.session, ctx.object_id)
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


async def quote_accepted(ctx: Context) -> bool:
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
    quoting = await status_by_id(ctx.session, id_of(sent.document.get("instrument")))
    quoted_status = await status_by_id(ctx.session, quoted)
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
