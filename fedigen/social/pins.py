"""Pinned posts, for every origin: the one home of pinning and unpinning.

A local account pins one of its own posts from the client API (``POST /api/v1/statuses/:id/pin``)
under Mastodon's rules (its StatusPinValidator): not a boost, not someone else's, not a direct post,
at most :data:`MAX_PINNED`. The pin is sent to its followers as ``Add`` with ``target`` = its
``featured`` collection, an unpin as ``Remove``, and the collection lists the pinned posts.

A remote account's pins come from its server: an ``Add`` or ``Remove`` it sends (through
``fedigen/federation/inbound.py``), and its ``featured`` collection, read by the worker after its actor
document was fetched (:func:`sync_featured_collections`): the collection and any post we lack are
fetched with no transaction open, then the posts are stored through the one home for receiving posts
(:func:`fedigen.social.remote_posts.keep_fetched`) and the pins made to match, in one short transaction.
At most :data:`MAX_REMOTE_PINS` of a remote account's pins are kept, its newest. The caller commits.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.activities import featured_change_of
from activitypub.errors import ActivityPubError
from activitypub.jsonld import id_of, type_of
from activitypub.notes import RemoteNote, read_note
from activitypub.outbox import publish
from activitypub.urls import same_origin
from activitypub.vocab import NOTE_TYPES
from fedigen.errors import ValidationError
from fedigen.services import Services
from fedigen.social import posts, remote_posts
from storage.models import Actor, Status, StatusPin, utcnow
from storage.vocabulary import Visibility

log = logging.getLogger(__name__)

#: How many posts a local account may pin (Mastodon's limit, advertised as max_pinned_statuses).
MAX_PINNED = 5
#: How many of a remote account's pins are kept, and items of its featured collection read.
MAX_REMOTE_PINS = 5


def pinned_query(account_id: int) -> Any:
    """The account's pinned posts (live ones), the most recently pinned first."""
    return (
        select(Status)
        .join(StatusPin, StatusPin.status_id == Status.id)
        .where(StatusPin.account_id == account_id, Status.actor_id == account_id, Status.deleted_at.is_(None))
        .order_by(StatusPin.created_at.desc(), StatusPin.id.desc())
    )


async def _pin_row(session: AsyncSession, account: Actor, status: Status) -> StatusPin | None:
    return await session.scalar(
        select(StatusPin).where(StatusPin.account_id == account.id, StatusPin.status_id == status.id)
    )


def _check_pinnable(account: Actor, status: Status) -> None:
    """Mastodon's rules for a pin (422 naming ``status``)."""
    if status.reblog_of_id is not None:
        raise ValidationError("status", "a boost cannot be pinned")
    if status.actor_id != account.id:
        raise ValidationError("status", "someone else's post cannot be pinned")
    if status.visibility == Visibility.DIRECT:
        raise ValidationError("status", "a post only its mentioned accounts may see cannot be pinned")


async def pin(svc: Services, session: AsyncSession, account: Actor, status: Status) -> None:
    """``account`` pins its ``status`` (again is a no-op).

    A local account's pin is checked (422 when refused) and sent as Add to its followers; a remote
    account's (from its server) is kept when the post is its own, its oldest pins making room.
    """
    if account.domain is not None:
        await _remote_pin(session, account, status)
        return
    _check_pinnable(account, status)
    if await _pin_row(session, account, status) is not None:
        return
    live = await session.scalar(
        select(func.count())
        .select_from(StatusPin)
        .join(Status, Status.id == StatusPin.status_id)
        .where(StatusPin.account_id == account.id, Status.deleted_at.is_(None))
    )
    if (live or 0) >= MAX_PINNED:
        raise ValidationError("status", f"at most {MAX_PINNED} posts can be pinned")
    session.add(StatusPin(account_id=account.id, status_id=status.id, created_at=utcnow()))
    await session.flush()
    await _send(svc, session, "Add", account, status)


async def unpin(svc: Services, session: AsyncSession, account: Actor, status: Status) -> None:
    """``account`` unpins ``status`` (not pinned: a no-op); a local account's unpin is sent as Remove."""
    row = await _pin_row(session, account, status)
    if row is None:
        return
    await session.delete(row)
    await session.flush()
    if account.domain is None:
        await _send(svc, session, "Remove", account, status)


async def _send(svc: Services, session: AsyncSession, kind: str, account: Actor, status: Status) -> None:
    followers = account.followers_url or svc.urls.followers(account.username)
    doc = featured_change_of(
        kind, svc.urls.new_activity(), account, status, svc.urls.featured(account.username), followers
    )
    await publish(session, account, doc)


async def _remote_pin(session: AsyncSession, account: Actor, status: Status) -> None:
    if status.actor_id != account.id or status.reblog_of_id is not None or status.deleted_at is not None:
        return  # only one's own posts can be pinned (Mastodon's Add checks the same)
    if await _pin_row(session, account, status) is not None:
        return
    session.add(StatusPin(account_id=account.id, status_id=status.id, created_at=utcnow()))
    await session.flush()
    kept = list(await session.scalars(
        select(StatusPin.id).where(StatusPin.account_id == account.id)
        .order_by(StatusPin.created_at.desc(), StatusPin.id.desc()).offset(MAX_REMOTE_PINS)
    ))  # fmt: skip
    if kept:
        await session.execute(delete(StatusPin).where(StatusPin.id.in_(kept)))


# --- remote featured collections --------------------------------------------------------------------


Item = tuple[str, RemoteNote | None]  # a pinned post's id, and the post when it still has to be stored


async def sync_featured_collections(svc: Services, limit: int = 10) -> int:
    """Read the featured collection of up to ``limit`` remote actors fetched since theirs was last read
    (or never read), and make their pins match it; returns how many actors were tried.

    The worker runs it beside avatar copies: it fetches from other servers, with no transaction open.
    """
    due = or_(Actor.featured_synced_at.is_(None), Actor.featured_synced_at < Actor.fetched_at)
    async with svc.reads() as session:
        ids = list(await session.scalars(
            select(Actor.id)
            .where(Actor.domain.is_not(None), Actor.featured_url.is_not(None), Actor.deleted_at.is_(None),
                   Actor.fetched_at.is_not(None), due)
            .order_by(Actor.fetched_at).limit(limit)
        ))  # fmt: skip
    for actor_id in ids:
        # Claimed first, so two workers never read the same collection; a failed read waits for the
        # actor's next fetch.
        async with svc.sessions() as session, session.begin():
            claimed = await session.execute(
                update(Actor).where(Actor.id == actor_id, due).values(featured_synced_at=utcnow())
                .execution_options(synchronize_session=False)
            )  # fmt: skip
            actor = await session.get(Actor, actor_id) if getattr(claimed, "rowcount", 0) == 1 else None
        if actor is None:
            continue
        items = await _read_featured(svc, actor)
        if items is None:
            continue
        async with svc.sessions() as session, session.begin():
            actor = await session.get(Actor, actor_id)
            if actor is not None:
                await _match_pins(svc, session, actor, items)
    return len(ids)


async def _read_featured(svc: Services, actor: Actor) -> list[Item] | None:
    """The pinned posts an actor's featured collection lists (at most MAX_REMOTE_PINS), fetched as
    needed; None when the collection cannot be read (the pins we have then stay)."""
    url = actor.featured_url or ""
    if not same_origin(url, actor.ap_id) or await svc.resolver.is_domain_blocked_cached(url):
        return None
    fetcher = svc.resolver.fetcher
    try:
        doc = (await fetcher.fetch_object(url)).document
        first = doc.get("first")  # a paged collection: its first page (on the actor's host) lists them
        if isinstance(first, str):
            if not same_origin(first, actor.ap_id):
                return None
            first = (await fetcher.fetch_object(first)).document
        if isinstance(first, dict):
            doc = first
    except (ActivityPubError, ValueError) as exc:
        log.info("featured collection of %s not read: %s", actor.ap_id, exc)
        return None
    kind = type_of(doc)
    key = "orderedItems" if kind in ("OrderedCollection", "OrderedCollectionPage") else "items"
    raw = doc.get(key) if kind in ("OrderedCollection", "OrderedCollectionPage", "Collection",
                                   "CollectionPage") else None  # fmt: skip
    listed = raw if isinstance(raw, list) else [raw] if raw else []
    # As Mastodon reads it: posts given by id or embedded, on the actor's own host.
    candidates = [
        i for i in listed[:100]
        if (isinstance(i, str) or (isinstance(i, dict) and type_of(i) in NOTE_TYPES))
        and (ap_id := id_of(i)) and same_origin(ap_id, actor.ap_id) and not svc.urls.is_local(ap_id)
    ][:MAX_REMOTE_PINS]  # fmt: skip
    return [item for item in [await _item(svc, actor, c) for c in candidates] if item is not None]


async def _item(svc: Services, actor: Actor, value: str | dict[str, Any]) -> Item | None:
    """One listed post: known already, embedded (the collection came from the actor's host), or fetched."""
    ap_id = id_of(value) or ""
    async with svc.reads() as session:
        known = await posts.status_by_ap_id(session, ap_id)
    if known is not None:
        return (ap_id, None) if known.actor_id == actor.id else None
    try:
        if isinstance(value, dict):
            if id_of(value.get("attributedTo")) != actor.ap_id:
                return None
            return ap_id, read_note(value, actor, allow_private=svc.resolver.allow_private_addresses)
        author, note = await svc.resolver.fetch_note(ap_id)
    except (ActivityPubError, ValueError) as exc:
        log.info("pinned post %s of %s not read: %s", ap_id, actor.ap_id, exc)
        return None
    return (note.ap_id, note) if author.ap_id == actor.ap_id else None


async def _match_pins(svc: Services, session: AsyncSession, actor: Actor, items: list[Item]) -> None:
    """Make the actor's pins these posts (stored first when new), in the collection's order."""
    chosen: list[Status] = []
    for ap_id, note in items:
        status = (
            await remote_posts.keep_fetched(svc, session, actor, note)
            if note is not None
            else await posts.status_by_ap_id(session, ap_id)
        )
        if status is not None and status.actor_id == actor.id and status.reblog_of_id is None:
            if status not in chosen:
                chosen.append(status)
    await session.execute(delete(StatusPin).where(StatusPin.account_id == actor.id))
    now = utcnow()
    # Listed newest pin first: each one a moment older than the one before it.
    session.add_all(
        StatusPin(account_id=actor.id, status_id=s.id, created_at=now - timedelta(milliseconds=n))
        for n, s in enumerate(chosen)
    )
    await session.flush()
