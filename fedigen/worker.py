"""The worker: claims due rows from the queues and runs each, recording the outcome.

``run_once()`` does one pass over every queue, so tests drive background work step by step;
``run()`` loops until stopped. ``fedigen serve`` runs it in-process; ``fedigen worker`` runs it alone.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from activitypub.dispatch import Dispatcher
from activitypub.errors import ActivityPubError, BlockedError, InvalidActivityError, RemoteStatusError
from fedigen import events
from fedigen.federation.inbound import HANDLERS, PREPARERS, file_for_recipients
from fedigen.services import Services
from fedigen.social import account_moderation, accounts, polls, remixes
from fedigen.social.emoji import cache_remote_emojis
from fedigen.social.jobs import runner
from fedigen.social.media import (
    cache_remote_avatars,
    forget_stale_uploads,
    resume_uploads,
    sweep_media_leftovers,
)
from fedigen.social.pins import sync_featured_collections
from storage import queue
from storage.models import Delivery, InboxItem, utcnow
from storage.retry import decide

log = logging.getLogger(__name__)

INBOX_MAX_ATTEMPTS = 8
INBOX_MAX_AGE = timedelta(hours=12)
# How often each worker deletes finished queue rows older than [worker] keep_finished_hours.
PURGE_INTERVAL = 3600.0
# What killed media writes and prunes leave is looked for this often, and as a worker starts (after a
# crash, that is): it is rare, and a look reads every directory of the media folder.
LEFTOVER_INTERVAL = 6 * 3600.0
# Unanswered quote requests are looked at this often (their retry delays are hours).
QUOTE_CHASE_INTERVAL = 300.0


class Worker:
    """Runs inbox items, generation jobs, deliveries, poll ends, avatar and emoji copies and featured
    reads until stopped."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.dispatcher = Dispatcher(services.resolver, services, HANDLERS, PREPARERS)
        # When each periodic chore last ran (time.monotonic()), by name: see _due.
        self._last_run: dict[str, float] = {}
        self._stopping = asyncio.Event()
        self._wakeup = asyncio.Event()
        self._deliveries_wakeup = asyncio.Event()
        self._jobs_wakeup = asyncio.Event()
        self._inbox_wakeup = asyncio.Event()
        self._media_wakeup = asyncio.Event()

    async def run_once(self) -> int:
        """One pass over every queue (generation jobs included); returns how many rows were worked."""
        worked = await self.process_inbox(limit=50)  # first: a bot request queues a job ...
        worked += await runner(self.services).run_once()  # ... made here ...
        return worked + await self._outgoing_once()  # ... and delivered in the same pass

    async def process_inbox(self, limit: int = 50) -> int:
        """Claim up to ``limit`` inbox items and process them: the hosts side by side, each host's items in
        the order they arrived, each item in its own transaction (one pass, for ``run_once``)."""
        batches = await self._claim_inbox(limit, skip_hosts=(), per_host=limit)
        semaphore = asyncio.Semaphore(self.services.settings.worker.inbox_concurrency)

        async def run(items: list[tuple[int, int]]) -> None:
            async with semaphore:
                await self._process_host(items)

        await asyncio.gather(*(run(ids) for ids in batches.values()))
        return sum(len(ids) for ids in batches.values())

    async def _claim_inbox(
        self, limit: int, skip_hosts: Collection[str], per_host: int
    ) -> dict[str, list[tuple[int, int]]]:
        """Due inbox items, at most ``per_host`` per sender host, none of ``skip_hosts``, by host: (id,
        attempt count of this claim) each."""
        lease = timedelta(seconds=self.services.settings.worker.lease_seconds)
        async with self.services.sessions() as session, session.begin():
            columns = (InboxItem.id, InboxItem.host, InboxItem.attempts)
            rows = await queue.claim(session, InboxItem, limit=limit, lease=lease, per_host=per_host,
                                     skip_hosts=skip_hosts, columns=columns)  # fmt: skip
            claimed = sorted((row_id, host, attempts) for row_id, host, attempts in rows)
        batches: dict[str, list[tuple[int, int]]] = {}
        for item_id, host, attempt in claimed:
            batches.setdefault(host, []).append((item_id, attempt))
        return batches

    async def _process_host(self, items: list[tuple[int, int]]) -> None:
        lease = timedelta(seconds=self.services.settings.worker.lease_seconds)
        async with queue.held(self.services.sessions, InboxItem, dict(items), lease):
            for item_id, attempt in items:
                await self._process_one(item_id, attempt)

    async def _inbox_loop(self) -> None:
        """The inbox as a pool: up to ``inbox_concurrency`` hosts' items at once, claiming more as soon
        as a host finishes, so one slow host only ever holds up its own activities."""
        w = self.services.settings.worker
        running: dict[str, asyncio.Task[None]] = {}
        while not self._stopping.is_set():
            free = w.inbox_concurrency - len(running)
            if free > 0:
                try:
                    batches = await self._claim_inbox(
                        free * w.inbox_per_host, skip_hosts=set(running), per_host=w.inbox_per_host
                    )
                except Exception:  # keep the loop alive through database hiccups
                    log.exception("claiming inbox items failed")
                    batches = {}
                for host, ids in list(batches.items())[:free]:
                    running[host] = asyncio.create_task(self._process_host(ids))
                for items in list(batches.values())[free:]:  # more hosts than room: back they go
                    await self._release([item_id for item_id, _ in items])
            waiting: set[asyncio.Future[Any]] = set(running.values())
            wake = asyncio.ensure_future(self._inbox_wakeup.wait())
            await asyncio.wait(waiting | {wake}, timeout=w.poll_interval, return_when=asyncio.FIRST_COMPLETED)
            wake.cancel()
            self._inbox_wakeup.clear()
            running = {h: t for h, t in running.items() if not t.done()}
        await asyncio.gather(*running.values(), return_exceptions=True)

    async def _release(self, item_ids: list[int]) -> None:
        async with self.services.sessions() as session, session.begin():
            for item in await session.scalars(select(InboxItem).where(InboxItem.id.in_(item_ids))):
                item.state, item.locked_until, item.attempts = queue.QUEUED, None, max(0, item.attempts - 1)

    async def _process_one(self, item_id: int, attempt: int | None = None) -> None:
        """Read the item (fetching what it needs, outside any transaction), then apply it and mark it
        done in one transaction, so its effects and its state commit together.

        ``attempt`` is the item's attempt count when this worker claimed it: if another worker claimed
        it since (this one was too slow and its lease ran out), this one applies nothing."""
        svc = self.services
        error: BaseException | None = None
        try:
            async with asyncio.timeout(svc.settings.worker.job_timeout):
                async with svc.reads() as session:
                    item = await session.get(InboxItem, item_id)
                if item is None:
                    return
                record = await self.dispatcher.read(item)
                async with svc.sessions() as session, session.begin():
                    # Locked (PostgreSQL), so of two workers holding the same item only one applies it.
                    item = await session.get(InboxItem, item_id, with_for_update=True)
                    if item is None or not _still_ours(item, attempt):
                        return
                    if record is not None:
                        await self.dispatcher.apply(session, record)
                    await file_for_recipients(session, item, record.actor if record is not None else None)
                    queue.mark_done(item)
            return
        except (InvalidActivityError, BlockedError) as exc:
            error = exc
            permanent = True
        except (ActivityPubError, TimeoutError, OSError) as exc:
            error = exc
            permanent = isinstance(exc, RemoteStatusError) and exc.status in (404, 410)
        except Exception as exc:  # a bug in a handler must not stop the worker
            log.exception("inbox item %s crashed its handler", item_id)
            error = exc
            permanent = True
        await self._record_failure(item_id, error, permanent, attempt)

    async def _record_failure(
        self, item_id: int, error: BaseException, permanent: bool, attempt: int | None = None
    ) -> None:
        async with self.services.sessions() as session, session.begin():
            item = await session.get(InboxItem, item_id, with_for_update=True)
            if item is None or (attempt is not None and not _still_ours(item, attempt)):
                return
            message = f"{type(error).__name__}: {error}"
            status = error.status if isinstance(error, RemoteStatusError) else None
            decision = decide(
                attempts=item.attempts, status=status, retry_after=None, now=utcnow(),
                first_queued_at=item.created_at, max_attempts=INBOX_MAX_ATTEMPTS, max_age=INBOX_MAX_AGE,
            )  # fmt: skip
            if permanent or not decision.retry or decision.next_attempt_at is None:
                queue.mark_failed(item, message)
                log.info("inbox item %s failed: %s", item.activity_ap_id, message)
            else:
                queue.mark_retry(item, decision.next_attempt_at, message)

    async def run(self) -> None:
        """Work until stop() is called, sleeping poll_interval when the queues are empty.

        Generation jobs run in a loop of their own beside the other queues, so a long job never holds
        up inbox processing or deliveries. Deliveries have their own loop too (the Deliverer's, which
        claims the next batch while the current one is sent); its signing pool stops with the worker.
        """
        jobs = runner(self.services)
        self.services.wakeups.append(self.wake)
        # Work queued by another process (a WORK event over LISTEN/NOTIFY, or seen by the SQLite poll).
        stop_listening = self.services.events.on(events.WORK, lambda _event: self.wake())
        generation = asyncio.create_task(self._loop("generation", jobs.run_once, self._jobs_wakeup))
        inbox = asyncio.create_task(self._inbox_loop())
        media = asyncio.create_task(self._loop("media", self._media_once, self._media_wakeup))
        deliverer = self.services.deliverer
        interval = self.services.settings.worker.poll_interval
        deliveries = asyncio.create_task(deliverer.run(self._stopping, self._deliveries_wakeup, interval))
        try:
            await self._loop("upkeep", self._upkeep_once, self._wakeup)
        finally:
            self.stop()  # cancelled (Ctrl-C): the other loops finish their work in hand and end too
            await generation
            await inbox
            await media
            await deliveries
            await deliverer.aclose()
            self.services.wakeups.remove(self.wake)
            stop_listening()

    async def _outgoing_once(self) -> int:
        return await self._deliveries_once() + await self._media_once()

    async def _deliveries_once(self) -> int:
        # Polls first: an ended poll's final counts and batched vote counts go out in the same pass.
        worked = await polls.run_due(self.services)
        worked += await self.services.deliverer.run_once(limit=200)
        await self._housekeeping()
        return worked

    async def _upkeep_once(self) -> int:
        """The running worker's pass beside the Deliverer's own loop: poll ends and vote counts to queue
        (the Deliverer is woken to send them), then the housekeeping of _deliveries_once."""
        worked = await polls.run_due(self.services)
        if worked:
            self._deliveries_wakeup.set()
        await self._housekeeping()
        return worked

    async def _housekeeping(self) -> None:
        await self.purge_finished()
        await self.purge_suspended()
        await self.chase_quote_requests()
        await self.forget_stale_uploads()
        await self.sweep_media_leftovers()

    async def chase_quote_requests(self, *, force: bool = False) -> int:
        """Ask again for unanswered quote authorisations, then fall back (at most once per
        QUOTE_CHASE_INTERVAL unless forced); returns how many remixes were touched."""
        if not self._due("quote requests", QUOTE_CHASE_INTERVAL, force):
            return 0
        async with self.services.sessions() as session, session.begin():
            touched = await remixes.chase_quote_requests(self.services, session)
        if touched:
            self.services.work_queued()
        return touched

    async def _media_once(self) -> int:
        """Uploads to finish, remote avatars and custom emoji to copy and remote featured collections
        (pinned posts) to read: fetches from other servers, so in a loop of their own when running (a
        slow host must not hold up deliveries)."""
        svc = self.services
        return (
            await resume_uploads(svc) + await cache_remote_avatars(svc) + await cache_remote_emojis(svc)
            + await sync_featured_collections(svc)
        )  # fmt: skip

    async def purge_finished(self, *, force: bool = False) -> int:
        """Delete inbox items and deliveries finished more than ``keep_finished_hours`` ago (at most
        once per PURGE_INTERVAL unless forced); returns how many rows went."""
        if not self._due("finished", PURGE_INTERVAL, force):
            return 0
        keep = max(
            timedelta(hours=self.services.settings.worker.keep_finished_hours), 2 * self.services.clock_window
        )
        before = utcnow() - keep
        async with self.services.sessions() as session, session.begin():
            await accounts.forget_deleted_keys(session)  # deleted accounts, once their Delete went out
            return sum(
                [await queue.purge(session, model, finished_before=before) for model in (InboxItem, Delivery)]
            )

    async def purge_suspended(self, *, force: bool = False, now: datetime | None = None) -> int:
        """Delete the data of accounts suspended longer than ``[moderation] suspension_retention_days``
        (at most once per PURGE_INTERVAL unless forced; ``now`` for tests); returns how many accounts."""
        if not self._due("suspended", PURGE_INTERVAL, force):
            return 0
        async with self.services.sessions() as session, session.begin():
            purged = await account_moderation.purge_expired(self.services, session, now=now)
        if purged:
            self.services.work_queued()  # a local account's Delete is queued
        return purged

    async def forget_stale_uploads(self, *, force: bool = False, now: datetime | None = None) -> int:
        """Delete raw uploads no row names any more (at most once per PURGE_INTERVAL unless forced); see
        :func:`fedigen.social.media.forget_stale_uploads`."""
        if not self._due("uploads", PURGE_INTERVAL, force):
            return 0
        return await forget_stale_uploads(self.services, now=now)

    async def sweep_media_leftovers(self, *, force: bool = False, now: datetime | None = None) -> int:
        """Remove what killed media writes and prunes left (at most once per LEFTOVER_INTERVAL unless
        forced); see :func:`fedigen.social.media.sweep_media_leftovers`."""
        if not self._due("media leftovers", LEFTOVER_INTERVAL, force):
            return 0
        return await sweep_media_leftovers(self.services, now=now)

    def _due(self, chore: str, interval: float, force: bool) -> bool:
        """Whether ``chore`` is to run now (never run, ``interval`` seconds since it last ran, or
        ``force``); if so, it counts as run now."""
        now = time.monotonic()
        last = self._last_run.get(chore)
        if not force and last is not None and now - last < interval:
            return False
        self._last_run[chore] = now
        return True

    async def _loop(self, name: str, one_pass: Callable[[], Awaitable[int]], wakeup: asyncio.Event) -> None:
        interval = self.services.settings.worker.poll_interval
        while not self._stopping.is_set():
            try:
                worked = await one_pass()
            except Exception:  # keep the loop alive through database hiccups
                log.exception("worker %s pass failed", name)
                worked = 0
            if worked == 0:
                try:
                    await asyncio.wait_for(wakeup.wait(), timeout=interval)
                except TimeoutError:
                    pass
                wakeup.clear()

    def stop(self) -> None:
        """Ask run() to return after the current pass."""
        self._stopping.set()
        self.wake()

    def wake(self) -> None:
        """Start the next pass now: work was queued (here, or in another process: a WORK event)."""
        self._wakeup.set()
        self._deliveries_wakeup.set()
        self._jobs_wakeup.set()
        self._inbox_wakeup.set()
        self._media_wakeup.set()


def _still_ours(item: InboxItem, attempt: int | None) -> bool:
    """The item is running under the claim that counted ``attempt`` (any claim when None)."""
    return item.state == queue.RUNNING and (attempt is None or item.attempts == attempt)


async def pending(services: Services) -> int:
    """How many inbox items are still queued (for tests and status output)."""
    async with services.sessions() as session:
        rows = await session.scalars(select(InboxItem.id).where(InboxItem.state == queue.QUEUED))
        return len(list(rows))
