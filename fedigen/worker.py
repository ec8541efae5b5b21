"""The worker: claims due rows from the queues and runs each, recording the outcome.

``run_once()`` does one pass over every queue, so tests drive background work step by step;
``run()`` loops until stopped. ``fedigen serve`` runs it in-process; ``fedigen worker`` runs it alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.errors import ActivityPubError, BlockedError, InvalidActivityError, RemoteStatusError
from activitypub.handlers import process
from activitypub.jsonld import id_of
from fedigen import bot
from fedigen.avatarcache import cache_remote_avatars
from fedigen.jobs import runner
from fedigen.services import Services
from fedigen.uploads import resume_uploads
from storage import queue
from storage.models import InboxItem, Status, utcnow
from storage.retry import decide

log = logging.getLogger(__name__)

INBOX_LEASE = timedelta(minutes=5)
INBOX_MAX_ATTEMPTS = 8
INBOX_MAX_AGE = timedelta(hours=12)


class Worker:
    """Runs inbox items, generation jobs, deliveries and avatar copies until stopped."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._stopping = asyncio.Event()
        self._wakeup = asyncio.Event()
        self._jobs_wakeup = asyncio.Event()

    async def run_once(self) -> int:
        """One pass over every queue (generation jobs included); returns how many rows were worked."""
        worked = await self.process_inbox(limit=50)  # first: a bot request queues a job ...
        worked += await runner(self.services).run_once()  # ... made here ...
        return worked + await self._outgoing_once()  # ... and delivered in the same pass

    async def process_inbox(self, limit: int = 50) -> int:
        """Claim and process up to ``limit`` inbox items, each in its own transaction."""
        async with self.services.sessions() as session, session.begin():
            claimed = [
                row.id for row in await queue.claim(session, InboxItem, limit=limit, lease=INBOX_LEASE)
            ]
        for item_id in claimed:
            await self._process_one(item_id)
        return len(claimed)

    async def _process_one(self, item_id: int) -> None:
        svc = self.services
        timeout = svc.settings.worker.job_timeout
        error: BaseException | None = None
        try:
            async with asyncio.timeout(timeout), svc.sessions() as session, session.begin():
                item = await session.get(InboxItem, item_id)
                if item is None:
                    return
                await process(session, svc.resolver, svc.urls, item)
                if item.ap_type == "Create":
                    await self._after_create(session, item)
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
        await self._record_failure(item_id, error, permanent)

    async def _after_create(self, session: AsyncSession, item: InboxItem) -> None:
        """A stored post that mentions the generation bot becomes a request for an image."""
        status = await session.scalar(
            select(Status).where(Status.ap_id == id_of(item.document.get("object")))
        )
        if status is not None and not status.local:
            job = await bot.on_status(self.services, session, status)
            if job is not None:
                self._jobs_wakeup.set()

    async def _record_failure(self, item_id: int, error: BaseException, permanent: bool) -> None:
        async with self.services.sessions() as session, session.begin():
            item = await session.get(InboxItem, item_id)
            if item is None:
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
        up inbox processing or deliveries.
        """
        jobs = runner(self.services)
        generation = asyncio.create_task(self._loop("generation", jobs.run_once, self._jobs_wakeup))
        try:
            await self._loop("queue", self._queues_once, self._wakeup)
        finally:
            await generation

    async def _queues_once(self) -> int:
        return await self.process_inbox(limit=50) + await self._outgoing_once()

    async def _outgoing_once(self) -> int:
        worked = await self.services.deliverer.run_once(limit=200)
        worked += await resume_uploads(self.services)
        return worked + await cache_remote_avatars(self.services)

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
        self._wakeup.set()
        self._jobs_wakeup.set()

    def wake(self) -> None:
        """Start the next pass now: work was queued by this process (other processes poll)."""
        self._wakeup.set()
        self._jobs_wakeup.set()


async def pending(services: Services) -> int:
    """How many inbox items are still queued (for tests and status output)."""
    async with services.sessions() as session:
        rows = await session.scalars(select(InboxItem.id).where(InboxItem.state == queue.QUEUED))
        return len(list(rows))
