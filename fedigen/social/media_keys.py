"""Which files of the media store the database names, by kind: what ``fedigen media usage`` counts and
what ``fedigen media prune`` must never delete.

The columns that hold a media key:

- ``media_attachments.original_key``, ``federation_key`` and ``thumbnail_key``: uploads, generated
  images (rows with ``job_id``), local avatars and headers (rows in state ``profile``), and copies of
  remote avatars (rows with ``remote_url``);
- ``custom_emojis.image_key`` and ``static_key``: copies of other servers' emoji.

A few columns hold the public URL of a file rather than its key, its key being the URL's last two
segments: ``actors.icon_url`` and ``image_url`` of local accounts (their avatar and header) and the
``url`` of each entry of a local post's ``statuses.attachments``. The media rows above name the same
files, so these add nothing while the database is consistent; they are read all the same, so that a
file a local profile or post still shows is never taken for an orphan. They are references by URL
only: a file they name that is missing is not reported as missing (a deleted post's URLs may outlive
its files).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.media import is_key
from storage.models import Actor, CustomEmoji, MediaAttachment, Status

# The kinds `fedigen media usage` reports, in the order a file shared by several is counted under.
LOCAL_ORIGINALS = "local originals"
LOCAL_VARIANTS = "local variants"
REMOTE_AVATARS = "remote avatar copies"
EMOJI = "emoji copies"
KINDS = (LOCAL_ORIGINALS, LOCAL_VARIANTS, REMOTE_AVATARS, EMOJI)


@dataclass
class NamedKeys:
    """The keys the database names: by kind (key columns), and those only a local URL names."""

    by_kind: dict[str, set[str]] = field(default_factory=lambda: {kind: set() for kind in KINDS})
    by_url: set[str] = field(default_factory=set)

    @property
    def all(self) -> set[str]:
        keys = set(self.by_url)
        for named in self.by_kind.values():
            keys |= named
        return keys


def key_in_url(url: object) -> str | None:
    """The media key a URL of ours ends with (``.../ab/ab12...ef.png``), None for anything else."""
    if not isinstance(url, str):
        return None
    path = url.split("?", 1)[0].split("#", 1)[0]
    key = "/".join(path.rsplit("/", 2)[-2:])
    return key if is_key(key) else None


def _attachment_urls(attachments: Any) -> list[object]:
    if not isinstance(attachments, list):
        return []
    return [item.get(name) for item in attachments if isinstance(item, dict) for name in ("url", "href")]


async def named_keys(session: AsyncSession) -> NamedKeys:
    """Every media key a row names (see the module's docstring for the columns)."""
    named = NamedKeys()
    by_kind = named.by_kind
    rows = await session.execute(
        select(
            MediaAttachment.remote_url, MediaAttachment.original_key, MediaAttachment.federation_key,
            MediaAttachment.thumbnail_key,
        )
    )  # fmt: skip
    for remote_url, original, federation, thumbnail in rows:
        if remote_url is not None:
            by_kind[REMOTE_AVATARS] |= {k for k in (original, federation, thumbnail) if k}
        else:
            by_kind[LOCAL_ORIGINALS] |= {original} if original else set()
            by_kind[LOCAL_VARIANTS] |= {k for k in (federation, thumbnail) if k}
    for image, static in await session.execute(select(CustomEmoji.image_key, CustomEmoji.static_key)):
        by_kind[EMOJI] |= {k for k in (image, static) if k}
    urls: list[object] = []
    for icon, header in await session.execute(
        select(Actor.icon_url, Actor.image_url).where(Actor.domain.is_(None))
    ):
        urls += [icon, header]
    for (attachments,) in await session.execute(select(Status.attachments).where(Status.local.is_(True))):
        urls += _attachment_urls(attachments)
    named.by_url = {key for url in urls if (key := key_in_url(url)) is not None}
    return named
