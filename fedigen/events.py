"""Events: what just happened, told at once to whatever waits for it, in this process and in the others.

``EventHub.publish(kind, **payload)`` hands an event to this process's subscribers (streaming
connections, the worker, the caches of the domain policies and prompt rules) at once. Events are small:
a kind and a few ids; whoever receives one reads the rows from the database, so an event only ever says
"look now", and nothing is lost when one is missed (every waiter also looks now and then on its own).

Between processes:

- **PostgreSQL**: the hub holds one asyncpg connection that ``LISTEN``s on ``fedigen_events`` and sends
  this process's events with ``pg_notify`` (after the transaction that caused them committed). A lost
  connection is opened again with a growing pause, and everything in the process is then told to
  look again (a ``resync`` event), since notifications sent meanwhile were missed.
- **SQLite**: no notifications; the hub reads a few high-water marks (the newest status, notification,
  tombstone and queue rows, the moderation and prompt-rule version counters) every ``poll_interval``
  seconds and publishes an event in this process for each that moved. One cheap read per process,
  however many streaming clients it serves.

Rows written through a session of a watched factory (:func:`watch`) publish their own events when the
transaction commits: a new status, notification or tombstone, WORK for rows queued for the worker
(deliveries, received activities, generation jobs), and whatever was given to :func:`later` (a domain
block changing the moderation version, a prompt rule changing).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine.url import make_url
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session

from storage.db import SessionFactory, is_sqlite
from storage.models import (
    Delivery,
    GenerationJob,
    InboxItem,
    ModerationVersion,
    Notification,
    PromptRulesVersion,
    Status,
    Tombstone,
)

log = logging.getLogger(__name__)

CHANNEL = "fedigen_events"
# Kinds of events.
STATUS = "status"  # a status was stored: {"id": ...}
NOTIFICATION = "notification"  # {"recipient": actor id, "id": ...} (none: any account may have one)
DELETE = "delete"  # a tombstone was stored
WORK = "work"  # rows were queued for the worker
DOMAINS = "domains"  # the domain policies changed (the moderation version moved)
PROMPT_RULES = "prompt_rules"  # the prompt rules changed
RESYNC = "resync"  # events may have been missed: every waiter looks again
KINDS = (STATUS, NOTIFICATION, DELETE, WORK, DOMAINS, PROMPT_RULES, RESYNC)
_PENDING = "fedigen_events"  # session.info key of the events a transaction publishes when it commits
_OUTBOX_LIMIT = 10_000  # events waiting for a lost PostgreSQL connection; older ones are dropped
_RECONNECT_MAX = 10.0


@dataclass(frozen=True)
class Event:
    kind: str
    payload: dict[str, Any] = field(default_factory=dict)


class Subscription:
    """Events of some kinds, as they come; ``wait()`` returns them (an empty list on timeout). Only the
    newest ``limit`` are kept for a slow reader: the events say "look now", the rows say what is new."""

    def __init__(self, hub: EventHub, kinds: frozenset[str], accept: Callable[[Event], bool] | None,
                 limit: int) -> None:  # fmt: skip
        self.hub = hub
        self.kinds = kinds
        self.accept = accept
        self.events: deque[Event] = deque(maxlen=limit)
        self._ready = asyncio.Event()

    def _offer(self, event: Event) -> None:
        if (event.kind in self.kinds or event.kind == RESYNC) and (self.accept is None or self.accept(event)):
            self.events.append(event)
            self._ready.set()

    async def wait(self, seconds: float | None = None) -> list[Event]:
        """The events since the last call, waiting up to ``seconds`` for the first."""
        if not self.events:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await self._ready.wait()
        self._ready.clear()
        out = list(self.events)
        self.events.clear()
        return out

    def close(self) -> None:
        self.hub._subscriptions.discard(self)


class EventHub:
    """This process's events (see the module docstring). ``start()`` connects it to the other processes;
    until then (and in tests that never start it) it only tells this process."""

    def __init__(self, database_url: str = "", *, poll_interval: float = 1.0) -> None:
        self.database_url = database_url
        self.poll_interval = poll_interval
        # Tells this process's own notifications (echoed by PostgreSQL) from the others'.
        self.origin = f"{os.getpid()}-{secrets.token_hex(4)}"
        self._subscriptions: set[Subscription] = set()
        self._callbacks: dict[str, list[Callable[[Event], None]]] = {}
        self._outbox: deque[str] = deque(maxlen=_OUTBOX_LIMIT)
        self._outbox_ready = asyncio.Event()
        self._sent = asyncio.Event()  # set when the outbox is empty
        self._tasks: list[asyncio.Task[None]] = []
        # On PostgreSQL every event also goes out with pg_notify: by the listening connection once
        # started, else (a CLI command) on one connection opened when the hub closes.
        self._notify = bool(database_url) and not is_sqlite(database_url)
        self.connected = asyncio.Event()  # the cross-process transport is up (PostgreSQL listening)
        self.received = 0  # events received from other processes (for tests and status output)

    # -- this process ---------------------------------------------------------------------------------

    def subscribe(self, *kinds: str, accept: Callable[[Event], bool] | None = None,
                  limit: int = 64) -> Subscription:  # fmt: skip
        """Start collecting events of ``kinds`` (and every RESYNC); close() the subscription when done."""
        subscription = Subscription(self, frozenset(kinds), accept, limit)
        self._subscriptions.add(subscription)
        return subscription

    @contextlib.contextmanager
    def subscription(
        self, *kinds: str, accept: Callable[[Event], bool] | None = None
    ) -> Iterator[Subscription]:
        """subscribe(), closed on exit."""
        subscription = self.subscribe(*kinds, accept=accept)
        try:
            yield subscription
        finally:
            subscription.close()

    def on(self, kind: str, callback: Callable[[Event], None]) -> Callable[[], None]:
        """Call ``callback`` (synchronously, so keep it short) for each event of ``kind`` and each RESYNC;
        returns the function that stops it."""
        self._callbacks.setdefault(kind, []).append(callback)

        def off() -> None:
            with contextlib.suppress(ValueError):
                self._callbacks[kind].remove(callback)

        return off

    def _deliver(self, event: Event) -> None:
        for subscription in list(self._subscriptions):
            subscription._offer(event)
        kinds = list(self._callbacks) if event.kind == RESYNC else [event.kind]
        for kind in kinds:
            for callback in list(self._callbacks.get(kind, ())):
                try:
                    callback(event)
                except Exception:  # one bad listener must not keep the event from the others
                    log.exception("event listener for %s failed", kind)

    def publish(self, kind: str, **payload: Any) -> None:
        """Tell this process now and the others as soon as the transport can (call after the commit
        that made it true, as :func:`later` does)."""
        event = Event(kind, payload)
        self._deliver(event)
        if self._notify:
            self._outbox.append(
                json.dumps({"o": self.origin, "k": kind, "p": payload}, separators=(",", ":"))
            )
            self._outbox_ready.set()
            self._sent.clear()

    # -- the other processes --------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect to the other processes: LISTEN/NOTIFY on PostgreSQL, polling on SQLite."""
        if self._tasks or not self.database_url:
            return
        if is_sqlite(self.database_url):
            self._tasks.append(asyncio.create_task(self._poll_sqlite()))
        else:
            self._tasks.append(asyncio.create_task(self._listen()))

    async def close(self) -> None:
        """Stop listening; send what this process published and has not sent yet."""
        if self._outbox and self.connected.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2):
                    await self._sent.wait()
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.connected.clear()
        if self._notify and self._outbox:
            await self._send_once()

    async def _send_once(self) -> None:
        import asyncpg

        messages = list(self._outbox)
        self._outbox.clear()
        try:
            connection = await asyncpg.connect(self._dsn(), timeout=5)
            try:
                await connection.executemany("SELECT pg_notify($1, $2)", [(CHANNEL, m) for m in messages])
            finally:
                await connection.close()
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            log.warning("could not tell the other processes of %d events: %s", len(messages), exc)

    def _dsn(self) -> str:
        return make_url(self.database_url).set(drivername="postgresql").render_as_string(hide_password=False)

    def _received(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            message = json.loads(payload)
            kind, data, origin = message["k"], message.get("p") or {}, message.get("o")
        except (ValueError, KeyError, TypeError):
            return
        if origin == self.origin or kind not in KINDS or not isinstance(data, dict):
            return  # our own: delivered here when it was published
        self.received += 1
        self._deliver(Event(kind, data))

    async def _listen(self) -> None:
        import asyncpg  # only PostgreSQL needs it

        pause = 0.2
        first = True
        while True:
            connection: Any = None
            try:
                connection = await asyncpg.connect(self._dsn(), timeout=10)
                lost = asyncio.Event()
                connection.add_termination_listener(lambda _c, lost=lost: lost.set())
                await connection.add_listener(CHANNEL, self._received)
                self.connected.set()
                pause = 0.2
                if not first:  # notifications sent while we were away are gone: everyone looks again
                    self._deliver(Event(RESYNC))
                first = False
                await self._send(connection, lost)
            except asyncio.CancelledError:
                if connection is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(connection.close(), 2)
                raise
            except Exception as exc:  # the database went away: try again
                log.warning("event connection to PostgreSQL lost (%s); reconnecting", exc)
            self.connected.clear()
            if connection is not None:
                connection.terminate()
            await asyncio.sleep(pause)
            pause = min(pause * 2, _RECONNECT_MAX)

    async def _send(self, connection: Any, lost: asyncio.Event) -> None:
        """Send this process's events until the connection is lost."""
        while not lost.is_set() and not connection.is_closed():
            if not self._outbox:
                self._sent.set()
                self._outbox_ready.clear()
                waiter = asyncio.ensure_future(self._outbox_ready.wait())
                gone = asyncio.ensure_future(lost.wait())
                try:
                    # Also wake now and then to notice a connection closed under us.
                    await asyncio.wait({waiter, gone}, timeout=5.0, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    waiter.cancel()
                    gone.cancel()
                if not self._outbox:
                    await connection.execute("SELECT 1")  # a dead connection raises here
                continue
            batch = [self._outbox.popleft() for _ in range(min(len(self._outbox), 100))]
            try:
                await connection.executemany("SELECT pg_notify($1, $2)", [(CHANNEL, m) for m in batch])
            except Exception:
                self._outbox.extendleft(reversed(batch))  # sent again on the next connection
                raise

    async def _poll_sqlite(self) -> None:
        from storage.db import create_engine, read_session_factory  # this process's own, small engine

        engine = create_engine(self.database_url, pool_size=1)
        reads = read_session_factory(engine)
        marks: dict[str, int] | None = None
        try:
            while True:
                try:
                    async with reads() as session:
                        now = await _high_water_marks(session)
                except Exception as exc:  # locked or not migrated yet: next time
                    log.debug("reading event marks failed: %s", exc)
                else:
                    self.connected.set()
                    if marks is not None:
                        for kind in KINDS:
                            if now.get(kind, 0) != marks.get(kind, 0):
                                self._deliver(Event(kind))
                    marks = now
                await asyncio.sleep(self.poll_interval)
        finally:
            await engine.dispose()


async def _high_water_marks(session: AsyncSession) -> dict[str, int]:
    """What the SQLite fallback compares between two reads, by the event kind a change means."""
    newest = select(
        select(func.max(Status.id)).scalar_subquery(),
        select(func.max(Notification.id)).scalar_subquery(),
        select(func.max(Tombstone.id)).scalar_subquery(),
        select(func.max(InboxItem.id)).scalar_subquery(),
        select(func.max(Delivery.id)).scalar_subquery(),
        select(func.max(GenerationJob.id)).scalar_subquery(),
        select(ModerationVersion.value).where(ModerationVersion.id == 1).scalar_subquery(),
        select(PromptRulesVersion.version).where(PromptRulesVersion.id == 1).scalar_subquery(),
    )
    row = (await session.execute(newest)).one()
    status, notification, tombstone, inbox, delivery, job, moderation, rules = (int(v or 0) for v in row)
    return {
        STATUS: status, NOTIFICATION: notification, DELETE: tombstone,
        WORK: hash((inbox, delivery, job)), DOMAINS: moderation, PROMPT_RULES: rules,
    }  # fmt: skip


# -- events a transaction publishes when it commits ----------------------------------------------------


def later(session: AsyncSession | Session, kind: str, **payload: Any) -> None:
    """Publish this event once ``session``'s transaction commits (nothing if it rolls back); the session
    must come from a watched factory (:func:`watch`)."""
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    sync.info.setdefault(_PENDING, []).append(Event(kind, payload))


_QUEUES = (Delivery, InboxItem, GenerationJob)
_QUEUE_TABLES = frozenset(model.__table__ for model in _QUEUES)


def watch(factory: SessionFactory, hub: EventHub) -> None:
    """Make every session of ``factory`` publish, on commit, the statuses, notifications and tombstones
    it inserted, WORK when it queued rows for the worker, and the events given to :func:`later`."""

    class WatchedSession(Session):
        pass

    # SQLAlchemy keeps the listeners of a class in a dictionary keyed weakly by the class: a listener
    # that held the hub (and through it the services, the session factory and so this class) would keep
    # the class, and every engine and app of the services, alive for the life of the process.
    hub_ref = weakref.ref(hub)

    def flushed(session: Session, _context: Any) -> None:
        pending = session.info.setdefault(_PENDING, [])
        for row in session.new:
            if isinstance(row, Status):
                pending.append(Event(STATUS, {"id": row.id}))
            elif isinstance(row, Notification):
                pending.append(Event(NOTIFICATION, {"recipient": row.recipient_id, "id": row.id}))
            elif isinstance(row, Tombstone):
                pending.append(Event(DELETE, {"id": row.id}))
            elif isinstance(row, _QUEUES):
                pending.append(Event(WORK, {}))

    def executed(state: ORMExecuteState) -> None:  # rows queued with insert() (deliveries, inbox items)
        if state.is_insert and getattr(state.statement, "table", None) in _QUEUE_TABLES:
            state.session.info.setdefault(_PENDING, []).append(Event(WORK, {}))

    def committed(session: Session) -> None:
        pending: list[Event] = session.info.pop(_PENDING, [])
        live = hub_ref()
        if live is None:  # the services closed
            return
        for event in _coalesced(pending):
            live.publish(event.kind, **event.payload)

    def rolled_back(session: Session, previous: Any = None) -> None:
        if getattr(previous, "nested", False):  # a savepoint: the transaction goes on (extra events are
            return  # only a "look now" too many)
        session.info.pop(_PENDING, None)

    from sqlalchemy import event as sa_event

    sa_event.listen(WatchedSession, "after_flush", flushed)
    sa_event.listen(WatchedSession, "after_commit", committed)
    sa_event.listen(WatchedSession, "do_orm_execute", executed)
    sa_event.listen(WatchedSession, "after_soft_rollback", rolled_back)
    factory.configure(sync_session_class=WatchedSession)


def _coalesced(events: list[Event]) -> list[Event]:
    """One event per distinct (kind, payload), in order."""
    seen: set[str] = set()
    out = []
    for event in events:
        key = event.kind + json.dumps(event.payload, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(event)
    return out
