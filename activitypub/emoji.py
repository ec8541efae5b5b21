"""Custom emoji and emoji reactions as other servers send them, read safely, and the emoji cache.

An ``Emoji`` tag names a picture to show in place of ``:shortcode:`` in a post's text, an actor's name
or bio (Mastodon's ``toot:Emoji``; Misskey and Pleroma/Akkoma send the same shape)::

    {"type": "Emoji", "id": "https://host/emojis/blobcat", "name": ":blobcat:",
     "updated": "2024-01-01T00:00:00Z",
     "icon": {"type": "Image", "mediaType": "image/png", "url": "https://host/files/blobcat.png"}}

``id`` and ``updated`` may be missing (Akkoma sends neither on posts). A tag is kept only when its
shortcode is ``[A-Za-z0-9_]+`` and its icon URL is http(s) and not on a private address (unless the
configuration allows those); anything else is dropped, and the post or actor is kept without it.

Emoji are remembered per domain of the account that used them, as Mastodon keeps them
(``CustomEmoji.find_by(shortcode:, domain: @account.domain)``), so one server's tags can never replace
another server's emoji. A known emoji is marked for copying again when its image URL changes or its
``updated`` moves forward. The images themselves are copied by the worker, outside any transaction
(:mod:`fedigen.social.emoji`).

Reactions: Misskey sends ``Like`` with the reaction in ``_misskey_reaction`` and ``content`` (a Unicode
emoji, or ``:name:`` with that emoji's tag); Pleroma and Akkoma send ``EmojiReact`` with ``content``
(and the tag for a custom emoji). :func:`read_reaction` reads either.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.actors import parse_time
from activitypub.jsonld import type_of
from activitypub.transport import is_public_http_url
from storage.models import Actor, ActorEmoji, CustomEmoji

SHORTCODE_RE = re.compile(r"[A-Za-z0-9_]{1,100}")
# A shortcode in text, as Mastodon's CustomEmoji::SCAN_RE finds them (":a::b:" is two emoji).
SCAN_RE = re.compile(r":([A-Za-z0-9_]{1,100}):")
MAX_TAGS_READ = 100  # tags looked at per object (activitypub.notes keeps 100 too)
MAX_EMOJIS = 50  # emoji kept per object
MAX_REACTION_CHARS = 64

PENDING, READY, FAILED = "pending", "ready", "failed"


@dataclass(frozen=True)
class RemoteEmoji:
    """One custom emoji tag, checked: its shortcode (no colons), image URL and what else it says."""

    shortcode: str
    url: str
    ap_id: str | None = None
    media_type: str | None = None
    updated: datetime | None = None


@dataclass(frozen=True)
class EmojiReaction:
    """What a Like or EmojiReact reacts with: a Unicode emoji (``custom`` False), or a custom emoji's
    shortcode, with its tag when the activity carried one."""

    name: str
    custom: bool
    emoji: RemoteEmoji | None = None

    @property
    def content(self) -> str:
        """The reaction as it is written on the wire: the emoji itself, or ``:shortcode:``."""
        return f":{self.name}:" if self.custom else self.name


def _stripped(name: str) -> str:
    name = name.strip()
    if len(name) >= 2 and name.startswith(":") and name.endswith(":"):
        return name[1:-1]
    return name


def _http_url(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("url") or value.get("href")
        if isinstance(value, list | dict):
            return _http_url(value)
    if not isinstance(value, str) or len(value) > 2048:
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    return value if parts.scheme.lower() in ("http", "https") and parts.hostname else None


def read_emoji(item: Any, *, allow_private: bool = False) -> RemoteEmoji | None:
    """One ``Emoji`` tag as a :class:`RemoteEmoji`, or None when it is not one we may keep."""
    if not isinstance(item, dict) or type_of(item) != "Emoji" or not isinstance(item.get("name"), str):
        return None
    shortcode = _stripped(item["name"])
    if not SHORTCODE_RE.fullmatch(shortcode):
        return None
    icon = item.get("icon")
    url = _http_url(icon)
    if url is None or not (allow_private or is_public_http_url(url)):
        return None
    media_type = icon.get("mediaType") if isinstance(icon, dict) else None
    if isinstance(media_type, str) and not media_type.lower().startswith("image/"):
        return None  # declared as something else than an image: never fetched
    ap_id = item.get("id") if isinstance(item.get("id"), str) else None
    return RemoteEmoji(
        shortcode=shortcode,
        url=url,
        ap_id=_http_url(ap_id),
        media_type=media_type[:64] if isinstance(media_type, str) else None,
        updated=parse_time(item.get("updated")),
    )


def read_emoji_tags(value: Any, *, allow_private: bool = False) -> list[RemoteEmoji]:
    """The custom emoji of a ``tag`` property, one per shortcode (the first one wins), bounded."""
    items = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
    kept: dict[str, RemoteEmoji] = {}
    for item in items[:MAX_TAGS_READ]:
        emoji = read_emoji(item, allow_private=allow_private)
        if emoji is not None and emoji.shortcode not in kept:
            kept[emoji.shortcode] = emoji
            if len(kept) >= MAX_EMOJIS:
                break
    return list(kept.values())


def shortcodes_in(*texts: str | None) -> set[str]:
    """The ``:shortcode:``s written in the texts."""
    return {code for text in texts if text for code in SCAN_RE.findall(text)}


# --- Unicode emoji -----------------------------------------------------------------------------------

_ZWJ, _VS15, _VS16, _KEYCAP = 0x200D, 0xFE0E, 0xFE0F, 0x20E3
_PICTOGRAPHIC = (
    (0x00A9, 0x00A9), (0x00AE, 0x00AE), (0x203C, 0x203C), (0x2049, 0x2049), (0x2122, 0x2122),
    (0x2139, 0x2139), (0x2194, 0x2199), (0x21A9, 0x21AA), (0x231A, 0x231B), (0x2328, 0x2328),
    (0x23CF, 0x23CF), (0x23E9, 0x23F3), (0x23F8, 0x23FA), (0x24C2, 0x24C2), (0x25AA, 0x25AB),
    (0x25B6, 0x25B6), (0x25C0, 0x25C0), (0x25FB, 0x25FE), (0x2600, 0x27BF), (0x2934, 0x2935),
    (0x2B05, 0x2B07), (0x2B1B, 0x2B1C), (0x2B50, 0x2B50), (0x2B55, 0x2B55), (0x3030, 0x3030),
    (0x303D, 0x303D), (0x3297, 0x3297), (0x3299, 0x3299), (0x1F000, 0x1F1E5), (0x1F200, 0x1F3FA),
    (0x1F400, 0x1FAFF),
)  # fmt: skip


def _pictographic(cp: int) -> bool:
    return any(low <= cp <= high for low, high in _PICTOGRAPHIC)


def _element(cps: list[int], i: int) -> int | None:
    """The end of one emoji element starting at ``i`` (a pictograph with its presentation selector and
    skin tone, a keycap, a flag), or None when none starts there."""
    n, cp = len(cps), cps[i]
    if 0x1F1E6 <= cp <= 0x1F1FF:  # a flag is two regional indicators
        return i + 2 if i + 1 < n and 0x1F1E6 <= cps[i + 1] <= 0x1F1FF else None
    if chr(cp) in "0123456789#*":  # keycap: 1 FE0F 20E3
        j = i + 1 + (i + 1 < n and cps[i + 1] == _VS16)
        return j + 1 if j < n and cps[j] == _KEYCAP else None
    if not _pictographic(cp):
        return None
    j = i + 1
    if j < n and cps[j] in (_VS15, _VS16):
        j += 1
    if j < n and 0x1F3FB <= cps[j] <= 0x1F3FF:  # skin tone
        j += 1
    if cp == 0x1F3F4:  # subdivision flags: tag characters, then CANCEL TAG
        start = j
        while j < n and 0xE0020 <= cps[j] <= 0xE007E:
            j += 1
        if j > start:
            return j + 1 if j < n and cps[j] == 0xE007F else None
    return j


def is_unicode_emoji(text: str) -> bool:
    """Whether ``text`` is one emoji (a ZWJ sequence counts as one), as Pleroma's is_unicode_emoji?
    accepts the emoji of Unicode's emoji-test.txt; read from code point ranges here."""
    if not text or len(text) > 32:
        return False
    cps = [ord(c) for c in text]
    i = 0
    while True:
        end = _element(cps, i)
        if end is None:
            return False
        if end == len(cps):
            return True
        if cps[end] != _ZWJ or end + 1 >= len(cps):
            return False
        i = end + 1


def read_reaction(doc: dict[str, Any], *, allow_private: bool = False) -> EmojiReaction | None:
    """The emoji a Like or EmojiReact reacts with (Misskey's ``_misskey_reaction`` first, as Misskey
    itself reads it), or None when it names none we understand."""
    raw = doc.get("_misskey_reaction")
    if not isinstance(raw, str) or not raw.strip():
        raw = doc.get("content")
    if not isinstance(raw, str) or len(raw) > MAX_REACTION_CHARS:
        return None
    raw = raw.strip()
    if is_unicode_emoji(raw):
        return EmojiReaction(name=raw, custom=False)
    if not (len(raw) > 2 and raw.startswith(":") and raw.endswith(":")):
        return None
    # Iceshrimp.NET and Akkoma's API write a remote emoji as ":name@host:"; the name is what counts.
    name = raw[1:-1].split("@", 1)[0]
    if not SHORTCODE_RE.fullmatch(name):
        return None
    tags = [e for e in read_emoji_tags(doc.get("tag"), allow_private=allow_private) if e.shortcode == name]
    return EmojiReaction(name=name, custom=True, emoji=tags[0] if tags else None)


# --- the cache ---------------------------------------------------------------------------------------


def _changed(row: CustomEmoji, emoji: RemoteEmoji) -> bool:
    if row.remote_url != emoji.url:
        return True
    return emoji.updated is not None and (row.updated is None or emoji.updated > row.updated)


async def _insert(session: AsyncSession, domain: str, emoji: RemoteEmoji) -> CustomEmoji | None:
    row = CustomEmoji(
        shortcode=emoji.shortcode, domain=domain, ap_id=emoji.ap_id, remote_url=emoji.url,
        media_type=emoji.media_type, updated=emoji.updated, state=PENDING,
    )  # fmt: skip
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:  # another transaction remembered it meanwhile
        found = await session.scalar(
            select(CustomEmoji).where(CustomEmoji.domain == domain, CustomEmoji.shortcode == emoji.shortcode)
        )
        return found
    return row


async def remember(session: AsyncSession, domain: str, emojis: Sequence[RemoteEmoji]) -> list[CustomEmoji]:
    """The rows of ``domain``'s emoji, added or marked for copying again when their image changed."""
    if not emojis:
        return []
    known = {
        row.shortcode: row
        for row in await session.scalars(
            select(CustomEmoji).where(
                CustomEmoji.domain == domain, CustomEmoji.shortcode.in_([e.shortcode for e in emojis])
            )
        )
    }
    rows: list[CustomEmoji] = []
    for emoji in emojis:
        row = known.get(emoji.shortcode)
        if row is None:
            row = await _insert(session, domain, emoji)
        elif _changed(row, emoji):
            row.remote_url, row.media_type, row.updated = emoji.url, emoji.media_type, emoji.updated
            row.ap_id = emoji.ap_id or row.ap_id
            row.state, row.image_key, row.static_key = PENDING, None, None
        if row is not None:
            rows.append(row)
    await session.flush()
    return rows


async def known_emoji(session: AsyncSession, domain: str, shortcode: str) -> CustomEmoji | None:
    """``domain``'s emoji of that shortcode, if one was seen before."""
    return await session.scalar(
        select(CustomEmoji).where(CustomEmoji.domain == domain, CustomEmoji.shortcode == shortcode)
    )


async def link_actor(session: AsyncSession, actor: Actor, emojis: Sequence[RemoteEmoji]) -> None:
    """Keep the emoji a remote actor's document was sent with as exactly the actor's emoji."""
    rows = await remember(session, actor.domain or "", emojis) if actor.domain else []
    wanted = {row.id for row in rows}
    have = set(await session.scalars(select(ActorEmoji.emoji_id).where(ActorEmoji.actor_id == actor.id)))
    if have - wanted:
        await session.execute(
            delete(ActorEmoji).where(ActorEmoji.actor_id == actor.id, ActorEmoji.emoji_id.in_(have - wanted))
        )
    session.add_all(ActorEmoji(actor_id=actor.id, emoji_id=i) for i in sorted(wanted - have))
    await session.flush()
