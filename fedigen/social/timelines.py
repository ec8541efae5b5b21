"""Reading statuses: who may see what, the home, public and tag timelines, threads, and saved lists.

Every timeline is one indexed query for a page of ids in descending order (keyset pagination, never
OFFSET): the home timeline walks ``ix_statuses_actor_id_id`` for the viewer and the accounts they
follow, the public ones ``ix_statuses_visibility_local_id``. Rendering the page is the entities'
business (a fixed number of batch queries).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    String,
    bindparam,
    cast,
    exists,
    literal,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from fedigen.social import domains
from fedigen.social.standing import limited, suspended
from fedigen.social.visibility import can_see, followed_by
from storage.clients import AccountDomainBlock, AccountList, Bookmark, ListAccount, Mute, TagFollow
from storage.db import CUSTOM_PLANS
from storage.models import Actor, Block, Favourite, Follow, MediaAttachment, Status, StatusTag
from storage.vocabulary import Visibility

MAX_ANCESTORS = 40
MAX_DESCENDANTS = 60
LIVE = Status.deleted_at.is_(None)


def home_query(
    viewer_id: int | ColumnElement[int], dialect: str = "sqlite", *, exclusions: bool = True
) -> Any:
    """The viewer's own statuses and boosts, and those of the accounts they follow (not direct ones)
    but not of members of their exclusive lists; nothing from domains they blocked. Public posts with
    hashtags they follow are ``followed_tags_query``, read beside it (a second indexed query is far
    cheaper on SQLite than an OR of the two). ``viewer_id`` may be a bound parameter (a statement built
    once for every viewer); ``dialect`` the database's name (each plans the authors best its own way).

    ``exclusions=False``: without the viewer's mutes, exclusive lists and domain blocks, for a viewer
    who has none (:func:`home_facts_of` says), where those clauses hold for every status anyway. Each is
    a subquery PostgreSQL plans again on every page: measured on 1,000,000 statuses, planning the home
    query took 0.41 ms without them against 1.09 ms with them, and running it 0.51 against 0.63 ms."""
    if dialect == "postgresql":
        # An OR of the follows and the viewer: PostgreSQL walks the statuses newest first testing each
        # author against a hashed subplan. The IN of a UNION below it plans there as a nested loop that
        # compares every status read with every follow: 109 ms instead of 0.9 ms for a page with 300 of
        # 5,000 authors followed and 1,000,000 statuses (EXPLAIN ANALYZE, benchmarks/home_timeline.py).
        authors = or_(Status.actor_id.in_(followed_by(viewer_id)), Status.actor_id == viewer_id)
    else:
        # One IN over (follows + self) rather than an OR: SQLite then walks ix_statuses_actor_id_id per
        # author instead of a multi-index OR over the whole table (see benchmarks/home_timeline.py).
        me = viewer_id if isinstance(viewer_id, ColumnElement) else literal(viewer_id, BigInteger)
        authors = Status.actor_id.in_(followed_by(viewer_id).union_all(select(me)))
    query = select(Status).where(
        authors,
        or_(Status.visibility != Visibility.DIRECT, Status.actor_id == viewer_id),
        Status.actor_id.not_in(suspended()),
        LIVE,
    )
    if not exclusions:
        return query
    muted = select(Mute.target_id).where(Mute.account_id == viewer_id)
    return query.where(
        Status.actor_id.not_in(muted),
        Status.actor_id.not_in(exclusive_list_members(viewer_id)),
        Status.actor_id.not_in(domain_blocked_accounts(viewer_id)),
        not_boosting_blocked_domains(viewer_id),
    )


@functools.cache
def _home_facts() -> Any:
    """The hashtags the viewer follows (a row each, ``name``), then one row (``name`` NULL) saying
    whether any of their mutes, exclusive lists or domain blocks can hide a status of their home."""
    viewer = bindparam("viewer_id", type_=BigInteger)
    excluding = or_(
        exists().where(Mute.account_id == viewer),
        exists(exclusive_list_members(viewer)),
        exists().where(AccountDomainBlock.account_id == viewer),
    )
    followed = select(TagFollow.name, literal(False)).where(TagFollow.account_id == viewer)
    return union_all(followed, select(literal(None, String), excluding))


def home_facts_of(conn: Connection, viewer_id: int) -> tuple[list[str], bool]:
    """What the viewer's home page is read with, in one statement: the hashtags they follow
    (``followed_tags_query``), and whether ``home_query`` needs its exclusions (see there)."""
    names: list[str] = []
    excluding = True
    for name, flag in conn.execute(_home_facts(), {"viewer_id": viewer_id}):
        if name is None:
            excluding = bool(flag)
        else:
            names.append(name)
    return names, excluding


def followed_tags_query(
    viewer_id: int | ColumnElement[int], followed_tags: Sequence[str] | ColumnElement[Any]
) -> Any:
    """Public posts (not boosts) carrying one of ``followed_tags`` (``tags.followed_names``), for the
    home timeline, without the accounts and domains the viewer blocked or muted.

    Driven by ix_status_tags_name; the visibility test is a CAST, which no index serves, so SQLite never
    starts from every public post instead. Both may be bound parameters (an expanding one for the tags,
    given lowercased).
    """
    names = followed_tags if isinstance(followed_tags, ColumnElement) else [t.lower() for t in followed_tags]
    tagged = select(StatusTag.status_id).where(StatusTag.name.in_(names))
    hidden = (
        select(Block.target_id)
        .where(Block.actor_id == viewer_id)
        .union(select(Mute.target_id).where(Mute.account_id == viewer_id))
    )
    return select(Status).where(
        Status.id.in_(tagged),
        cast(Status.visibility, String) == Visibility.PUBLIC.value,
        Status.reblog_of_id.is_(None),
        Status.actor_id.not_in(hidden),
        Status.actor_id.not_in(exclusive_list_members(viewer_id)),
        Status.actor_id.not_in(domain_blocked_accounts(viewer_id)),
        LIVE,
    )


# The id windows a newest-first home page is read in, widest last (then no window at all): see
# ``recent``. 1,024 ids hold a page of 40 when one stored status in 25 is the viewer's to see (an
# instance stores little but what its accounts follow); each wider window is one more cheap query.
HOME_WINDOWS = (1_024, 16_384, 262_144)


def recent(query: Any, low: int | ColumnElement[int]) -> Any:
    """``query`` kept to the ids from ``low`` up (a page's cursor sets the top).

    The home timeline's authors are many (every account followed): without a lower bound, SQLite
    (whose plan is a seek per author) reads every status of every one of them to sort out the newest
    40: 60,000 rows for 300 authors of 5,000 with a million statuses. With one, each author's seek
    reads only the window, and a page that fills from the window is exactly the page without it, since
    all else is older.
    """
    return query.where(Status.id >= low)


async def plan_for_parameters(session: AsyncSession) -> None:
    """On PostgreSQL, have this transaction's statements planned for their own parameters.

    The timeline queries run as prepared statements; after five runs PostgreSQL may switch to a
    generic plan, made without knowing whose timeline it is, and for the home query that plan reads
    and sorts every status: about 1 s instead of 5 ms on 20,000 statuses (see
    benchmarks/home_timeline.py). ``SET LOCAL`` lasts until the transaction ends; once per transaction.
    """
    if session.bind is None or session.bind.dialect.name != "postgresql":
        return
    marker = "fedigen_custom_plans"
    if session.in_transaction() and session.info.get(marker) is session.get_transaction():
        return
    await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    session.info[marker] = session.get_transaction()


def plan_for_parameters_of(conn: Connection) -> None:
    """:func:`plan_for_parameters` for a synchronous connection's transaction (every time: the
    transaction is the caller's one read), unless the connection plans so already (``SyncReader``)."""
    if conn.dialect.name == "postgresql" and not conn.get_execution_options().get(CUSTOM_PLANS, False):
        conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")


def merge_pages(pages: Sequence[Sequence[Status]], limit: int, *, ascending: bool = False) -> list[Status]:
    """Several keyset pages of the same cursor as one: by id (newest first unless ``ascending``), each
    status once, ``limit`` of them."""
    seen: dict[int, Status] = {}
    for rows in pages:
        for row in rows:
            seen.setdefault(row.id, row)
    return sorted(seen.values(), key=lambda r: r.id, reverse=not ascending)[:limit]


def exclusive_list_members(viewer_id: int | ColumnElement[int]) -> Any:
    """The ids of the accounts on the viewer's exclusive lists (their posts stay out of home)."""
    return (
        select(ListAccount.account_id)
        .join(AccountList, AccountList.id == ListAccount.list_id)
        .where(
            AccountList.account_id == viewer_id,
            AccountList.exclusive.is_(True),
            ListAccount.account_id != viewer_id,
        )
    )


def domain_blocked_accounts(viewer_id: int | ColumnElement[int]) -> Any:
    """The ids of the accounts on domains the viewer blocked for themselves."""
    domains = select(AccountDomainBlock.domain).where(AccountDomainBlock.account_id == viewer_id)
    return select(Actor.id).where(Actor.domain.in_(domains))


def not_boosting_blocked_domains(viewer_id: int | ColumnElement[int]) -> Any:
    """Not a boost of a post from a domain the viewer blocked."""
    boosted = aliased(Status)
    return ~exists().where(
        boosted.id == Status.reblog_of_id, boosted.actor_id.in_(domain_blocked_accounts(viewer_id))
    )


def list_query(owner_id: int, list_id: int, replies_policy: str) -> Any:
    """Statuses and boosts of a list's members (accounts the owner follows or asked to follow, and the
    owner), with replies as ``replies_policy`` says: "followed" (to accounts the owner follows), "list"
    (to members), "none"; replies to oneself and to the owner always show, as on Mastodon."""
    requested = select(Follow.followee_id).where(Follow.follower_id == owner_id)
    members = select(ListAccount.account_id).where(
        ListAccount.list_id == list_id,
        or_(ListAccount.account_id.in_(requested), ListAccount.account_id == owner_id),
    )
    parent = aliased(Status)
    replies = [
        Status.in_reply_to_id.is_(None),
        parent.actor_id == Status.actor_id,
        parent.actor_id == owner_id,
    ]
    if replies_policy == "followed":
        replies.append(parent.actor_id.in_(followed_by(owner_id)))
    elif replies_policy == "list":
        replies.append(parent.actor_id.in_(members))
    muted = select(Mute.target_id).where(Mute.account_id == owner_id)
    return (
        select(Status)
        .outerjoin(parent, parent.id == Status.in_reply_to_id)
        .where(
            Status.actor_id.in_(members),
            or_(
                Status.visibility.in_([Visibility.PUBLIC, Visibility.UNLISTED]),
                Status.actor_id.in_(followed_by(owner_id)),
                Status.actor_id == owner_id,
            ),
            or_(*replies),
            Status.actor_id.not_in(muted),
            Status.actor_id.not_in(domain_blocked_accounts(owner_id)),
            not_boosting_blocked_domains(owner_id),
            LIVE,
        )
    )


def public_query(*, local: bool = False, remote: bool = False, only_media: bool = False) -> Any:
    """Public statuses (no boosts), optionally only local, only remote, or only with media."""
    query = select(Status).where(Status.visibility == Visibility.PUBLIC, Status.reblog_of_id.is_(None), LIVE,
                                 Status.actor_id.not_in(limited()))  # fmt: skip
    # Suspended and silenced domains' posts are not in public timelines.
    query = query.where(
        or_(
            Status.local.is_(True),
            ~domains.author_on_domains(Status.actor_id, domains.SUSPEND, domains.SILENCE),
        )
    )
    if local:
        query = query.where(Status.local.is_(True))
    elif remote:
        query = query.where(Status.local.is_(False))
    if only_media:
        has_rows = exists().where(MediaAttachment.status_id == Status.id)
        query = query.where(or_(has_rows, cast(Status.attachments, String).not_in(["[]", "null"])))
    return query


def account_query(
    account_id: int, allowed: Any, *, exclude_replies: bool = False, exclude_reblogs: bool = False,
    only_media: bool = False,
) -> Any:  # fmt: skip
    """An account's statuses and boosts that ``allowed`` (``visibility.visible_to`` the viewer) lets
    through, optionally without replies, without boosts, or only those with media."""
    query = select(Status).where(Status.actor_id == account_id, LIVE, allowed)
    if exclude_replies:
        query = query.where(Status.in_reply_to_ap_id.is_(None))
    if exclude_reblogs:
        query = query.where(Status.reblog_of_id.is_(None))
    if only_media:
        query = query.where(exists().where(MediaAttachment.status_id == Status.id))
    return query


def tag_query(tag: str, *, local: bool = False, only_media: bool = False) -> Any:
    """Public statuses carrying a hashtag."""
    name = tag.lstrip("#").lower()
    tagged = select(StatusTag.status_id).where(StatusTag.name == name)
    return public_query(local=local, only_media=only_media).where(Status.id.in_(tagged))


def without_blocked(query: Any, viewer_id: int | None) -> Any:
    """Leave out statuses of accounts the viewer blocked or muted, or on domains they blocked."""
    if viewer_id is None:
        return query
    hidden = (
        select(Block.target_id)
        .where(Block.actor_id == viewer_id)
        .union(select(Mute.target_id).where(Mute.account_id == viewer_id))
    )
    return query.where(
        Status.actor_id.not_in(hidden), Status.actor_id.not_in(domain_blocked_accounts(viewer_id))
    )


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
