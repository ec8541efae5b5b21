"""Posts from other servers: received (Create), fetched by id or URL, edited (Update) and deleted
(Delete) by their authors.

A received post is stored only when it concerns a local account (a local follower of its author, a
mention, a reply to or remix of a local post), never after its author's Delete; a fetched one only
when public or unlisted. Stored, it passes the same after-post step as a local post
(:func:`fedigen.social.posts.after_post`). The caller commits (the fetching functions, which go over
the network, commit what they store themselves).
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.notes import RemoteNote
from fedigen.services import Services
from fedigen.social import counts, domains, emoji, mentions, polls
from fedigen.social.mentions import MAX_MENTIONS
from fedigen.social.notifications import Kind, notify
from fedigen.social.posts import after_post, remove_status, status_by_ap_id
from storage.models import Actor, Follow, MediaAttachment, Status, Tombstone, utcnow
from storage.vocabulary import PUBLIC_VISIBILITIES, FollowState


async def receive_post(
    svc: Services, session: AsyncSession, author: Actor, note: RemoteNote
) -> Status | None:
    """A post another server sent: stored when it concerns a local account, never after its Delete."""
    # Only the author's own Delete suppresses a late Create (docs/refusals.md case 18).
    tombstone = select(Tombstone.id).where(
        Tombstone.ap_id == note.ap_id, Tombstone.actor_ap_id == author.ap_id
    )
    if await session.scalar(tombstone) is not None:
        return None
    if await session.scalar(select(Status.id).where(Status.ap_id == note.ap_id)) is not None:
        return None
    if not await _concerns_us(svc, session, author, note):
        return None
    return await store_remote(svc, session, author, note)


async def _concerns_us(svc: Services, session: AsyncSession, author: Actor, note: RemoteNote) -> bool:
    """Whether a local account follows the author, is mentioned, or is replied to or remixed."""
    if await has_local_followers(session, author):
        return True
    if any(svc.urls.is_local(m) for m in note.mentions):
        return True
    return svc.urls.is_local(note.in_reply_to_ap_id) or svc.urls.is_local(note.quote_of)


async def has_local_followers(session: AsyncSession, actor: Actor) -> bool:
    """Whether any local account follows ``actor``."""
    found = await session.scalar(
        select(Follow.id)
        .join(Actor, Actor.id == Follow.follower_id)
        .where(Follow.followee_id == actor.id, Follow.state == FollowState.ACCEPTED, Actor.domain.is_(None))
        .limit(1)
    )
    return found is not None


async def store_remote(svc: Services, session: AsyncSession, author: Actor, note: RemoteNote) -> Status:
    """Store a remote post (received, or fetched by id) and run the after-post step."""
    status = Status(actor_id=author.id, local=False)
    session.add(status)
    parent, new_mentions = await _apply_note(session, status, note)
    await emoji.link_status(session, status, author, note.emojis)
    if note.poll is not None:
        await polls.sync_remote(session, status, note.poll, allow_significant=True)
    await after_post(svc, session, status, author, new_mentions, parent)
    return status


async def _apply_note(
    session: AsyncSession, status: Status, note: RemoteNote
) -> tuple[Status | None, list[Actor]]:
    """Copy a remote note onto its status row, with its media, hashtags and mentions."""
    status.ap_id, status.ap_type, status.url = note.ap_id, note.ap_type, note.url
    status.content, status.summary, status.sensitive = note.content, note.summary, note.sensitive
    status.visibility, status.language = note.visibility, note.language
    status.to, status.cc, status.tags, status.attachments = note.to, note.cc, note.tags, note.attachments
    status.extra, status.edited_at = note.extra, note.edited_at
    status.in_reply_to_ap_id = note.in_reply_to_ap_id
    # The counts its server reports, when it reports them (an Update without them keeps the last ones).
    if note.likes_count is not None:
        status.untrusted_favourites_count = note.likes_count
    if note.shares_count is not None:
        status.untrusted_reblogs_count = note.shares_count
    if note.published is not None:
        status.published = note.published
    parent = await status_by_ap_id(session, note.in_reply_to_ap_id)
    status.in_reply_to_id = parent.id if parent else None
    await session.flush()
    await _sync_remote_media(session, status)
    mentioned = list(
        await session.scalars(select(Actor).where(Actor.ap_id.in_(note.mentions[:MAX_MENTIONS])))
    )
    return parent, await mentions.set_tags_and_mentions(session, status, note.hashtags, mentioned)


async def _sync_remote_media(session: AsyncSession, status: Status) -> None:
    """One media row per remote attachment (no files: clients load them from their server), so the
    client API can give each a stable id, as Mastodon does."""
    await session.execute(
        delete(MediaAttachment).where(
            MediaAttachment.status_id == status.id, MediaAttachment.original_key.is_(None)
        )
    )
    # Media of a domain blocked with reject_media is shown as links (fedigen.social.domains).
    state = (
        "rejected"
        if status.attachments and await domains.rejects_media_of(session, status.actor_id)
        else "remote"
    )
    for position, item in enumerate(status.attachments or []):
        width, height = item.get("width"), item.get("height")
        focus = item.get("focalPoint") or [0.0, 0.0]
        meta = {"original": {"width": width, "height": height}} if width and height else {}
        session.add(MediaAttachment(
            account_id=status.actor_id, status_id=status.id, position=position, state=state,
            remote_url=item["url"], media_type=item.get("mediaType") or "image/jpeg", width=width,
            height=height, blurhash=item.get("blurhash"), focus_x=focus[0], focus_y=focus[1],
            description=item.get("name") or "", meta=meta,
        ))  # fmt: skip


async def receive_edit(svc: Services, session: AsyncSession, author: Actor, note: RemoteNote) -> None:
    """Update of a remote post we have, by its author: newly mentioned local accounts are told.

    As Mastodon reads an Update (ActivityPub::ProcessStatusUpdateService): one older than the last edit
    changes nothing; one of a poll without a newer ``updated`` (how servers send new counts) changes
    only the counts, never the post; and the post shows as edited only when its text, content warning,
    media or poll options changed, not for new counts under a new ``updated``.
    """
    status = await status_by_ap_id(session, note.ap_id)
    if status is None or status.actor_id != author.id or status.local:
        return
    if status.edited_at is not None and note.edited_at is not None and status.edited_at > note.edited_at:
        return  # an Update older than the edit we have
    newer = note.edited_at is not None and (status.edited_at is None or note.edited_at > status.edited_at)
    poll = await polls.poll_of(session, status.id)
    if not newer and (poll is not None or note.poll is not None):
        await polls.sync_remote(session, status, note.poll, allow_significant=False)
        return
    before = (status.content, status.summary, [a.get("url") for a in status.attachments or []])
    edited_at, old_parent = status.edited_at, status.in_reply_to_id
    _, new_mentions = await _apply_note(session, status, note)
    if status.in_reply_to_id != old_parent and status.deleted_at is None:  # now a reply to another post
        await counts.bump(session, old_parent, replies=-1)
        await counts.bump(session, status.in_reply_to_id, replies=1)
    await emoji.link_status(session, status, author, note.emojis)
    poll_changed = await polls.sync_remote(session, status, note.poll, allow_significant=True)
    after = (status.content, status.summary, [a.get("url") for a in status.attachments or []])
    status.edited_at = (note.edited_at or utcnow()) if before != after or poll_changed else edited_at
    for actor in new_mentions:
        await notify(session, actor, Kind.MENTION, author, status)


async def receive_delete(svc: Services, session: AsyncSession, author: Actor, object_ap_id: str) -> None:
    """Delete of one of the author's objects: its post goes, and a tombstone guards against a late Create."""
    status = await status_by_ap_id(session, object_ap_id)
    if status is not None and status.actor_id == author.id and not status.local:
        await remove_status(svc, session, author, status)
    elif await session.scalar(select(Tombstone.id).where(Tombstone.ap_id == object_ap_id)) is None:
        session.add(Tombstone(ap_id=object_ap_id, actor_ap_id=author.ap_id))


async def fetch_post(svc: Services, ap_id: str, *, author_ap_id: str | None = None) -> Status | None:
    """A public or unlisted remote post by id: ours if stored, else fetched, stored and returned
    (with ``author_ap_id``, only when that actor wrote it).

    It fetches over the network, so no transaction may be open: it commits what it stores itself.
    """
    async with svc.reads() as session:
        known = await status_by_ap_id(session, ap_id)
    if known is not None:
        return known
    fetched_author, note = await svc.resolver.fetch_note(ap_id)
    if author_ap_id not in (None, fetched_author.ap_id):
        return None
    return await store_fetched(svc, fetched_author, note)


async def store_fetched(svc: Services, fetched_author: Actor, note: RemoteNote) -> Status | None:
    """Store a post fetched by id or URL (unless known); None when it is not public or unlisted."""
    if note.visibility not in PUBLIC_VISIBILITIES:
        return None
    async with svc.sessions() as session, session.begin():
        author = await session.get(Actor, fetched_author.id)
        return await keep_fetched(svc, session, author, note) if author is not None else None


async def keep_fetched(
    svc: Services, session: AsyncSession, author: Actor, note: RemoteNote
) -> Status | None:
    """A remote post of ``author``'s fetched from its server (not received): the stored one, else
    stored now if public or unlisted; None for others' and deleted posts, and those it may not show."""
    row = await session.scalar(select(Status).where(Status.ap_id == note.ap_id))
    if row is not None:
        return row if row.deleted_at is None and row.actor_id == author.id else None
    tombstone = select(Tombstone.id).where(
        Tombstone.ap_id == note.ap_id, Tombstone.actor_ap_id == author.ap_id
    )
    if note.visibility not in PUBLIC_VISIBILITIES or await session.scalar(tombstone) is not None:
        return None
    return await store_remote(svc, session, author, note)
