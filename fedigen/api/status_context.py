"""What rendering a page of statuses needs, loaded in batches (:class:`StatusContext`).

A page is loaded with a fixed number of queries whatever its length: accounts, media, mentions,
counts, emoji reactions, polls and the viewer's own state (favourited, reblogged, bookmarked,
pinned, filters, votes) are each read for the whole page at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fedigen.api.entities import AccountStats, account_stats_of
from fedigen.social import emoji as emojis
from fedigen.social import filters as user_filters
from fedigen.social import polls
from storage.clients import Bookmark
from storage.db import each
from storage.models import (
    Actor,
    CustomEmoji,
    Favourite,
    MediaAttachment,
    Mention,
    Poll,
    Reaction,
    Status,
    StatusPin,
)
from storage.records import in_ids, record


@dataclass
class StatusContext:
    """Everything a page of statuses needs, loaded in a few queries."""

    actors: dict[int, Actor] = field(default_factory=dict)
    stats: AccountStats = field(default_factory=AccountStats)
    media: dict[int, list[MediaAttachment]] = field(default_factory=lambda: defaultdict(list))
    mentions: dict[int, list[Actor]] = field(default_factory=lambda: defaultdict(list))
    favourites: dict[int, int] = field(default_factory=dict)
    reblogs: dict[int, int] = field(default_factory=dict)
    replies: dict[int, int] = field(default_factory=dict)
    reblogged_statuses: dict[int, Status] = field(default_factory=dict)
    favourited: set[int] = field(default_factory=set)
    reblogged: set[int] = field(default_factory=set)
    bookmarked: set[int] = field(default_factory=set)
    # The viewer's own pinned posts on the page.
    pinned: set[int] = field(default_factory=set)
    viewer_id: int | None = None
    # Author of each replied-to status on the page, by that status's id.
    reply_authors: dict[int, int] = field(default_factory=dict)
    emojis: dict[int, list[CustomEmoji]] = field(default_factory=dict)
    reactions: dict[int, list[ReactionCount]] = field(default_factory=dict)
    polls: dict[int, Poll] = field(default_factory=dict)  # by status id
    own_votes: dict[int, list[int]] = field(default_factory=dict)  # the viewer's choices, by poll id
    # The viewer's live filters, and the context (home, public, notifications...) a page is shown in:
    # None applies every filter and hides nothing.
    filters: list[user_filters.ActiveFilter] = field(default_factory=list)
    filter_context: str | None = None


@dataclass(frozen=True)
class ReactionCount:
    """One emoji reacted to a status with: how many reacted with it, and whether the viewer did."""

    name: str  # the Unicode emoji, or the custom emoji's shortcode
    emoji: CustomEmoji | None
    count: int
    me: bool


async def reaction_counts(
    session: AsyncSession, ids: list[int], viewer: Actor | None
) -> dict[int, list[ReactionCount]]:
    """The emoji reactions of each status, in the order they were first given; deleted accounts' left out."""
    viewer_id = viewer.id if viewer is not None else None
    return await session.run_sync(lambda s: reactions_of(s.connection(), ids, viewer_id))


_REACTIONS = (
    select(
        Reaction.status_id, Reaction.name, Reaction.emoji_id, func.count(Reaction.id), func.min(Reaction.id)
    )
    .join(Actor, Actor.id == Reaction.actor_id)
    .where(in_ids(Reaction.status_id), Actor.deleted_at.is_(None))
    .group_by(Reaction.status_id, Reaction.name, Reaction.emoji_id)
    .order_by(func.min(Reaction.id))
)


_EMOJIS_BY_ID = select(CustomEmoji.__table__).where(in_ids(CustomEmoji.id))


_OWN_REACTIONS = select(Reaction.status_id, Reaction.name).where(
    Reaction.actor_id == bindparam("viewer_id"), in_ids(Reaction.status_id)
)


def reactions_of(conn: Connection, ids: list[int], viewer_id: int | None) -> dict[int, list[ReactionCount]]:
    """:func:`reaction_counts` on a synchronous connection (statements built once)."""
    rows = list(conn.execute(_REACTIONS, {"ids": ids}))
    if not rows:
        return {}
    emoji_ids = list({row[2] for row in rows if row[2] is not None})
    found = (
        {e.id: record(e._mapping) for e in conn.execute(_EMOJIS_BY_ID, {"ids": emoji_ids})}
        if emoji_ids
        else {}
    )
    mine: set[tuple[int, str]] = set()
    if viewer_id is not None:
        given = conn.execute(_OWN_REACTIONS, {"viewer_id": viewer_id, "ids": ids})
        mine = {(status_id, name) for status_id, name in given}
    counts: dict[int, list[ReactionCount]] = defaultdict(list)
    for status_id, name, emoji_id, count, _ in rows:
        counts[status_id].append(ReactionCount(name, found.get(emoji_id) if emoji_id else None, int(count),
                                               (status_id, name) in mine))  # fmt: skip
    return counts


async def _counts(session: AsyncSession, column: Any, ids: list[int], *where: Any) -> dict[int, int]:
    rows = await session.execute(select(column, func.count()).where(column.in_(ids), *where).group_by(column))
    return {k: v for k, v in rows}


async def load_context(
    session: AsyncSession, statuses: Iterable[Status], viewer: Actor | None, filter_context: str | None = None
) -> StatusContext:
    """Load what rendering ``statuses`` (ORM rows, and the statuses they boost) needs, counting
    favourites, boosts and replies from their rows. Timelines use
    :func:`fedigen.api.page_rows.load_page_context` instead."""
    ctx = StatusContext(viewer_id=viewer.id if viewer is not None else None, filter_context=filter_context)
    page = list(statuses)
    boosted_ids = [s.reblog_of_id for s in page if s.reblog_of_id is not None]
    if boosted_ids:
        boosted = await session.scalars(select(Status).where(Status.id.in_(boosted_ids)))
        ctx.reblogged_statuses = {s.id: s for s in boosted}
    shown = [s for s in page if s.reblog_of_id is None] + list(ctx.reblogged_statuses.values())
    ids = [s.id for s in shown]
    actor_ids = {s.actor_id for s in page} | {s.actor_id for s in shown}
    if ids:
        for row in await session.scalars(
            select(MediaAttachment)
            .where(MediaAttachment.status_id.in_(ids))
            .order_by(MediaAttachment.position)
        ):
            ctx.media[row.status_id or 0].append(row)
        mention_rows = await session.execute(
            select(Mention.status_id, Actor)
            .join(Actor, Actor.id == Mention.actor_id)
            .where(Mention.status_id.in_(ids))
        )
        for status_id, actor in mention_rows:
            ctx.mentions[status_id].append(actor)
        ctx.favourites = await _counts(session, Favourite.status_id, ids)
        ctx.reblogs = await _counts(session, Status.reblog_of_id, ids, Status.deleted_at.is_(None))
        ctx.replies = await _counts(session, Status.in_reply_to_id, ids, Status.deleted_at.is_(None))
        if viewer is not None:
            mine = Favourite.actor_id == viewer.id
            ctx.favourited = set(
                await session.scalars(select(Favourite.status_id).where(mine, Favourite.status_id.in_(ids)))
            )
            boosts = select(Status.reblog_of_id).where(
                Status.actor_id == viewer.id, Status.reblog_of_id.in_(ids), Status.deleted_at.is_(None)
            )
            ctx.reblogged = {i for i in await session.scalars(boosts) if i is not None}
            marked = Bookmark.account_id == viewer.id
            ctx.bookmarked = set(
                await session.scalars(select(Bookmark.status_id).where(marked, Bookmark.status_id.in_(ids)))
            )
            pinned = StatusPin.account_id == viewer.id
            ctx.pinned = set(
                await session.scalars(select(StatusPin.status_id).where(pinned, StatusPin.status_id.in_(ids)))
            )
    if actor_ids:
        ctx.actors = {a.id: a for a in await session.scalars(select(Actor).where(Actor.id.in_(actor_ids)))}
    await load_rest(session, ctx, shown, viewer)
    return ctx


async def load_rest(
    session: AsyncSession, ctx: StatusContext, shown: Sequence[Any], viewer: Actor | None
) -> None:
    """:func:`load_rest_of` in the session's transaction."""
    viewer_id = viewer.id if viewer is not None else None
    await session.run_sync(lambda s: load_rest_of(s.connection(), ctx, shown, viewer_id))


_PARENT_AUTHORS = select(Status.id, Status.actor_id).where(in_ids(Status.id))


def load_rest_of(
    conn: Connection, ctx: StatusContext, shown: Sequence[Any], viewer_id: int | None,
    *also: Callable[[Connection], None],
) -> None:  # fmt: skip
    """What both loaders read alike: the viewer's filters, the custom emoji, emoji reactions, polls and
    the viewer's votes, who was replied to, and the authors' account counts (statements built once,
    on a synchronous connection), with the caller's own reads ``also``: independent reads, each filling
    its own part of ``ctx``, run through :func:`storage.db.each` (at once on PostgreSQL)."""
    ids = [s.id for s in shown]
    actors = list(ctx.actors)
    actor_emojis: dict[int, list[Any]] = {}
    # Who was replied to: page records know it from their query (``_reply_author``); ORM rows ask.
    for row in shown:
        if row.in_reply_to_id is not None and getattr(row, "_reply_author", None) is not None:
            ctx.reply_authors[row.in_reply_to_id] = row._reply_author
    parent_ids = [
        s.in_reply_to_id for s in shown if s.in_reply_to_id is not None and not hasattr(s, "_reply_author")
    ]
    # Only a Question has a poll (a local poll makes its status one, and a remote poll is only read from
    # a Question), so a page without one asks nothing.
    questions = [s.id for s in shown if s.ap_type == "Question"]

    def filters(c: Connection) -> None:
        ctx.filters = user_filters.active_filters_of(c, viewer_id or 0)

    def linked_emojis(c: Connection) -> None:
        ctx.emojis, found = emojis.linked_emojis_of(c, ids, actors)
        actor_emojis.update(found)

    def reactions(c: Connection) -> None:
        ctx.reactions = reactions_of(c, ids, viewer_id)

    def polls_and_votes(c: Connection) -> None:
        ctx.polls = polls.polls_of_statuses(c, questions)
        if viewer_id is not None and ctx.polls:
            ctx.own_votes = polls.votes_of(c, viewer_id, [p.id for p in ctx.polls.values()])

    def parent_authors(c: Connection) -> None:
        ctx.reply_authors.update({k: v for k, v in c.execute(_PARENT_AUTHORS, {"ids": parent_ids})})

    def stats(c: Connection) -> None:
        ctx.stats = account_stats_of(c, actors, actor_emojis={})  # the emoji: read with the statuses'

    wanted: list[tuple[bool, Callable[[Connection], None]]] = [
        (viewer_id is not None, filters), (bool(ids or actors), linked_emojis), (bool(ids), reactions),
        (bool(questions), polls_and_votes), (bool(parent_ids), parent_authors), (bool(actors), stats),
    ]  # fmt: skip
    each(conn, *also, *(load for needed, load in wanted if needed))
    if actors:
        ctx.stats.emojis = actor_emojis
