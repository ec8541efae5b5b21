"""Engine and session factory for SQLite (WAL, busy timeout) and PostgreSQL (asyncpg)."""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Connection, event
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy.engine.url import make_url
from sqlalchemy.exc import DBAPIError, OperationalError, SAWarning
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool
from sqlalchemy.util import await_only

SessionFactory = async_sessionmaker[AsyncSession]
READ_ONLY = "fedigen_read_only"
# An execution option: the connection's statements are already planned for their own parameters.
CUSTOM_PLANS = "fedigen_custom_plans"
# An execution option for migrations: SQLite's foreign keys off for the connection's transactions.
FOREIGN_KEYS_OFF = "fedigen_foreign_keys_off"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the one writer; busy_timeout makes a second writer wait
    # instead of failing at once (https://www.sqlite.org/wal.html).
    # Let SQLAlchemy's "begin" hook issue BEGIN itself (the driver's implicit BEGIN is off).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def is_sqlite(url: str) -> bool:
    """True when the URL names a SQLite database."""
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, *, echo: bool = False, pool_size: int = 5) -> AsyncEngine:
    """Create the process's one engine, with the per-dialect settings we rely on."""
    if is_sqlite(url):
        path = make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url,
            echo=echo,
            # The begin of every transaction takes the write lock up front ("BEGIN IMMEDIATE"),
            # so two workers never deadlock upgrading a read lock; see sqlite.org/lang_transaction.html.
            connect_args={"timeout": 15},
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(conn: Any) -> None:
            # Read-only sessions (read_session_factory) begin DEFERRED: in WAL mode they read a snapshot
            # beside the one writer and never wait for, or hold, the write lock.
            options = conn.get_execution_options()
            if options.get(FOREIGN_KEYS_OFF, False):
                # Only outside a transaction does this PRAGMA take effect: here, just before BEGIN.
                conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            deferred = options.get(READ_ONLY, False)
            conn.exec_driver_sql("BEGIN DEFERRED" if deferred else "BEGIN IMMEDIATE")

        return engine
    return create_async_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size * 2, pool_pre_ping=True
    )


def sync_sqlite_connection(engine: AsyncEngine) -> Connection:
    """A plain (synchronous) connection to the same SQLite database, with the same pragmas, for code that
    runs a whole transaction in one worker thread (the inbox writer: one thread hand-off per group
    instead of one per statement). Its transactions begin IMMEDIATE (they write); it may be used from any
    one thread at a time."""
    sync = sa_create_engine(
        engine.url.set(drivername="sqlite"), connect_args={"timeout": 15, "check_same_thread": False},
        poolclass=NullPool,
    )  # fmt: skip
    event.listen(sync, "connect", _sqlite_pragmas)
    event.listen(sync, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
    return sync.connect()


P = ParamSpec("P")
T = TypeVar("T")


class SyncReader:
    """Runs a synchronous function that only reads, whole, on a connection of its own: the way to read a page
    that takes a dozen statements without paying a thread hand-off (aiosqlite) or an await per statement.

    On SQLite the function runs on the event loop's own thread, on a plain sqlite3 connection of its own (same
    pragmas, ``query_only`` on, transactions begun DEFERRED: a WAL snapshot beside the one writer, never
    waiting for the write lock). A page read takes a few milliseconds of CPU, nearly all of it Python holding
    the interpreter lock, so a thread bought little overlap, and its two hand-offs (and, under load, the wait
    for the lock at each of the read's many calls into SQLite) cost more than the read: measured with the
    worker inside ``serve`` (benchmarks/mixed_load.py, 2 cores), the quiet home page p50 went from 8-11 ms to
    4-6 ms. That connection never waits (``busy_timeout`` 0): should SQLite answer busy (a checkpoint, a
    recovery), the read runs again in one of ``threads`` worker threads, whose connections wait as every other
    one does. Nor does it hold the loop for long: a read still running after :data:`INLINE_BUDGET` is
    interrupted there (SQLite's progress handler) and run again in a worker thread, so one long read cannot
    stall the process's other requests. On PostgreSQL it runs through ``AsyncConnection.run_sync`` (asyncpg
    needs no thread) on a pool of its own (``pool_size``) that does not ping each connection it hands out: the
    ping costs three round trips (BEGIN, a query, ROLLBACK) on a read of about fifteen; a read that finds its
    connection dead is run again once on a new one instead (reads only: nothing is done twice). Its statements
    run without BEGIN and ROLLBACK (under READ COMMITTED each statement reads its own snapshot inside a
    transaction too, so one only costs two round trips), planned for their own parameters
    (``plan_cache_mode``, set when the connection opens; see
    ``fedigen.social.timelines.plan_for_parameters``), read-only (``default_transaction_read_only``: a write
    is an error, as ``query_only`` makes it on SQLite).

    On PostgreSQL the function may also hand :func:`each` several independent reads: the first runs on the
    function's own connection, the others beside it, one after another on one connection of a second pool
    (``FAN_WIDTH`` connections, kept open; at most that many pages' lookups at once in the process). One
    connection for them all, not one each: a statement costs the process about 0.25 ms of CPU, which each read
    on a connection of its own raised by half again (a task, a checkout, a greenlet), while PostgreSQL's part
    of a lookup is a fraction of that, so the extra connections bought no time on 2 cores: measured in process
    on a 1,000,000-status home page (interleaved runs), p99 13.0-15.6 ms against 17.6-19.9 with one connection
    per lookup, CPU 6.5-7.8 ms against 8.2-8.5. That second pool's statements may be planned generically
    (``plan_cache_mode = auto``: once PostgreSQL has seen a statement five times and the generic plan is not
    dearer): its reads are lookups by key, whose plan does not depend on the values, and planning each anew
    was measured at about a quarter of PostgreSQL's CPU per home page (5.6 ms against 4.2 ms, 2-core
    development machine)."""

    def __init__(self, engine: AsyncEngine, *, threads: int = 2, pool_size: int = 5) -> None:
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        self._threads = threads
        self._pool_size = pool_size
        self._pg: AsyncEngine | None = None
        self._fan: AsyncEngine | None = None
        self._fan_slots: asyncio.Semaphore | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._sync: Any = None
        self._local = threading.local()
        self._connections: list[Connection] = []
        self._loop_conn: Connection | None = None
        self._deadline = math.inf  # when the read under way on the loop's connection is given up
        self._lock = threading.Lock()

    async def run(self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(connection, *args, **kwargs)`` in a read transaction; its result."""
        if not self.sqlite:
            return await self._run_postgresql(lambda sync: fn(sync, *args, **kwargs))
        conn = self._loop_connection()
        self._deadline = time.perf_counter() + INLINE_BUDGET
        try:
            return self._read(conn, fn, *args, **kwargs)
        except OperationalError as exc:
            if not (_busy(exc) or _interrupted(exc)):
                raise
        finally:
            self._deadline = math.inf
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self._threads, thread_name_prefix="fedigen-read")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: self._in_thread(fn, *args, **kwargs))

    def _postgresql_engine(self, size: int, *, custom_plans: bool) -> AsyncEngine:
        plans = "force_custom_plan" if custom_plans else "auto"
        server = {"plan_cache_mode": plans, "default_transaction_read_only": "on"}
        return create_async_engine(
            self.engine.url, pool_size=size, max_overflow=size, isolation_level="AUTOCOMMIT",
            connect_args={"server_settings": server},
        ).execution_options(**{CUSTOM_PLANS: custom_plans})  # fmt: skip

    async def _run_postgresql(self, call: Callable[[Connection], T], *, fanned: bool = False) -> T:
        if fanned:
            if self._fan is None:
                self._fan = self._postgresql_engine(FAN_WIDTH, custom_plans=False)
            engine = self._fan
        else:
            if self._pg is None:
                self._pg = self._postgresql_engine(self._pool_size, custom_plans=True)
            engine = self._pg
        for attempt in (1, 2):
            try:
                async with engine.connect() as conn:
                    if not fanned:
                        # The reads the function hands to each() go to the second pool: never this one,
                        # whose connections the functions waiting for them hold.
                        conn.sync_connection.info[_FAN] = self._start_fan_out  # type: ignore[union-attr]
                    return await conn.run_sync(call)
            except DBAPIError as exc:
                # A connection the server closed (a restart): the pool is invalidated; read again once.
                if attempt == 2 or not exc.connection_invalidated:
                    raise
        raise AssertionError("unreachable")

    def _start_fan_out(self, calls: Sequence[Callable[[Connection], Any]]) -> asyncio.Future[list[Any]]:
        """:meth:`_fan_out` under way (called inside ``run_sync``, on the event loop's thread)."""
        return asyncio.ensure_future(self._fan_out(calls))

    async def _fan_out(self, calls: Sequence[Callable[[Connection], Any]]) -> list[Any]:
        if self._fan_slots is None:
            self._fan_slots = asyncio.Semaphore(FAN_WIDTH)
        slots = self._fan_slots

        async with slots:  # never more at once than the pool keeps: no connection opened per read
            return await self._run_postgresql(lambda conn: [call(conn) for call in calls], fanned=True)

    def _loop_connection(self) -> Connection:
        """The event loop thread's connection, which never waits for a lock and gives up a read that
        runs past :data:`INLINE_BUDGET` (see the class)."""
        if self._loop_conn is None:
            conn = self._connect()
            raw: Any = conn.connection.dbapi_connection
            raw.execute("PRAGMA busy_timeout=0")
            raw.set_progress_handler(self._past_budget, _PROGRESS_STEPS)
            self._loop_conn = conn
        return self._loop_conn

    def _past_budget(self) -> bool:
        """SQLite's progress handler on the loop's connection: true (interrupt the statement) once the
        read has run past its budget."""
        return time.perf_counter() > self._deadline

    def _in_thread(self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return self._read(conn, fn, *args, **kwargs)

    @staticmethod
    def _read(
        conn: Connection, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        conn.begin()
        try:
            return fn(conn, *args, **kwargs)
        finally:
            conn.rollback()  # it only read: nothing to keep

    def _connect(self) -> Connection:
        with self._lock:
            if self._sync is None:
                self._sync = sa_create_engine(
                    self.engine.url.set(drivername="sqlite"), poolclass=NullPool,
                    connect_args={"timeout": 15, "check_same_thread": False},
                )  # fmt: skip
                event.listen(self._sync, "connect", _read_only_pragmas)
                event.listen(self._sync, "begin", lambda conn: conn.exec_driver_sql("BEGIN DEFERRED"))
            conn: Connection = self._sync.connect()
            self._connections.append(conn)
            return conn

    async def aclose(self) -> None:
        """Stop the threads and close the connections (the process is closing)."""
        await asyncio.to_thread(self._close_threads)
        for engine in (self._pg, self._fan):
            if engine is not None:
                await engine.dispose()
        self._pg = self._fan = None

    def _close_threads(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
            self._loop_conn = None
            if self._sync is not None:
                self._sync.dispose()
                self._sync = None
        self._local = threading.local()


def _busy(exc: OperationalError) -> bool:
    """Whether SQLite refused for a lock (SQLITE_BUSY, SQLITE_LOCKED) rather than for anything else."""
    return "locked" in str(exc.orig) or "busy" in str(exc.orig)


def _interrupted(exc: OperationalError) -> bool:
    """Whether SQLite stopped the statement because its progress handler asked (SQLITE_INTERRUPT)."""
    return "interrupted" in str(exc.orig)


# How long a read may hold the event loop's thread on SQLite before it is given up there and read
# again in a worker thread (the loop then serves other requests meanwhile). A home page on 1,000,000
# statuses reads in about 4 ms; what runs far longer (an account following thousands, a page far past
# the newest ids, a search) would otherwise stall every other request of the process for its whole
# length. What the budget costs such a read: the time spent before it was given up, once.
INLINE_BUDGET = 0.025
# SQLite calls the progress handler every this many virtual machine steps: a home page on 1,000,000
# statuses takes about 16,000 (an index seek is one step), so about 16 calls of a fraction of a
# microsecond each.
_PROGRESS_STEPS = 1_000


# Where a SyncReader's PostgreSQL connection keeps the way to run reads at once (see each()), and how
# many such reads a process runs at once: the size of the pool they use, kept open.
_FAN = "fedigen_fan_out"
FAN_WIDTH = 8


def each(conn: Connection, *calls: Callable[[Connection], Any]) -> list[Any]:
    """The results of independent reads ``call(connection)``, in order. Within a
    :class:`SyncReader`'s function on PostgreSQL the first runs on ``conn`` (planned for its
    parameters: put a timeline's query first) while the others run one after another on a pooled
    connection whose statements may have generic plans (lookups by key); each read has its own
    snapshot, as a page's statements already do under READ COMMITTED without a transaction. Anywhere
    else one after another on ``conn``."""
    fan = conn.info.get(_FAN) if conn.dialect.name == "postgresql" else None
    if fan is None or len(calls) < 2:
        return [call(conn) for call in calls]
    others = fan(calls[1:])
    try:
        first = calls[0](conn)
    except BaseException:
        await_only(asyncio.wait([others]))  # the others end (their connections back in the pool) first
        raise
    return [first, *await_only(others)]


def _read_only_pragmas(dbapi_connection: Any, record: Any) -> None:
    _sqlite_pragmas(dbapi_connection, record)
    dbapi_connection.execute("PRAGMA query_only=ON")  # a reader's connection: a write is an error


def create_engine_nopool(url: str) -> AsyncEngine:
    """An engine without pooling, for one-shot CLI commands and migrations."""
    if is_sqlite(url):
        return create_engine(url)
    return create_async_engine(url, poolclass=NullPool)


def session_factory(engine: AsyncEngine) -> SessionFactory:
    """The session factory handed to every use-case."""
    return async_sessionmaker(engine, expire_on_commit=False)


def read_session_factory(engine: AsyncEngine) -> SessionFactory:
    """Sessions for requests that only read: on SQLite they never take the write lock (nor wait for it)."""
    return async_sessionmaker(engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)


def on_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Call ``callback`` once the session's current transaction commits (never if it rolls back).

    Used to wake a worker for work queued in this transaction: woken earlier, it could look before
    the row is visible and then sleep a whole poll interval.
    """

    def fire(_session: Any) -> None:
        callback()

    event.listen(session.sync_session, "after_commit", fire, once=True)


@contextlib.contextmanager
def batch_reflection_warnings_hidden() -> Iterator[None]:
    """For migrations: SQLite's batch mode reflects the tables it copies, and SQLAlchemy cannot reflect
    the expression index on actors (``lower(username)``). The migrations that use batch mode leave
    that index as it is, so the warning says nothing; this hides it."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", SAWarning)
        yield
