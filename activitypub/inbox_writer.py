"""The inbox writer: accepted activities stored in groups, each POST answered once its row is durable.

One writer per process. An inbox POST that passed its checks (:func:`activitypub.inbox.receive`) hands
its row to :meth:`InboxWriter.submit` and waits; the writer takes what has arrived, up to ``max_items``
rows or ``interval`` seconds after the first, and stores the group in one transaction with SQLAlchemy
Core on a connection of its own (no ORM session, no pool checkout): one ``INSERT ... ON CONFLICT
(activity_ap_id) DO NOTHING RETURNING`` with the group's rows (sent as multi-row VALUES), the same
statement on SQLite and PostgreSQL. Only after the commit does each waiting request learn its outcome,
so a 202 is never given for a row a crash could lose.

In the same transaction, before the insert, the group is checked against what may have changed since
its requests were checked (other processes commit too): the domain policies' version counter (read
here, so a suspension committed anywhere refuses the very next POST) and whether a sender was deleted
or suspended as an account. Dedupe holds within a group (the first of the same id wins; the others
are duplicates) and across groups (the unique activity id).

A failed commit answers every request of its group with :class:`InboxUnavailableError` (503, so the
sender retries). When the database refused a row (an integrity or data error), the group's rows are
tried again one by one first, so one bad row cannot refuse the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Table, bindparam, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from activitypub.domains import DomainPolicies
from activitypub.errors import BlockedError, InboxUnavailableError
from storage.db import sync_sqlite_connection
from storage.models import Actor, InboxItem, ModerationVersion

log = logging.getLogger(__name__)
INBOX_ITEMS: Table = InboxItem.__table__  # type: ignore[assignment]


@dataclass
class Accepted:
    """One checked activity waiting for the writer; ``hosts`` are the URLs whose domains were checked."""

    row: dict[str, Any]
    hosts: Sequence[str]
    outcome: asyncio.Future[bool] = field(default_factory=lambda: asyncio.get_running_loop().create_future())

    def settle(self, new: bool | None = None, error: BaseException | None = None) -> None:
        # A request whose client went away cancelled its future; its row is stored all the same.
        if self.outcome.done():
            return
        if error is not None:
            self.outcome.set_exception(error)
        else:
            self.outcome.set_result(bool(new))


class InboxWriter:
    """Commits accepted inbox rows in groups (see the module docstring); ``aclose`` flushes and stops."""

    def __init__(
        self,
        engine: AsyncEngine,
        domains: DomainPolicies,
        *,
        interval: float = 0.002,
        max_items: int = 256,
        on_stored: Callable[[], None] | None = None,
    ) -> None:
        self.engine = engine
        # Called after a group stored new rows (the composition root announces work to every process).
        self.on_stored = on_stored
        self.domains = domains
        self.interval = interval
        self.max_items = max_items
        self._waiting: list[Accepted] = []
        self._arrived = asyncio.Event()
        self._full = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._conn: AsyncConnection | None = None  # the writer's own: no pool checkout per group
        self._sync: Connection | None = None  # SQLite: a plain connection, used from a worker thread
        self._closing = False
        self.groups = 0  # committed groups, for tests and benchmarks

    async def submit(self, row: dict[str, Any], hosts: Sequence[str] = ()) -> bool:
        """Store ``row`` (InboxItem's columns) with the next group; True when new, False for a duplicate.

        Raises BlockedError when the sender turned out refused at commit time, InboxUnavailableError
        when the row could not be stored (or the writer is closing).
        """
        if self._closing:
            raise InboxUnavailableError("the server is shutting down; try again")
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="inbox-writer")
        item = Accepted(row, hosts)
        self._waiting.append(item)
        self._arrived.set()
        if len(self._waiting) >= self.max_items:
            self._full.set()
        return await item.outcome

    async def aclose(self) -> None:
        """Store every row already handed over, then stop (the app's lifespan end)."""
        self._closing = True
        self._arrived.set()
        self._full.set()
        if self._task is not None:
            await self._task
            self._task = None
        await self._drop_connection()

    async def _connection(self) -> AsyncConnection:
        if self._conn is None or self._conn.closed:
            self._conn = await self.engine.connect()
        return self._conn

    async def _drop_connection(self) -> None:
        sync, self._sync = self._sync, None
        if sync is not None:
            try:
                await asyncio.to_thread(sync.close)
            except Exception as exc:  # noqa: BLE001 - a broken connection is dropped either way
                log.debug("closing the inbox writer's connection: %s", exc)
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.close()
            except Exception as exc:  # noqa: BLE001 - a broken connection is dropped either way
                log.debug("closing the inbox writer's connection: %s", exc)

    async def _run(self) -> None:
        while True:
            await self._arrived.wait()
            if not self._waiting:
                self._arrived.clear()
                if self._closing:
                    return
                continue
            if self.interval > 0 and len(self._waiting) < self.max_items and not self._closing:
                try:  # gather a group: until it is full or the interval after its first row is over
                    async with asyncio.timeout(self.interval):
                        await self._full.wait()
                except TimeoutError:
                    pass
            group, self._waiting = self._waiting[: self.max_items], self._waiting[self.max_items :]
            if len(self._waiting) < self.max_items:
                self._full.clear()
            await self._store(group)

    async def _store(self, group: list[Accepted]) -> None:
        try:
            outcomes = await self._commit(group)
        except (IntegrityError, DataError) as exc:
            # A row the database refuses (too long for its column, a recipient deleted meanwhile): the
            # others of its group are stored one by one, so one bad row refuses only its own request.
            await self._drop_connection()
            if len(group) > 1:
                log.warning("storing %d inbox rows failed (%s); storing them one by one", len(group), exc)
                for item in group:
                    await self._store([item])
                return
            self._fail(group, exc)
            return
        except Exception as exc:  # noqa: BLE001 - any failure must answer its requests, never 202
            await self._drop_connection()  # a fresh one for the next group
            self._fail(group, exc)
            return
        self.groups += 1
        if self.on_stored is not None and any(outcome is True for outcome in outcomes):
            self.on_stored()
        for item, outcome in zip(group, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                item.settle(error=outcome)
            else:
                item.settle(outcome)

    @staticmethod
    def _fail(group: list[Accepted], exc: Exception) -> None:
        log.error("could not store %d inbox row(s): %s", len(group), exc)
        for item in group:
            item.settle(error=InboxUnavailableError("the activity could not be stored; try again"))

    async def _commit(self, group: list[Accepted]) -> list[bool | BaseException]:
        """One transaction for the group; each item's outcome: new, duplicate, or the refusal.

        The transaction commits only while the domain policies are at the version this process checked
        the group against; when they moved, the copy is read again, the group's hosts are checked
        against it, and the transaction is tried again. It runs whole as one synchronous function
        (:func:`_store_rows`): on SQLite in a worker thread on a plain connection (one hand-off, where
        the async driver takes one or more per statement, each queued behind the requests on the event
        loop), on PostgreSQL through the async connection's ``run_sync``."""
        outcomes: list[bool | BaseException] = [False] * len(group)
        while True:
            expected = self.domains.known_version()
            candidates = [i for i, outcome in enumerate(outcomes) if not isinstance(outcome, BaseException)]
            rows = [group[i].row for i in candidates]
            if self.engine.dialect.name == "sqlite":
                if self._sync is None:
                    self._sync = await asyncio.to_thread(sync_sqlite_connection, self.engine)
                version, refused, inserted = await asyncio.to_thread(_store_rows, self._sync, rows, expected)
            else:
                conn = await self._connection()
                version, refused, inserted = await conn.run_sync(_store_rows, rows, expected)
            if inserted is not None:
                break
            await self.domains.up_to(version)
            for i in candidates:
                for host in group[i].hosts:
                    if await self.domains.refused(host):
                        outcomes[i] = BlockedError("your domain is blocked here")
                        break
        stored: set[str] = set()
        for i in candidates:
            row = group[i].row
            if row["actor_ap_id"] in refused:
                outcomes[i] = BlockedError("this actor is deleted or suspended here")
            elif row["activity_ap_id"] not in stored:  # the first of an id in the group
                stored.add(row["activity_ap_id"])
                outcomes[i] = row["activity_ap_id"] in inserted
        return outcomes


# The group's statements, built once (each group only binds its values).
_VERSION = select(ModerationVersion.value).where(ModerationVersion.id == 1)
_REFUSED = select(Actor.ap_id).where(
    Actor.ap_id.in_(bindparam("actors", expanding=True)),
    or_(Actor.deleted_at.is_not(None), Actor.suspended_at.is_not(None)),
)
# The dedupe record: a replay (or the same activity at the shared and a personal inbox at once) inserts
# nothing. Keyed by "is PostgreSQL".
_INSERT = {
    postgres: (postgresql_insert if postgres else sqlite_insert)(INBOX_ITEMS)
    .on_conflict_do_nothing(index_elements=["activity_ap_id"])
    .returning(INBOX_ITEMS.c.activity_ap_id)
    for postgres in (False, True)
}


def _store_rows(
    conn: Connection, rows: list[dict[str, Any]], expected: int | None
) -> tuple[int, set[str], set[str] | None]:
    """The group's transaction: the policies' version and the refused actors (deleted or suspended by a
    moderator, fedigen.social.account_moderation), and, when the version is the ``expected`` one, the
    ids of the rows inserted; None when it moved (nothing stored)."""
    with conn.begin() as transaction:  # SQLite: BEGIN IMMEDIATE, the one writer
        version = int(conn.scalar(_VERSION) or 0)
        if version != expected:
            transaction.rollback()
            return version, set(), None
        actors = list({row["actor_ap_id"] for row in rows})
        refused = set(conn.scalars(_REFUSED, {"actors": actors}))
        wanted: dict[str, dict[str, Any]] = {}
        for row in rows:
            if row["actor_ap_id"] not in refused:
                wanted.setdefault(row["activity_ap_id"], row)
        inserted = _insert_rows(conn, list(wanted.values())) if wanted else set()
    return version, refused, inserted


def _insert_rows(conn: Connection, rows: list[dict[str, Any]]) -> set[str]:
    """Insert the rows, skipping activity ids already stored; the ids inserted.

    One statement (Core on the table, not the ORM entity) executed with the group's rows: SQLAlchemy
    sends them as multi-row VALUES ("insertmanyvalues") on both databases.
    """
    return set(conn.execute(_INSERT[conn.dialect.name == "postgresql"], rows).scalars())
