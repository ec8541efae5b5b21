"""The durable queues: the columns every queue table shares (:class:`QueueMixin`), and claiming and
finishing their rows, on SQLite and PostgreSQL alike.

A row is ``queued`` until a worker claims it (``running`` with a lease in ``locked_until``); a row whose
lease ran out (its worker died) is claimable again, so a crash mid-job resumes. PostgreSQL claims with
``FOR UPDATE SKIP LOCKED`` so several workers never take the same row; SQLite has one writer at a time,
so a single conditional ``UPDATE ... RETURNING`` is already exclusive.

While a worker runs the rows it claimed, :func:`held` renews their lease every third of it, so a lease
can be short (a dead worker's rows come back soon) however long the work takes. Whoever claimed a row
records its result only if the row is still running under the same attempt count (``attempts`` is
the claim's fencing token): a worker whose lease ran out anyway (stalled, cut off from the database)
finds the row taken over and records nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Integer, Text, and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import BigId, utcnow
from storage.vocabulary import QueueState, StrEnumColumn


class QueueMixin:
    """The columns every durable queue shares (docs/architecture.md, "Durable work")."""

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    state: Mapped[QueueState] = mapped_column(StrEnumColumn(QueueState), default=QueueState.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


Q = TypeVar("Q", bound=QueueMixin)
log = logging.getLogger(__name__)

QUEUED = QueueState.QUEUED
RUNNING = QueueState.RUNNING
DONE = QueueState.DONE
FAILED = QueueState.FAILED
CANCELLED = QueueState.CANCELLED


async def claim(
    session: AsyncSession, model: type[Q], *, limit: int, lease: timedelta, now: datetime | None = None,
    per_host: int = 0, skip_hosts: Collection[str] = (), columns: Sequence[Any] = (),
) -> Sequence[Any]:  # fmt: skip
    """Claim up to ``limit`` due rows of ``model``, marking them running under a lease.

    With ``per_host`` (for models with a ``host`` column), at most that many rows of each host are
    taken, and none of ``skip_hosts``: one busy host cannot fill a whole batch. Returns the claimed rows
    as ``model`` objects, or, given ``columns``, as plain rows of those columns only (what the workers
    do: a fan-out claims hundreds of deliveries at a time, and ORM objects cost far more to build).
    """
    now = now or utcnow()
    due = or_(
        and_(model.state == QUEUED, model.next_attempt_at <= now),
        and_(model.state == RUNNING, model.locked_until < now),
    )
    if per_host:
        host = getattr(model, "host")  # noqa: B009 - a column only some queue models have
        rank = func.row_number().over(partition_by=host, order_by=(model.next_attempt_at, model.id))
        ranked = (
            select(model.id, model.next_attempt_at, rank.label("rank"))
            .where(due, host.not_in(list(skip_hosts)) if skip_hosts else due)
            .subquery()
        )
        ids = (
            select(ranked.c.id).where(ranked.c.rank <= per_host)
            .order_by(ranked.c.next_attempt_at, ranked.c.id).limit(limit)
        )  # fmt: skip
        # No row lock can go with a window function: the UPDATE below checks ``due`` again, so two
        # workers racing for a row cannot both take it (the second finds it running).
    else:
        ids = select(model.id).where(due).order_by(model.next_attempt_at, model.id).limit(limit)
        if session.bind is not None and session.bind.dialect.name == "postgresql":
            ids = ids.with_for_update(skip_locked=True)
    stmt = (
        update(model)
        .where(model.id.in_(ids.scalar_subquery()), due)
        .values(state=RUNNING, locked_until=now + lease, attempts=model.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if columns:
        return list(await session.execute(stmt.returning(*columns)))
    return list((await session.execute(stmt.returning(model))).scalars().all())


def mark_done(row: QueueMixin, now: datetime | None = None) -> None:
    """Record success."""
    row.state = DONE
    row.locked_until = None
    row.last_error = None
    row.finished_at = now or utcnow()


def mark_retry(row: QueueMixin, next_attempt_at: datetime, error: str) -> None:
    """Put the row back in the queue for a later attempt."""
    row.state = QUEUED
    row.locked_until = None
    row.next_attempt_at = next_attempt_at
    row.last_error = error[:2000]


def mark_failed(row: QueueMixin, error: str, now: datetime | None = None) -> None:
    """Give up on the row for good."""
    row.state = FAILED
    row.locked_until = None
    row.last_error = error[:2000]
    row.finished_at = now or utcnow()


async def purge(session: AsyncSession, model: type[QueueMixin], *, finished_before: datetime) -> int:
    """Delete rows that finished (done, failed or cancelled) before ``finished_before``; returns how many.

    Queues are work lists, not archives: what must be kept (the activities we published, received
    activities' effects, generated images) lives in its own tables.
    """
    result = await session.execute(
        delete(model)
        .where(model.state.in_((DONE, FAILED, CANCELLED)), model.finished_at < finished_before)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def renew(
    sessions: async_sessionmaker[AsyncSession], model: type[QueueMixin], claims: Mapping[int, int],
    lease: timedelta,
) -> None:  # fmt: skip
    """Extend the lease of the rows still running under these claims (row id -> attempt count)."""
    by_attempt: dict[int, list[int]] = defaultdict(list)
    for row_id, attempt in claims.items():
        by_attempt[attempt].append(row_id)
    async with sessions() as session, session.begin():
        for attempt, ids in by_attempt.items():
            await session.execute(
                update(model)
                .where(model.id.in_(ids), model.state == RUNNING, model.attempts == attempt)
                .values(locked_until=utcnow() + lease)
                .execution_options(synchronize_session=False)
            )


@contextlib.asynccontextmanager
async def held(
    sessions: async_sessionmaker[AsyncSession], model: type[QueueMixin], claims: Mapping[int, int],
    lease: timedelta,
) -> AsyncIterator[None]:  # fmt: skip
    """Renew the lease of the claimed rows every third of it while the block runs."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(lease.total_seconds() / 3)
            try:
                await renew(sessions, model, claims, lease)
            except Exception as exc:  # the next beat tries again; past the lease, the rows go
                log.warning("renewing the lease of %d %s rows failed: %s", len(claims), model.__name__, exc)

    task = asyncio.create_task(beat()) if claims else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
