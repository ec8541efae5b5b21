"""Followed hashtags: public posts carrying a hashtag an account follows reach its home timeline
(``timelines.home_query``)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from fedigen.errors import NotFoundError
from storage.clients import TagFollow
from storage.models import Actor

# Mastodon's HASHTAG_NAME_RE: letters, digits, underscores and middle dots, not only digits.
TAG_NAME = re.compile(r"[\w·]{1,255}")


def normalize(name: str) -> str:
    """The stored form of a hashtag's name (no #, lower case); 404 for a name no hashtag can have."""
    value = name.lstrip("#").strip()
    if not TAG_NAME.fullmatch(value) or value.isdigit():
        raise NotFoundError("Record not found")
    return value.lower()


async def is_following(session: AsyncSession, account: Actor, name: str) -> bool:
    """Whether ``account`` follows the hashtag."""
    found = await session.scalar(
        select(TagFollow.id).where(TagFollow.account_id == account.id, TagFollow.name == normalize(name))
    )
    return found is not None


async def follow_tag(session: AsyncSession, account: Actor, name: str) -> TagFollow:
    """Follow a hashtag (again is a no-op)."""
    key = normalize(name)
    row = await session.scalar(
        select(TagFollow).where(TagFollow.account_id == account.id, TagFollow.name == key)
    )
    if row is None:
        row = TagFollow(account_id=account.id, name=key)
        session.add(row)
        await session.flush()
    return row


async def unfollow_tag(session: AsyncSession, account: Actor, name: str) -> None:
    """Stop following a hashtag (not following it is a no-op)."""
    key = normalize(name)
    await session.execute(delete(TagFollow).where(TagFollow.account_id == account.id, TagFollow.name == key))


async def followed_names(session: AsyncSession, account_id: int) -> list[str]:
    """The names of the hashtags an account follows (for its home timeline)."""
    return list(await session.scalars(select(TagFollow.name).where(TagFollow.account_id == account_id)))


def followed_query(account: Actor) -> Any:
    """(TagFollow.id, name) rows of the hashtags an account follows; paginate on TagFollow.id."""
    return select(TagFollow.id, TagFollow.name).where(TagFollow.account_id == account.id)
