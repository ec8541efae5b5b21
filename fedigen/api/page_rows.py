"""Timeline pages read as SQLAlchemy Core rows: the page of statuses with their authors in one query,
then what rendering them needs in a fixed handful more (the page's counters from ``status_counts`` in
one, the viewer's flags in one), rendered into the same Status entities as :mod:`fedigen.api.entities`
renders from ORM objects (tests/api/test_timeline_rendering.py compares the two).

The loaders are synchronous functions of a :class:`~sqlalchemy.Connection` running statements built
once (their ids and viewer bound at execution, so SQLAlchemy neither builds nor keys them again per
request): :class:`storage.db.SyncReader` runs a whole page in one synchronous read on SQLite,
and the async wrappers here run them in an ``AsyncSession``'s transaction through ``run_sync``."""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import BigInteger, Connection, bindparam, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from fedigen.api import status_context, status_entities
from fedigen.api.status_context import StatusContext
from fedigen.services import Services
from fedigen.social import counts, timelines
from storage.clients import Bookmark
from storage.models import Actor, Favourite, MediaAttachment, Mention, Status, StatusPin
from storage.records import Record, in_ids, record

__all__ = ["Record", "record"]

# What a page renders from: not the addressing (``to``, ``cc``: federation's, and decoded JSON on every
# row), nor the authors' keys (a local author's private key has no business in a timeline read) and
# federation endpoints. Fewer columns fetched and decoded: the home page at 1,000,000 statuses went from
# p50 11.6 to 8.0 ms on SQLite and 19 to 13 ms on PostgreSQL.
_UNRENDERED = {
    "to", "cc", "in_reply_to_ap_id", "public_key_pem", "private_key_pem", "public_key_id", "inbox_url",
    "shared_inbox_url", "outbox_url", "followers_url", "following_url", "featured_url", "featured_synced_at",
    "also_known_as",
}  # fmt: skip
_STATUS_COLUMNS = [c for c in Status.__table__.c if c.name not in _UNRENDERED]
_AUTHOR_PREFIX = "author__"
_ACTOR_COLUMNS = [c for c in Actor.__table__.c if c.name not in _UNRENDERED]
_AUTHOR_COLUMNS = [c.label(_AUTHOR_PREFIX + c.name) for c in _ACTOR_COLUMNS]
_PARENT = aliased(Status, name="replied_to")
_REPLY_AUTHOR = "reply_author__"
VIEWER = bindparam("viewer_id", type_=BigInteger)


def _status_and_author(row: Any) -> tuple[Any, Any]:
    return _split(tuple(row._fields))(row)


@functools.cache
def _split(fields: tuple[str, ...]) -> Callable[[Any], tuple[Any, Any]]:
    """How a :func:`with_authors` row of these columns becomes a status and its author: which columns go
    to each and under which name, worked out once per statement shape; per row only C-level picking
    and zipping (a page of 40 rows of some 60 columns each)."""
    status_at: list[int] = []
    status_names: list[str] = []
    author_at: list[int] = []
    author_names: list[str] = []
    for at, key in enumerate(fields):
        if key == _REPLY_AUTHOR:
            status_at.append(at)
            status_names.append("_reply_author")
        elif key.startswith(_AUTHOR_PREFIX):
            author_at.append(at)
            author_names.append(key[len(_AUTHOR_PREFIX) :])
        else:
            status_at.append(at)
            status_names.append(key)
    pick_status, pick_author = operator.itemgetter(*status_at), operator.itemgetter(*author_at)

    def split(row: Any) -> tuple[Any, Any]:
        status, author = Record(), Record()
        status.__dict__.update(zip(status_names, pick_status(row), strict=True))
        author.__dict__.update(zip(author_names, pick_author(row), strict=True))
        return status, author

    return split


def with_authors(query: Any) -> Any:
    """A ``select(Status)`` query as Core: each status's columns, its author's, and the author of the
    status it replies to, in one query."""
    columns = (*_STATUS_COLUMNS, *_AUTHOR_COLUMNS, _PARENT.actor_id.label(_REPLY_AUTHOR))
    return (
        query.with_only_columns(*columns, maintain_column_froms=False)
        .join_from(Status, Actor, Actor.id == Status.actor_id)
        .outerjoin_from(Status, _PARENT, _PARENT.id == Status.in_reply_to_id)
    )


def records(result: Iterable[Any]) -> list[Any]:
    """The rows of a :func:`with_authors` statement as :class:`Record` statuses, each with its author as
    ``_author``."""
    out = []
    split = None
    for row in result:
        if split is None:
            split = _split(tuple(row._fields))
        status, author = split(row)
        status._author = author
        out.append(status)
    return out


async def page_records(session: AsyncSession, query: Any) -> list[Any]:
    """The statuses a ``select(Status)`` query finds (with its page applied), as :class:`Record` rows,
    each with its author as ``_author``; one query, no ORM objects."""
    await timelines.plan_for_parameters(session)
    statement = with_authors(query)
    return await session.run_sync(lambda s: records(s.connection().execute(statement)))


_BOOSTED = with_authors(select(Status).where(in_ids(Status.id)))
_MEDIA = (
    select(MediaAttachment.__table__)
    .where(in_ids(MediaAttachment.__table__.c.status_id))
    .order_by(MediaAttachment.__table__.c.position)
)
_MENTIONS = (
    select(Mention.status_id, *_ACTOR_COLUMNS)
    .join(Actor, Actor.id == Mention.actor_id)
    .where(in_ids(Mention.status_id))
)


def _flags() -> Any:
    mine: list[Any] = [
        select(Favourite.status_id, literal("f")).where(
            Favourite.actor_id == VIEWER, in_ids(Favourite.status_id)
        ),
        select(Status.reblog_of_id, literal("r")).where(
            Status.actor_id == VIEWER, in_ids(Status.reblog_of_id), Status.deleted_at.is_(None)
        ),
        select(Bookmark.status_id, literal("b")).where(
            Bookmark.account_id == VIEWER, in_ids(Bookmark.status_id)
        ),
        select(StatusPin.status_id, literal("p")).where(
            StatusPin.account_id == VIEWER, in_ids(StatusPin.status_id)
        ),
    ]
    return union_all(*mine)


# The viewer's own favourites, boosts, bookmarks and pins among a page's statuses, in one query.
_FLAGS = _flags()


def page_context(
    conn: Connection, page: Sequence[Any], viewer_id: int | None, filter_context: str | None = None
) -> StatusContext:
    """What rendering a timeline page of :func:`records` needs: the boosted statuses with their authors
    in one query, then, at once on PostgreSQL (:func:`storage.db.each`), the media and the mentions in
    one each, the counters of the whole page in one (``status_counts``), the viewer's favourited,
    boosted, bookmarked and pinned flags in one, and :func:`status_context.load_rest_of`'s."""
    ctx = StatusContext(viewer_id=viewer_id, filter_context=filter_context)
    ctx.actors = {s.actor_id: s._author for s in page}
    boosted_ids = [s.reblog_of_id for s in page if s.reblog_of_id is not None]
    if boosted_ids:
        for row in conn.execute(_BOOSTED, {"ids": boosted_ids}):
            status, author = _status_and_author(row)
            ctx.reblogged_statuses[status.id] = status
            ctx.actors[author.id] = author
    shown = [s for s in page if s.reblog_of_id is None] + list(ctx.reblogged_statuses.values())
    ids = [s.id for s in shown]

    def media(c: Connection) -> None:
        for row in c.execute(_MEDIA, {"ids": ids}):
            ctx.media[row.status_id or 0].append(record(row._mapping))

    def mentions(c: Connection) -> None:
        for row in c.execute(_MENTIONS, {"ids": ids}):
            fields = dict(row._mapping)
            ctx.mentions[fields.pop("status_id")].append(record(fields))

    def status_counts(c: Connection) -> None:
        for status_id, found in counts.of_statuses(c, ids).items():
            ctx.favourites[status_id], ctx.reblogs[status_id] = found.favourites, found.reblogs
            ctx.replies[status_id] = found.replies

    def flags(c: Connection) -> None:
        into = {"f": ctx.favourited, "r": ctx.reblogged, "b": ctx.bookmarked, "p": ctx.pinned}
        for status_id, kind in c.execute(_FLAGS, {"viewer_id": viewer_id, "ids": ids}):
            if status_id is not None:
                into[kind].add(status_id)

    also = [media, mentions, status_counts, *([flags] if viewer_id is not None else [])] if ids else []
    status_context.load_rest_of(conn, ctx, shown, viewer_id, *also)
    return ctx


async def load_page_context(
    session: AsyncSession, page: Sequence[Any], viewer: Actor | None, filter_context: str | None = None
) -> StatusContext:
    """:func:`page_context` in the session's transaction."""
    viewer_id = viewer.id if viewer is not None else None
    return await session.run_sync(lambda s: page_context(s.connection(), page, viewer_id, filter_context))


async def timeline_statuses(
    svc: Services, session: AsyncSession, rows: Sequence[Any], viewer: Actor | None,
    filter_context: str | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """:func:`fedigen.api.status_entities.statuses` for a timeline page read by :func:`page_records`
    (Core rows, counters from ``status_counts``): the same JSON, in a fixed handful of queries."""
    # No cache of rendered statuses: measured on a 200,000-status database (2 cores, SQLite), turning
    # a loaded page of 40 into JSON took about 3 ms of a request near 30 times that, nearly all of it
    # the queries' round trips to the database thread. A cache by (id, edited_at) could save at most
    # those 3 ms, and its entries embed the author's account (counts, name, avatar), which change
    # without an edit of the status.
    return status_entities.render_page(
        svc, rows, await load_page_context(session, rows, viewer, filter_context)
    )
