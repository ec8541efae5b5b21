"""What activities from other servers do here: one visible table from received record to use-case.

:mod:`activitypub.received` reads each verified activity into a typed record; the handler for its
type (``HANDLERS``) calls the same use-case of :mod:`fedigen.social` that a local account's request
would call, so a Follow, a post, a like or a block has one home whatever its origin. Handlers are
idempotent: a redelivered activity changes nothing twice (the inbox dedupes on the activity id, and
the use-cases check what already exists).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub import received as r
from activitypub.dispatch import Handler, Preparer
from activitypub.errors import ActivityPubError
from activitypub.outbox import audience_of
from activitypub.urls import same_origin
from activitypub.vocab import PUBLIC
from fedigen.errors import FedigenError
from fedigen.services import Services
from fedigen.social import (
    accounts,
    blocks,
    follows,
    moderation,
    pins,
    polls,
    posts,
    reactions,
    remixes,
    remote_posts,
)
from storage.models import Actor, Block, Favourite, Follow, InboxEntry, InboxItem, Status
from storage.vocabulary import FollowState

log = logging.getLogger(__name__)


async def _local(session: AsyncSession, ap_id: str | None) -> Actor | None:
    if not ap_id:
        return None
    return await session.scalar(select(Actor).where(Actor.ap_id == ap_id, Actor.domain.is_(None)))


async def on_follow(svc: Services, session: AsyncSession, rec: r.FollowReceived) -> None:
    target = await _local(session, rec.object_ap_id)
    if target is not None:
        await follows.follow(svc, session, rec.actor, target, ap_id=rec.ap_id)


async def _our_follow(
    svc: Services, session: AsyncSession, rec: r.AnswerReceived
) -> tuple[Follow, Actor] | None:
    """The Follow one of our accounts sent that this Accept/Reject answers; only the followee may answer."""
    query = (
        select(Follow, Actor)
        .join(Actor, Actor.id == Follow.follower_id)
        .where(Follow.followee_id == rec.actor.id, Actor.domain.is_(None))
    )
    if rec.object_ap_id and svc.urls.is_local(rec.object_ap_id):
        row = (await session.execute(query.where(Follow.ap_id == rec.object_ap_id))).first()
    elif rec.followee_ap_id == rec.actor.ap_id and (follower := await _local(session, rec.follower_ap_id)):
        # Some servers answer with a Follow of their own making: match it by who and whom.
        row = (await session.execute(query.where(Follow.follower_id == follower.id))).first()
    else:
        row = None
    return (row[0], row[1]) if row is not None else None


async def on_answer(svc: Services, session: AsyncSession, rec: r.AnswerReceived) -> None:
    if rec.accepted and await remixes.quote_accepted(
        svc, session, rec.actor, rec.object_ap_id, rec.result_ap_id
    ):
        return
    if not rec.accepted and await remixes.quote_rejected(svc, session, rec.actor, rec.object_ap_id):
        return
    found = await _our_follow(svc, session, rec)
    if found is not None:
        row, follower = found
        if rec.accepted:
            await follows.accept(svc, session, row, follower, rec.actor)
        else:
            await follows.reject(svc, session, row, follower, rec.actor)


async def on_undo(svc: Services, session: AsyncSession, rec: r.UndoReceived) -> None:
    """Undo of the sender's Follow, Like, EmojiReact, Announce or Block (by type, or found by id when
    untyped, as Pleroma sends it)."""
    kind, inner_id, me = rec.inner_type, rec.inner_ap_id, rec.actor

    async def pointed_at(model: Any, owner: Any, target: Any, fetch: type[Any]) -> Any:
        """The row the undone activity made (``model`` with its id, owned by the sender) leads to."""
        ref = await session.scalar(select(target).where(owner == me.id, model.ap_id == inner_id))
        return await session.get(fetch, ref) if ref is not None and inner_id else None

    if kind in ("Follow", None):
        local = await _local(session, rec.inner_object_ap_id)
        followee = local or await pointed_at(Follow, Follow.follower_id, Follow.followee_id, Actor)
        if followee is not None and await follows.find_follow(session, me, followee) is not None:
            await follows.unfollow(svc, session, me, followee)
    if kind in ("Like", None) and (
        liked := await pointed_at(Favourite, Favourite.actor_id, Favourite.status_id, Status)
    ):
        await reactions.unfavourite(svc, session, me, liked)
    if kind in ("Like", "EmojiReact", None):
        await reactions.unreact(svc, session, me, inner_id)  # Misskey's Like, Pleroma's EmojiReact
    if kind in ("Announce", None) and (
        boosted := await pointed_at(Status, Status.actor_id, Status.reblog_of_id, Status)
    ):
        await reactions.unreblog(svc, session, me, boosted)
    if kind in ("Block", None) and (
        blocked := await pointed_at(Block, Block.actor_id, Block.target_id, Actor)
    ):
        await blocks.unblock(svc, session, me, blocked)


async def on_note(svc: Services, session: AsyncSession, rec: r.NoteReceived) -> None:
    if rec.edited:
        await remote_posts.receive_edit(svc, session, rec.actor, rec.note)
    elif not await polls.receive_vote(svc, session, rec.actor, rec.note):  # a vote is no post
        await remote_posts.receive_post(svc, session, rec.actor, rec.note)


async def on_profile(svc: Services, session: AsyncSession, rec: r.ProfileUpdated) -> None:
    await svc.resolver.store_actor(rec.actor_document, rec.actor.ap_id, session=session)


async def on_delete(svc: Services, session: AsyncSession, rec: r.DeleteReceived) -> None:
    if rec.of_actor:
        await accounts.remote_account_deleted(session, rec.actor)
    else:
        await remote_posts.receive_delete(svc, session, rec.actor, rec.object_ap_id)


async def on_like(svc: Services, session: AsyncSession, rec: r.LikeReceived) -> None:
    """A favourite, as Mastodon counts every Like; Misskey's emoji is recorded as a reaction too."""
    status = await posts.status_by_ap_id(session, rec.object_ap_id)
    if status is not None:
        await reactions.favourite(svc, session, rec.actor, status, ap_id=rec.ap_id)
        if rec.reaction is not None:
            await reactions.react(svc, session, rec.actor, status, rec.reaction, ap_id=rec.ap_id,
                                  notify_author=False)  # fmt: skip


async def on_emoji_react(svc: Services, session: AsyncSession, rec: r.EmojiReactReceived) -> None:
    status = await posts.status_by_ap_id(session, rec.object_ap_id)
    if status is not None:
        await reactions.react(svc, session, rec.actor, status, rec.reaction, ap_id=rec.ap_id)


async def prepare_announce(svc: Services, rec: r.AnnounceReceived) -> None:
    """Before the transaction: fetch a boosted post we lack when someone here follows the booster."""
    async with svc.reads() as session:
        known = await posts.status_by_ap_id(session, rec.object_ap_id)
        followed = await remote_posts.has_local_followers(session, rec.actor)
    if known is None and followed:
        try:
            await remote_posts.fetch_post(svc, rec.object_ap_id)
        except (ActivityPubError, ValueError) as exc:
            log.info("boosted post %s not fetched: %s", rec.object_ap_id, exc)


async def on_announce(svc: Services, session: AsyncSession, rec: r.AnnounceReceived) -> None:
    """A boost of a post we have (fetched beforehand by :func:`prepare_announce` when needed)."""
    status = await posts.status_by_ap_id(session, rec.object_ap_id)
    if status is None:
        return
    try:
        await reactions.reblog(svc, session, rec.actor, status, ap_id=rec.ap_id, to=rec.to, cc=rec.cc)
    except FedigenError:
        return  # not a post that may be boosted


async def on_block(svc: Services, session: AsyncSession, rec: r.BlockReceived) -> None:
    target = await _local(session, rec.object_ap_id)
    if target is not None:
        await blocks.block(svc, session, rec.actor, target, ap_id=rec.ap_id)


async def on_move(svc: Services, session: AsyncSession, rec: r.MoveReceived) -> None:
    await accounts.account_moved(svc, session, rec.actor, rec.target)


async def on_flag(svc: Services, session: AsyncSession, rec: r.FlagReceived) -> None:
    await moderation.report_received(svc, session, rec.actor, rec.object_ap_ids, rec.comment, ap_id=rec.ap_id)


async def prepare_quote_request(svc: Services, rec: r.QuoteRequestReceived) -> None:
    """Before the transaction: fetch the post that would quote ours from its own server, and keep it
    when it is the requester's (FEP-044f: the instrument is checked before any stamp is issued)."""
    instrument = rec.instrument_ap_id
    if (
        not instrument
        or not same_origin(instrument, rec.actor.ap_id)
        or not svc.urls.is_local(rec.object_ap_id)
    ):
        return
    try:
        author, note = await svc.resolver.fetch_note(instrument)
    except (ActivityPubError, ValueError) as exc:
        log.info("quote request %s: instrument %s not fetched: %s", rec.ap_id, instrument, exc)
        return
    if author.ap_id == rec.actor.ap_id and note.ap_id == instrument:
        rec.prepared["instrument"] = note


async def on_quote_request(svc: Services, session: AsyncSession, rec: r.QuoteRequestReceived) -> None:
    await remixes.quote_requested(
        svc, session, rec.actor, rec.echo, rec.object_ap_id, rec.prepared.get("instrument")
    )


async def prepare_featured(svc: Services, rec: r.FeaturedChanged) -> None:
    """Before the transaction: fetch a newly pinned post we lack (when the Add names it by id)."""
    if not rec.added or rec.note is not None:
        return
    async with svc.reads() as session:
        known = await posts.status_by_ap_id(session, rec.object_ap_id)
    if known is None:
        try:
            await remote_posts.fetch_post(svc, rec.object_ap_id, author_ap_id=rec.actor.ap_id)
        except (ActivityPubError, ValueError) as exc:
            log.info("pinned post %s not fetched: %s", rec.object_ap_id, exc)


async def on_featured(svc: Services, session: AsyncSession, rec: r.FeaturedChanged) -> None:
    """Add or Remove of one of the sender's posts to or from its featured collection: its pins."""
    status = await posts.status_by_ap_id(session, rec.object_ap_id)
    if status is None and rec.note is not None:
        status = await remote_posts.keep_fetched(svc, session, rec.actor, rec.note)
    if status is None:
        return
    if rec.added:
        await pins.pin(svc, session, rec.actor, status)
    else:
        await pins.unpin(svc, session, rec.actor, status)


def _handler(fn: Callable[[Services, AsyncSession, Any], Awaitable[None]]) -> Handler[Services]:
    return fn


def _preparer(fn: Callable[[Services, Any], Awaitable[None]]) -> Preparer[Services]:
    return fn


#: What runs before the transaction, for records whose handler needs something from another server.
PREPARERS: dict[type[r.Received], Preparer[Services]] = {
    r.AnnounceReceived: _preparer(prepare_announce),
    r.QuoteRequestReceived: _preparer(prepare_quote_request),
    r.FeaturedChanged: _preparer(prepare_featured),
}


HANDLERS: dict[type[r.Received], Handler[Services]] = {
    r.FollowReceived: _handler(on_follow),
    r.AnswerReceived: _handler(on_answer),
    r.UndoReceived: _handler(on_undo),
    r.NoteReceived: _handler(on_note),
    r.ProfileUpdated: _handler(on_profile),
    r.DeleteReceived: _handler(on_delete),
    r.LikeReceived: _handler(on_like),
    r.EmojiReactReceived: _handler(on_emoji_react),
    r.AnnounceReceived: _handler(on_announce),
    r.BlockReceived: _handler(on_block),
    r.MoveReceived: _handler(on_move),
    r.FlagReceived: _handler(on_flag),
    r.QuoteRequestReceived: _handler(on_quote_request),
    r.FeaturedChanged: _handler(on_featured),
}


async def file_for_recipients(session: AsyncSession, item: InboxItem, sender: Actor | None) -> None:
    """Keep the activity in the C2S inbox of every local account it was for: the personal inbox it
    came to, the accounts it names, and the sender's local followers when sent to them or the public."""
    doc = item.document
    inner = doc.get("object")
    audience = set(audience_of(doc)) | (set(audience_of(inner)) if isinstance(inner, dict) else set())
    named = select(Actor.id).where(Actor.ap_id.in_(audience), Actor.domain.is_(None))
    ids = set(await session.scalars(named)) if audience else set()
    if item.recipient_id is not None:
        ids.add(item.recipient_id)
    if sender is not None and (PUBLIC in audience or (sender.followers_url or "") in audience):
        local_followers = (
            select(Follow.follower_id)
            .join(Actor, Actor.id == Follow.follower_id)
            .where(
                Follow.followee_id == sender.id, Follow.state == FollowState.ACCEPTED, Actor.domain.is_(None)
            )
        )
        ids |= set(await session.scalars(local_followers))
    if not ids:
        return
    filed = set(await session.scalars(select(InboxEntry.account_id).where(
        InboxEntry.activity_ap_id == item.activity_ap_id, InboxEntry.account_id.in_(ids))))  # fmt: skip
    kept = {k: v for k, v in doc.items() if k != "@context"}
    session.add_all(
        InboxEntry(account_id=i, activity_ap_id=item.activity_ap_id, document=kept)
        for i in sorted(ids - filed)
    )
