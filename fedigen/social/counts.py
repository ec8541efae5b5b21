"""The per-status counters (``status_counts``): favourites, boosts, replies and remixes.

The use-cases that add or take away what is counted move the counter in the same transaction
(:func:`bump`: an upsert adding to the stored value, so two transactions counting the same status at
once both count on PostgreSQL too). The bulk deletions of whole accounts, which touch many statuses
at once, count the statuses they touched again from the rows (:func:`recount`). A page of statuses
reads its counts with :func:`of` in one query by primary key.

What is counted (the definitions :func:`recount` and the migration that filled the table share):
favourites rows; live boosts (``reblog_of_id``, not deleted); live replies (``in_reply_to_id``, not
deleted); remixes recorded with the status as their parent (``remixes.parent_status_id``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import Favourite, Remix, Status, StatusCount
from storage.records import in_ids

COLUMNS = ("favourites", "reblogs", "replies", "remixes")


@dataclass(frozen=True)
class Counts:
    """One status's counters (never below zero)."""

    favourites: int = 0
    reblogs: int = 0
    replies: int = 0
    remixes: int = 0


ZERO = Counts()


def _upsert(session: AsyncSession) -> Any:
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


async def bump(
    session: AsyncSession, status_id: int | None, *, favourites: int = 0, reblogs: int = 0, replies: int = 0,
    remixes: int = 0,
) -> None:  # fmt: skip
    """Add to a status's counters (negative to take away), creating its row when it has none."""
    if status_id is None:
        return
    deltas = {"favourites": favourites, "reblogs": reblogs, "replies": replies, "remixes": remixes}
    deltas = {k: v for k, v in deltas.items() if v}
    if not deltas:
        return
    table = StatusCount.__table__
    statement = _upsert(session)(table).values(
        status_id=status_id, **{k: max(0, v) for k, v in deltas.items()}
    )
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.status_id],
        set_={k: table.c[k] + v for k, v in deltas.items()},
    )
    await session.execute(statement)


async def recount(session: AsyncSession, status_ids: Iterable[int | None]) -> None:
    """Count these statuses again from the rows (after a bulk deletion touched them); those gone are
    left alone (their counters went with them)."""
    ids = sorted({i for i in status_ids if i is not None})
    for start in range(0, len(ids), 500):
        chunk = list(await session.scalars(select(Status.id).where(Status.id.in_(ids[start : start + 500]))))
        if not chunk:
            continue
        found = await _counted(session, chunk)
        table = StatusCount.__table__
        rows = [{"status_id": i, **{k: found.get(i, {}).get(k, 0) for k in COLUMNS}} for i in chunk]
        statement = _upsert(session)(table).values(rows)
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.status_id], set_={k: statement.excluded[k] for k in COLUMNS}
        )
        await session.execute(statement)


async def _counted(session: AsyncSession, ids: list[int]) -> dict[int, dict[str, int]]:
    boost, reply = aliased(Status), aliased(Status)
    queries = {
        "favourites": select(Favourite.status_id, func.count()).where(Favourite.status_id.in_(ids))
        .group_by(Favourite.status_id),
        "reblogs": select(boost.reblog_of_id, func.count()).where(boost.reblog_of_id.in_(ids),
                                                                  boost.deleted_at.is_(None))
        .group_by(boost.reblog_of_id),
        "replies": select(reply.in_reply_to_id, func.count()).where(reply.in_reply_to_id.in_(ids),
                                                                    reply.deleted_at.is_(None))
        .group_by(reply.in_reply_to_id),
        "remixes": select(Remix.parent_status_id, func.count()).where(Remix.parent_status_id.in_(ids))
        .group_by(Remix.parent_status_id),
    }  # fmt: skip
    out: dict[int, dict[str, int]] = {}
    for name, query in queries.items():
        for status_id, count in await session.execute(query):
            if status_id is not None:
                out.setdefault(status_id, {})[name] = int(count)
    return out


async def of(session: AsyncSession, status_ids: Iterable[int]) -> dict[int, Counts]:
    """The counters of many statuses, in one query (a status without a row counts zero everywhere)."""
    ids = list(status_ids)
    if not ids:
        return {}
    return _counts(await session.execute(_OF, {"ids": ids}))


# Built once; the statuses' ids bound at execution.
_OF = select(StatusCount.__table__).where(in_ids(StatusCount.__table__.c.status_id))


def of_statuses(conn: Connection, status_ids: Iterable[int]) -> dict[int, Counts]:
    """:func:`of` on a synchronous connection."""
    ids = list(status_ids)
    return _counts(conn.execute(_OF, {"ids": ids})) if ids else {}


def _counts(rows: Iterable[Any]) -> dict[int, Counts]:
    return {
        row.status_id: Counts(*(max(0, int(getattr(row, k))) for k in COLUMNS))  # never shown below zero
        for row in rows
    }


async def touched_by_account(session: AsyncSession, actor_id: int) -> set[int]:
    """The statuses an account's favourites, boosts, replies and remixes count toward (to :func:`recount`
    after deleting the account's rows)."""
    own = select(Status.id).where(Status.actor_id == actor_id)
    queries = [
        select(Favourite.status_id).where(Favourite.actor_id == actor_id),
        select(Status.reblog_of_id).where(Status.actor_id == actor_id, Status.reblog_of_id.is_not(None)),
        select(Status.in_reply_to_id).where(Status.actor_id == actor_id, Status.in_reply_to_id.is_not(None)),
        select(Remix.parent_status_id).where(
            Remix.child_status_id.in_(own), Remix.parent_status_id.is_not(None)
        ),
    ]
    found: set[int] = set()
    for query in queries:
        found.update(i for i in await session.scalars(query) if i is not None)
    return found
