"""Reading statuses: who may see what, the home, public and tag timelines, threads, and saved lists.

Every timeline is one indexed query for a page of ids in descending order (keyset pagination, never
OFFSET): the home timeline walks ``ix_statuses_actor_id_id`` for the viewer and the accounts they
follow, the public ones ``ix_statuses_visibility_local_id``. Rendering the page is the entities'
business (a fixed number of batch queries).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, String, cast, exists, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from fedigen.social.standing import limited, suspended
from fedigen.social.visibility import can_see, followed_by
from storage.clients import Bookmark, Mute
from storage.models import Actor, Block, Favourite, MediaAttachment, Status, StatusTag
from storage.vocabulary import Visibility

MAX_ANCESTORS = 40
MAX_DESCENDANTS = 60
LIVE = Status.deleted_at.is_(None)


def home_query(viewer_id: int) -> Any:
    """The viewer's own statuses and boosts, and those of the accounts they follow (not direct ones)."""
    # One IN over (follows + self) rather than an OR: SQLite then walks ix_statuses_actor_id_id per
    # author instead of a multi-index OR over the whole table (see benchmarks/home_timeline.py).
    authors = followed_by(viewer_id).union_all(select(literal(viewer_id, BigInteger)))
    muted = select(Mute.target_id).where(Mute.account_id == viewer_id)
    return select(Status).where(
        Status.actor_id.in_(authors),
        or_(Status.visibility != Visibility.DIRECT, Status.actor_id == viewer_id),
        Status.actor_id.not_in(muted),
        Status.actor_id.not_in(suspended()),
        LIVE,
    )


def public_query(*, local: bool = False, remote: bool = False, only_media: bool = False) -> Any:
    """Public statuses (no boosts), optionally only local, only remote, or only with media."""
    query = select(Status).where(Status.visibility == Visibility.PUBLIC, Status.reblog_of_id.is_(None), LIVE,
                                 Status.actor_id.not_in(limited()))  # fmt: skip
    if local:
        query = query.where(Status.local.is_(True))
    elif remote:
        query = query.where(Status.local.is_(False))
    if only_media:
        has_rows = exists().where(MediaAttachment.status_id == Status.id)
        query = query.where(or_(has_rows, cast(Status.attachments, String).not_in(["[]", "null"])))
    return query


def tag_query(tag: str, *, local: bool = False, only_media: bool = False) -> Any:
    """Public statuses carrying a hashtag."""
    name = tag.lstrip("#").lower()
    tagged = select(StatusTag.status_id).where(StatusTag.name == name)
    return public_query(local=local, only_media=only_media).where(Status.id.in_(tagged))


def without_blocked(query: Any, viewer_id: int | None) -> Any:
    """Leave out statuses of accounts the viewer blocked or muted."""
    if viewer_id is None:
        return query
    hidden = (
        select(Block.target_id)
        .where(Block.actor_id == viewer_id)
        .union(select(Mute.target_id).where(Mute.account_id == viewer_id))
    )
    return query.where(Status.actor_id.not_in(hidden))


async def context(
    session: AsyncSession, status: Status, viewer_id: int | None
) -> tuple[list[Status], list[Status]]:
    """A thread around ``status``: its visible ancestors (oldest first) and descendants (depth first)."""
    ancestors: list[Status] = []
    parent_id = status.in_reply_to_id
    while parent_id is not None and len(ancestors) < MAX_ANCESTORS:
        parent = await session.get(Status, parent_id)
        if parent is None or parent.id in {a.id for a in ancestors}:
            break
        if await can_see(session, parent, viewer_id):
            ancestors.append(parent)
        parent_id = parent.in_reply_to_id
    ancestors.reverse()
    descendants: list[Status] = []
    level = [status.id]
    seen = {status.id}
    while level and len(descendants) < MAX_DESCENDANTS:
        children = list(
            await session.scalars(
                select(Status).where(Status.in_reply_to_id.in_(level), LIVE).order_by(Status.id)
            )
        )
        level = []
        for child in children:
            if child.id in seen or not await can_see(session, child, viewer_id):
                continue
            seen.add(child.id)
            descendants.append(child)
            level.append(child.id)
    return ancestors, _depth_first(status.id, descendants)[:MAX_DESCENDANTS]


def _depth_first(root: int, rows: Sequence[Status]) -> list[Status]:
    children: dict[int, list[Status]] = {}
    for row in rows:
        children.setdefault(row.in_reply_to_id or 0, []).append(row)
    out: list[Status] = []
    stack = list(reversed(children.get(root, [])))
    while stack:
        row = stack.pop()
        out.append(row)
        stack.extend(reversed(children.get(row.id, [])))
    return out


def bookmarks_query(viewer_id: int) -> Any:
    """(Status, Bookmark.id) rows of the viewer's bookmarks; paginate on Bookmark.id."""
    return (
        select(Status, Bookmark.id)
        .join(Bookmark, Bookmark.status_id == Status.id)
        .where(Bookmark.account_id == viewer_id, LIVE)
    )


def favourites_query(viewer_id: int) -> Any:
    """(Status, Favourite.id) rows of the viewer's favourites; paginate on Favourite.id."""
    return (
        select(Status, Favourite.id)
        .join(Favourite, Favourite.status_id == Status.id)
        .where(Favourite.actor_id == viewer_id, LIVE)
    )


def favourited_by_query(status_id: int) -> Any:
    """(Actor, Favourite.id) rows of who favourited a status; paginate on Favourite.id."""
    return (
        select(Actor, Favourite.id)
        .join(Favourite, Favourite.actor_id == Actor.id)
        .where(Favourite.status_id == status_id)
    )


def reblogged_by_query(status_id: int) -> Any:
    """(Actor, Status.id) rows of who boosted a status; paginate on the boost's id."""
    return (
        select(Actor, Status.id)
        .join(Status, Status.actor_id == Actor.id)
        .where(Status.reblog_of_id == status_id, LIVE)
    )
