"""Copies of remote accounts' avatars, made through the same image pipeline as every other image.

Remote avatars are fetched through the guarded federation client (no private addresses, a size cap),
checked and re-encoded by :mod:`storage.images` (type from the bytes, pixel cap before decoding,
metadata stripped), and kept as media rows keyed by their source URL, so pages and the client API can
serve our copy instead of hot-linking another server. The work list is the database itself: actors
whose current icon URL has no row yet. A fetch that fails leaves a ``failed`` row, so a broken avatar
is not fetched again until its URL changes.
"""

from __future__ import annotations

import logging

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from fedigen.imaging import fetch_image
from fedigen.posting import media_url
from fedigen.services import Services
from storage import MediaError
from storage.attachments import ingest
from storage.models import Actor, MediaAttachment

log = logging.getLogger(__name__)


async def cache_remote_avatars(svc: Services, limit: int = 20) -> int:
    """Fetch and process up to ``limit`` remote avatars not yet copied; returns how many were tried."""
    if not svc.settings.media.cache_remote_avatars:
        return 0
    copied = exists().where(MediaAttachment.remote_url == Actor.icon_url)
    async with svc.sessions() as session:
        rows = list(
            await session.execute(
                select(Actor.id, Actor.icon_url)
                .where(Actor.domain.is_not(None), Actor.icon_url.is_not(None), Actor.deleted_at.is_(None))
                .where(~copied)
                .limit(limit)
            )
        )
    for actor_id, url in rows:
        data = await fetch_image(svc, str(url))
        async with svc.sessions() as session, session.begin():
            if await session.scalar(select(MediaAttachment.id).where(MediaAttachment.remote_url == url)):
                continue  # another worker copied it meanwhile
            try:
                if data is None:
                    raise MediaError("could not be fetched as an allowed image")
                await ingest(session, svc.media, data, account_id=actor_id, remote_url=url)
            except MediaError as exc:
                log.info("avatar %s not copied: %s", url, exc)
                session.add(MediaAttachment(account_id=actor_id, remote_url=url, state="failed"))
    return len(rows)


async def avatar_url(svc: Services, session: AsyncSession, actor: Actor) -> str:
    """The URL to show for an account's avatar: our copy of a remote one when we have it."""
    if actor.domain is None or not actor.icon_url:
        return actor.icon_url or svc.urls.avatar(actor.username)
    copy = await session.scalar(
        select(MediaAttachment.thumbnail_key).where(
            MediaAttachment.remote_url == actor.icon_url, MediaAttachment.state == "ready"
        )
    )
    return media_url(svc, copy) if copy else actor.icon_url
