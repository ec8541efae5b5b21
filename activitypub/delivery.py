"""Delivering queued activities: sign, POST, and let the retry policy decide what a failure means.

A host that keeps failing for ``unavailable_after`` is marked unavailable: its deliveries are then
tried only once a day (a probe), and a success makes it available again (as Mastodon's
``UnavailableDomain`` does, https://github.com/mastodon/mastodon/blob/main/app/workers/activitypub/delivery_worker.rb).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.domains import DomainPolicies
from activitypub.errors import FetchError, RemoteStatusError
from activitypub.fetch import Fetcher
from activitypub.schemes import host_of
from activitypub.signing import HeaderSigner, SigningKey
from storage import queue
from storage.db import SessionFactory
from storage.models import Activity, Actor, Delivery, Host, utcnow
from storage.retry import decide

log = logging.getLogger(__name__)

PROBE_INTERVAL = timedelta(days=1)
REFUSED = "not delivered: the domain is suspended or not allowed here"


@dataclass(frozen=True)
class DeliveryPolicy:
    """Limits from the [federation] settings."""

    max_attempts: int = 18
    max_age: timedelta = timedelta(hours=48)
    unavailable_after: timedelta = timedelta(days=3)
    # Deliveries being signed and sent at once, in all; and to one host.
    concurrency: int = 32
    per_host: int = 4
    lease: timedelta = timedelta(minutes=2)


#: A claimed delivery is not sent once its lease has less than this left (or a quarter of the lease, when
#: leases are short): another worker may take it when the lease ends, and the row is then theirs to send
#: (and to record).
LEASE_MARGIN = timedelta(seconds=15)
#: Outcomes are written together: every RECORD_BATCH outcomes or RECORD_EVERY seconds, whichever is first.
RECORD_BATCH = 200
RECORD_EVERY = 0.05
#: From a claim this big on, signing goes to the signing pool (which then starts and stays in use); a
#: trickle of deliveries is signed in place, never paying for starting worker processes.
POOL_FROM = 16
#: What a claim reads of each delivery (plain rows: a fan-out claims hundreds at a time).
_CLAIMED = (Delivery.id, Delivery.activity_id, Delivery.inbox_url, Delivery.host, Delivery.locked_until)
#: What a claim reads of each host: whether it is unavailable, and what it verifies (schemes.prime).
_HOST_FACTS = (
    Host.domain, Host.unavailable_since, Host.last_failure_at, Host.signature_scheme,
    Host.signature_scheme_at, Host.software_name, Host.software_version, Host.nodeinfo_checked_at,
)  # fmt: skip


@dataclass
class _Result:
    delivery_id: int
    host: str
    status: int | None
    error: str | None
    retry_after: str | None = None
    skipped: bool = False
    # Not sent: the lease ran short before a slot was free (the row is left for whoever claims it next).
    lost: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class _Work:
    delivery_id: int
    host: str
    inbox: str
    body: bytes
    key: SigningKey
    locked_until: datetime


@dataclass
class _Claimed:
    work: list[_Work]
    skipped: list[_Result]
    leases: dict[int, datetime | None]

    def __len__(self) -> int:
        return len(self.leases)


class _HostSlots:
    """At most ``limit`` deliveries to one host being sent at once; counts what each host has in hand
    (claimed and not finished, being signed included)."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._held: dict[str, int] = {}
        self._semaphores: dict[str, asyncio.Semaphore] = {}

    def full(self) -> set[str]:
        """Hosts with at least ``limit`` deliveries in hand."""
        return {host for host, held in self._held.items() if held >= self.limit}

    @contextlib.asynccontextmanager
    async def hold(self, host: str) -> AsyncIterator[None]:
        """One delivery to ``host`` in hand for the time of the block."""
        self._held[host] = self._held.get(host, 0) + 1
        try:
            yield
        finally:
            held = self._held[host] - 1
            if held:
                self._held[host] = held
            else:  # no growth with the number of hosts ever delivered to
                del self._held[host]
                self._semaphores.pop(host, None)  # nobody waits on it: every user holds the host

    @contextlib.asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        """One of the host's sending slots (inside :meth:`hold` of the same host)."""
        semaphore = self._semaphores.get(host)
        if semaphore is None:
            semaphore = self._semaphores[host] = asyncio.Semaphore(self.limit)
        async with semaphore:
            yield


class Deliverer:
    """Runs claimed delivery rows: one signed POST each, many at once.

    :meth:`run_once` does one batch (tests drive it); :meth:`run` is the worker's loop, which claims the
    next batch while the current one is signed and sent, and records outcomes in groups.
    """

    def __init__(
        self, sessions: SessionFactory, fetcher: Fetcher, policy: DeliveryPolicy,
        domains: DomainPolicies | None = None, signing: HeaderSigner | None = None,
    ) -> None:  # fmt: skip
        self.sessions = sessions
        self.fetcher = fetcher
        self.policy = policy
        # Suspended (and, in allowlist mode, not allowed) hosts get nothing: their deliveries are dropped.
        self.domains = domains
        # Signs off the event loop once deliveries come in numbers (POOL_FROM); None: always in place.
        self.signing = signing
        self._offload = False
        self._semaphore = asyncio.Semaphore(policy.concurrency)
        self._hosts = _HostSlots(policy.per_host)

    async def run_once(self, limit: int = 200) -> int:
        """Claim up to ``limit`` due deliveries and run them; returns how many were claimed."""
        claimed = await self._claim(limit)
        if not claimed:
            return 0
        results = claimed.skipped + list(await asyncio.gather(*(self._deliver(w) for w in claimed.work)))
        await self._record(results, claimed.leases, utcnow())
        return len(claimed)

    async def run(self, stopping: asyncio.Event, wakeup: asyncio.Event, poll_interval: float) -> None:
        """Deliver until ``stopping`` is set, then finish what is in hand and return.

        At most ``2 x concurrency`` claimed deliveries are in hand: the next batch is claimed as soon as
        no more than ``concurrency`` are, so claiming overlaps sending, and a claimed row waits at most
        for one batch ahead of it (well inside its lease).
        """
        width = self.policy.concurrency
        sending: set[asyncio.Task[_Result]] = set()
        done: list[_Result] = []
        leases: dict[int, datetime | None] = {}
        oldest = 0.0
        idle = False  # the last claim found nothing: wait for a wake-up or the poll interval
        loop = asyncio.get_running_loop()
        while True:
            if not stopping.is_set() and not idle and len(sending) <= width:
                try:
                    claimed = await self._claim(
                        2 * width - len(sending), per_host=self.policy.per_host, skip_hosts=self._hosts.full()
                    )
                except Exception:  # keep the loop alive through database hiccups
                    log.exception("claiming deliveries failed")
                    claimed = _Claimed([], [], {})
                idle = not claimed
                leases |= claimed.leases
                if claimed.skipped and not done:
                    oldest = loop.time()
                done += claimed.skipped
                sending |= {asyncio.create_task(self._deliver(w)) for w in claimed.work}
            finished = {t for t in sending if t.done()}
            sending -= finished
            if finished and not done:
                oldest = loop.time()
            done += [t.result() for t in finished]
            if done and (len(done) >= RECORD_BATCH or loop.time() - oldest >= RECORD_EVERY or not sending):
                try:
                    await self._record(done, leases, utcnow())
                except Exception:  # rows not recorded stay running; their leases end and they are sent again
                    log.exception("recording deliveries failed")
                for result in done:
                    leases.pop(result.delivery_id, None)
                done = []
            if stopping.is_set() and not sending:
                return
            wake = asyncio.ensure_future(wakeup.wait())
            timeout = RECORD_EVERY if done else (poll_interval if idle or not sending else None)
            ready, _ = await asyncio.wait(
                sending | {wake}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            wake.cancel()
            if wake in ready or (idle and not ready):
                wakeup.clear()
                idle = False

    async def aclose(self) -> None:
        """Stop the signing pool (it starts again if deliveries come later)."""
        close = getattr(self.signing, "aclose", None)
        if close is not None:
            await close()

    async def _claim(self, limit: int, *, per_host: int = 0, skip_hosts: Collection[str] = ()) -> _Claimed:
        if limit <= 0:
            return _Claimed([], [], {})
        async with self.sessions() as session, session.begin():
            lease = self.policy.lease
            # Oldest first: RETURNING gives no order, and two activities to one inbox (a post and its
            # edit) should be sent in the order they were made.
            claimed = sorted(
                await queue.claim(
                    session, Delivery, limit=limit, lease=lease, per_host=per_host, skip_hosts=skip_hosts,
                    columns=_CLAIMED,
                )
            )  # fmt: skip
            if not claimed:
                return _Claimed([], [], {})
            # Plain rows, not ORM objects: a claim of hundreds of deliveries has one activity or a few.
            activity_ids = {r.activity_id for r in claimed}
            facts = select(Activity.id, Activity.actor_id, Activity.document)
            facts = facts.where(Activity.id.in_(activity_ids))
            activities = {row.id: row for row in await session.execute(facts)}
            actor_ids = {a.actor_id for a in activities.values()}
            keys_of = select(Actor.id, Actor.ap_id, Actor.public_key_id, Actor.private_key_pem)
            actors = {row.id: row for row in await session.execute(keys_of.where(Actor.id.in_(actor_ids)))}
            hosts = {
                row.domain: row
                for row in await session.execute(
                    select(*_HOST_FACTS).where(Host.domain.in_({r.host for r in claimed}))
                )
            }
        if len(claimed) >= POOL_FROM:
            self._offload = True
        if self.fetcher.schemes is not None:  # what each host verifies, known without a query per host
            self.fetcher.schemes.prime({host_of(r.inbox_url): hosts.get(r.host) for r in claimed})
        now = utcnow()
        bodies = {a.id: json.dumps(a.document).encode() for a in activities.values()}
        keys = {
            a.id: SigningKey(a.public_key_id or f"{a.ap_id}#main-key", a.private_key_pem or "")
            for a in actors.values()
        }
        result = _Claimed([], [], {r.id: r.locked_until for r in claimed})
        for delivery_id, activity_id, inbox, host, locked_until in claimed:
            if self.domains is not None and await self.domains.refused(inbox):
                result.skipped.append(_Result(delivery_id, host, None, REFUSED, skipped=True))
                continue
            host_row = hosts.get(host)
            if (
                host_row
                and host_row.unavailable_since
                and host_row.last_failure_at
                and (now - host_row.last_failure_at < PROBE_INTERVAL)
            ):
                result.skipped.append(_Result(delivery_id, host, None, "host unavailable", skipped=True))
                continue
            activity = activities[activity_id]
            assert locked_until is not None  # claim() sets the lease
            work = _Work(delivery_id, host, inbox, bodies[activity_id], keys[activity.actor_id], locked_until)
            result.work.append(work)
        return result

    async def _deliver(self, work: _Work) -> _Result:
        try:
            async with self._hosts.hold(work.host):
                # Signed before a slot is free: signing (in the pool) overlaps the sending of others.
                pool = self.signing if self._offload else None
                prepared = await self.fetcher.prepare_delivery(work.inbox, work.body, work.key, pool)
                async with self._semaphore, self._hosts.slot(work.host):
                    if utcnow() >= work.locked_until - min(LEASE_MARGIN, self.policy.lease / 4):
                        log.warning(
                            "delivery %s not sent: its lease ran short while it waited", work.delivery_id
                        )
                        return _Result(work.delivery_id, work.host, None, "lease ran short", lost=True)
                    answer = await self.fetcher.deliver(prepared)
        except RemoteStatusError as exc:
            return _Result(work.delivery_id, work.host, exc.status, str(exc), exc.retry_after)
        except FetchError as exc:
            return _Result(work.delivery_id, work.host, None, str(exc) or type(exc).__name__)
        except Exception as exc:  # a bug must not stop the loop: the row is retried as after a failure
            log.exception("delivery %s to %s failed unexpectedly", work.delivery_id, work.inbox)
            return _Result(work.delivery_id, work.host, None, f"{type(exc).__name__}: {exc}")
        if 200 <= answer.status < 300:
            return _Result(work.delivery_id, work.host, answer.status, None)
        status = answer.status
        return _Result(work.delivery_id, work.host, status, f"HTTP {status}", answer.retry_after)

    async def _record(
        self, results: Sequence[_Result], leases: Mapping[int, datetime | None], now: datetime
    ) -> None:
        """Write outcomes, each only while its row is still ours: running under the lease we took (a row
        whose lease ended may have been claimed by another worker, whose outcome it then is).

        Successes commit on their own, before the rest: they were sent, and a success undone would send
        them again once their lease ends. Failures, refusals and skips follow in a second transaction;
        should that one fail (a deadlock, a lost connection, a bug), its rows stay running under our
        lease and are claimed again when it ends, as after a dying worker: delayed, never lost.
        """
        ours = [r for r in results if not r.lost]
        if not ours:
            return
        done_by_lease: dict[datetime, list[_Result]] = {}
        others: list[_Result] = []
        for result in ours:
            lease = leases.get(result.delivery_id)
            if result.ok and lease is not None:
                done_by_lease.setdefault(lease, []).append(result)
            else:
                others.append(result)
        ok_hosts: set[str] = set()
        if done_by_lease:  # a batch of nothing but successes (most of a fan-out) is one transaction
            async with self.sessions() as session, session.begin():
                ok_hosts = await self._record_done(session, done_by_lease, now)
                await self._update_hosts(session, ok_hosts, set(), now)
        if others:
            async with self.sessions() as session, session.begin():
                failed_hosts = await self._record_others(session, others, leases, now)
                await self._update_hosts(session, set(), failed_hosts - ok_hosts, now)

    async def _record_done(
        self, session: AsyncSession, done_by_lease: Mapping[datetime, Sequence[_Result]], now: datetime
    ) -> set[str]:
        """Successes (nearly all of a fan-out) in one conditional UPDATE per lease taken: a row is marked
        done only while still running under our lease, with no row read first; returns their hosts."""
        ok_hosts: set[str] = set()
        for lease, done in done_by_lease.items():
            marked = await session.execute(
                update(Delivery)
                .where(
                    Delivery.id.in_([r.delivery_id for r in done]),
                    Delivery.state == queue.RUNNING,
                    Delivery.locked_until == lease,
                )
                .values(state=queue.DONE, locked_until=None, last_error=None, finished_at=now)
                .returning(Delivery.id, Delivery.host)
                .execution_options(synchronize_session=False)
            )
            ours_done = {row_id: host for row_id, host in marked}
            ok_hosts |= set(ours_done.values())
            for result in done:
                if result.delivery_id not in ours_done:
                    log.warning("delivery %s: lease lost before its outcome was written", result.delivery_id)
        return ok_hosts

    async def _record_others(
        self, session: AsyncSession, results: Sequence[_Result], leases: Mapping[int, datetime | None],
        now: datetime,
    ) -> set[str]:  # fmt: skip
        """Failures, refusals and skips, row by row (the retry policy reads each row); returns the hosts
        that failed."""
        wanted = select(Delivery).where(Delivery.id.in_([r.delivery_id for r in results])).with_for_update()
        rows = {d.id: d for d in await session.scalars(wanted)}
        failed_hosts: set[str] = set()
        for result in results:
            row = rows.get(result.delivery_id)
            if row is None or row.state != queue.RUNNING or row.locked_until != leases.get(row.id):
                log.warning("delivery %s: lease lost before its outcome was written", result.delivery_id)
                continue
            if result.error == REFUSED:
                row.state, row.locked_until, row.last_error, row.finished_at = (
                    queue.CANCELLED,
                    None,
                    REFUSED,
                    now,
                )
                continue
            if result.ok:  # no lease known (never so in practice): as the grouped UPDATE would
                queue.mark_done(row, now)
                continue
            if result.skipped:
                pass
            elif result.status is None or result.status >= 500 or result.status in (408, 429):
                failed_hosts.add(result.host)
            row.last_status = result.status
            decision = decide(
                attempts=row.attempts, status=result.status, retry_after=result.retry_after, now=now,
                first_queued_at=row.created_at, max_attempts=self.policy.max_attempts,
                max_age=self.policy.max_age,
            )  # fmt: skip
            if decision.retry and decision.next_attempt_at:
                queue.mark_retry(row, decision.next_attempt_at, f"{result.error}; {decision.reason}")
            else:
                queue.mark_failed(row, f"{result.error}; {decision.reason}", now)
        return failed_hosts

    async def _update_hosts(
        self, session: AsyncSession, ok: set[str], failed: set[str], now: datetime
    ) -> None:
        if not ok and not failed:
            return
        if ok:  # hosts that had failed are well again (one UPDATE; a host that never failed is untouched)
            await session.execute(
                update(Host)
                .where(
                    Host.domain.in_(ok),
                    or_(Host.failures > 0, Host.unavailable_since.is_not(None)),
                )
                .values(failures=0, first_failure_at=None, unavailable_since=None, last_success_at=now)
                .execution_options(synchronize_session=False)
            )
        if not failed:
            return
        # One upsert per failing host, never a read then an INSERT: the row may be made meanwhile by the
        # signature schemes' writer (what the host's NodeInfo said), and an INSERT would then fail the
        # whole record, leaving the rows running until their lease ends and sending them again.
        dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
        insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
        first = func.coalesce(Host.first_failure_at, now)
        since = now - self.policy.unavailable_after
        turns_unavailable = and_(Host.unavailable_since.is_(None), first <= since)
        for domain in sorted(failed):  # one order: two workers' upserts never wait on each other in a cycle
            fresh = {"domain": domain, "failures": 1, "first_failure_at": now, "last_failure_at": now,
                     "unavailable_since": now if since >= now else None}  # fmt: skip
            statement = insert(Host).values(**fresh)
            marked = await session.scalar(
                statement.on_conflict_do_update(
                    index_elements=["domain"],
                    set_={
                        "failures": func.coalesce(Host.failures, 0) + 1,
                        "first_failure_at": first,
                        "last_failure_at": now,
                        "unavailable_since": case((turns_unavailable, now), else_=Host.unavailable_since),
                    },
                ).returning(Host.unavailable_since == now)
            )
            if marked:
                log.warning("marking %s unavailable: failing for %s", domain, self.policy.unavailable_after)
