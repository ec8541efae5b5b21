"""Custom emoji of remote posts and accounts: which emoji a post uses, our copies of their images, and
the URLs the client API and the pages show.

:mod:`activitypub.emoji` reads Emoji tags and keeps the emoji table (per domain, as Mastodon does);
the actor cache links each remote actor to the emoji of its name and bio. Here a received post is
linked to the emoji of its text (:func:`link_status`, called by :mod:`fedigen.social.posts`), and the
worker copies each new emoji's image through the image pipeline (:func:`cache_remote_emojis`): fetched
through the guarded federation client within Mastodon's 256 KB limit, its type read from the bytes,
its pixels checked before decoding, its metadata stripped, a static PNG made of its first frame. Like
remote avatars, this happens outside any transaction, and an image that fails is not fetched again
until its URL changes or its ``updated`` moves forward.

An emoji waiting for its copy is shown from its server (as the client API shows remote avatars); one
whose image was refused is not shown at all, and its ``:shortcode:`` stays text.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.emoji import FAILED, PENDING, READY, RemoteEmoji, remember, shortcodes_in
from fedigen.services import Services
from fedigen.social import domains
from fedigen.social.media import fetch_image, media_url
from storage import MediaError
from storage.images import EMOJI_LIMITS, process_emoji_async
from storage.models import Actor, ActorEmoji, CustomEmoji, Status, StatusEmoji, utcnow
from storage.records import in_ids, record

log = logging.getLogger(__name__)

# An emoji whose copy `fedigen media prune` removed: shown from its server, not fetched again until its
# image changes (fedigen.social.upkeep).
PRUNED = "pruned"


@dataclass(frozen=True)
class EmojiImage:
    """Where an emoji's image is shown from: ``url`` (animated if it is) and ``static_url`` (a PNG)."""

    shortcode: str
    url: str
    static_url: str
    cached: bool  # our copy (False: still on its server)


def image_of(svc: Services, emoji: CustomEmoji) -> EmojiImage | None:
    """The URLs to show an emoji from: our copy, its server's while none is made, nothing if refused."""
    if emoji.state == READY and emoji.image_key:
        url = media_url(svc, emoji.image_key)
        return EmojiImage(emoji.shortcode, url, media_url(svc, emoji.static_key) if emoji.static_key else url,
                          cached=True)  # fmt: skip
    if emoji.state in (PENDING, PRUNED):
        return EmojiImage(emoji.shortcode, emoji.remote_url, emoji.remote_url, cached=False)
    return None


def used_in(emojis: Iterable[CustomEmoji], *texts: str | None) -> list[CustomEmoji]:
    """The emoji whose ``:shortcode:`` the texts contain, by shortcode (Mastodon lists only those)."""
    rows = list(emojis)
    if not rows:
        return []  # nothing to look for: the texts are not scanned (most statuses and accounts)
    codes = shortcodes_in(*texts)
    return sorted((e for e in rows if e.shortcode in codes), key=lambda e: e.shortcode)


def actor_texts(actor: Actor) -> list[str]:
    """The texts of a profile that may hold emoji: name, bio, and the names and values of its fields."""
    texts = [actor.display_name or "", actor.summary or ""]
    for item in actor.fields or []:
        if isinstance(item, dict):
            texts += [str(item.get("name", "")), str(item.get("value", ""))]
    return texts


async def link_status(
    session: AsyncSession, status: Status, author: Actor, emojis: Sequence[RemoteEmoji]
) -> None:
    """Keep the emoji a received post (or its edit) was sent with as exactly the post's emoji."""
    rows = await remember(session, author.domain, emojis) if author.domain else []
    wanted = {row.id for row in rows}
    have = set(await session.scalars(select(StatusEmoji.emoji_id).where(StatusEmoji.status_id == status.id)))
    if have - wanted:
        await session.execute(
            delete(StatusEmoji).where(
                StatusEmoji.status_id == status.id, StatusEmoji.emoji_id.in_(have - wanted)
            )
        )
    session.add_all(StatusEmoji(status_id=status.id, emoji_id=i) for i in sorted(wanted - have))
    await session.flush()


async def status_emojis(session: AsyncSession, status_ids: Iterable[int]) -> dict[int, list[CustomEmoji]]:
    """The shown emoji of each status (those whose image was refused left out), as Core records."""
    ids = list(status_ids)
    return await session.run_sync(lambda s: status_emojis_of(s.connection(), ids))


async def actor_emojis(session: AsyncSession, actor_ids: Iterable[int]) -> dict[int, list[CustomEmoji]]:
    """The shown emoji of each actor (those whose image was refused left out), as Core records."""
    ids = list(actor_ids)
    return await session.run_sync(lambda s: actor_emojis_of(s.connection(), ids))


def _linked(owner: Any, emoji_id: Any, ids: str = "ids") -> Any:
    """The shown emoji linked to owners (statuses or actors) through ``owner`` / ``emoji_id``: built once,
    the owners' ids bound at execution (as ``ids``)."""
    emoji = CustomEmoji.__table__
    return (
        select(owner.label("owner_id"), *emoji.c)
        .join(emoji, emoji.c.id == emoji_id)
        .where(in_ids(owner, ids), emoji.c.state != FAILED)
    )


_STATUS_EMOJIS = _linked(StatusEmoji.status_id, StatusEmoji.emoji_id)
_ACTOR_EMOJIS = _linked(ActorEmoji.actor_id, ActorEmoji.emoji_id)
# Both at once, each row marked with its kind of owner ("s" or "a"): a timeline page's statuses and
# authors in one round trip.
_KIND = "kind"
_BOTH = union_all(
    _linked(StatusEmoji.status_id, StatusEmoji.emoji_id, "status_ids").add_columns(literal("s").label(_KIND)),
    _linked(ActorEmoji.actor_id, ActorEmoji.emoji_id, "actor_ids").add_columns(literal("a").label(_KIND)),
)


def linked_emojis_of(
    conn: Connection, status_ids: Iterable[int], actor_ids: Iterable[int]
) -> tuple[dict[int, list[Any]], dict[int, list[Any]]]:
    """:func:`status_emojis_of` and :func:`actor_emojis_of` in one query."""
    by_status: dict[int, list[Any]] = defaultdict(list)
    by_actor: dict[int, list[Any]] = defaultdict(list)
    statuses, actors = list(set(status_ids)), list(set(actor_ids))
    if statuses or actors:
        for row in conn.execute(_BOTH, {"status_ids": statuses, "actor_ids": actors}):
            fields = dict(row._mapping)
            into = by_status if fields.pop(_KIND) == "s" else by_actor
            into[fields.pop("owner_id")].append(record(fields))
    return by_status, by_actor


def status_emojis_of(conn: Connection, status_ids: Iterable[int]) -> dict[int, list[Any]]:
    """:func:`status_emojis` on a synchronous connection."""
    return _emojis_of(conn, _STATUS_EMOJIS, status_ids)


def actor_emojis_of(conn: Connection, actor_ids: Iterable[int]) -> dict[int, list[Any]]:
    """:func:`actor_emojis` on a synchronous connection."""
    return _emojis_of(conn, _ACTOR_EMOJIS, actor_ids)


def _emojis_of(conn: Connection, query: Any, owner_ids: Iterable[int]) -> dict[int, list[Any]]:
    found: dict[int, list[Any]] = defaultdict(list)
    wanted = list(set(owner_ids))
    if wanted:
        for row in conn.execute(query, {"ids": wanted}):
            fields = dict(row._mapping)
            found[fields.pop("owner_id")].append(record(fields))
    return found


async def cache_remote_emojis(svc: Services, limit: int = 20) -> int:
    """Copy up to ``limit`` emoji images not copied yet; returns how many were tried."""
    if not svc.settings.media.cache_remote_emojis:
        return 0
    async with svc.reads() as session:
        rows = list(
            await session.execute(
                select(CustomEmoji.id, CustomEmoji.remote_url, CustomEmoji.domain)
                .where(CustomEmoji.state == PENDING, CustomEmoji.domain.is_not(None))
                .order_by(CustomEmoji.id)
                .limit(limit)
            )
        )
    for emoji_id, url, domain in rows:
        keys: tuple[str, str] | None = None
        media_type = None
        error = ""
        if await svc.resolver.is_domain_blocked_cached(url):
            error = "its host is blocked"
        elif await domains.media_rejected(svc, domain or url):
            error = "its domain's media is rejected here"
        elif (data := await fetch_image(svc, url, max_bytes=EMOJI_LIMITS.max_input_bytes)) is None:
            error = f"not fetched as a JPEG, PNG, WebP or GIF of at most {EMOJI_LIMITS.max_input_bytes} bytes"
        else:
            try:
                processed = await process_emoji_async(data)
                keys = (
                    await svc.media.store.aput(processed.image.data, processed.image.ext),
                    await svc.media.store.aput(processed.static.data, processed.static.ext),
                )
                media_type = processed.image.media_type
            except MediaError as exc:
                error = str(exc)
        async with svc.sessions() as session, session.begin():
            row = await session.get(CustomEmoji, emoji_id)
            if row is None or row.state != PENDING or row.remote_url != url:
                continue  # copied by another worker, or its image changed meanwhile
            row.fetched_at = utcnow()
            if keys is None:
                log.info("emoji :%s: of %s not copied from %s: %s", row.shortcode, row.domain, url, error)
                row.state = FAILED
            else:
                row.image_key, row.static_key = keys
                row.media_type, row.state = media_type, READY
    return len(rows)
