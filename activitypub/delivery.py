"""Delivering queued activities: sign, POST, and let the retry policy decide what a failure means.

A host that keeps failing for ``unavailable_after`` is marked unavailable: its deliveries are then
tried only once a day (a probe), and a success makes it available again (as Mastodon's
``UnavailableDomain`` does, https://github.com/mastodon/mastodon/blob/main/app/workers/activitypub/delivery_worker.rb).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.domains import DomainPolicies
from activitypub.errors import FetchError, RemoteStatusError
from activitypub.fetch import Fetcher
from activitypub.signing import SignatureAuth, SigningKey
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
    concurrency: int = 32
    lease: timedelta = timedelta(minutes=2)


@dataclass
class _Result:
    delivery_id: int
    host: str
    status: int | None
    error: str | None
    retry_after: str | None = None
    skipped: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


class Deliverer:
    """Runs claimed delivery rows: one signed POST each, many at once."""

    def __init__(
        self, sessions: SessionFactory, fetcher: Fetcher, policy: DeliveryPolicy,
        domains: DomainPolicies | None = None,
    ) -> None:  # fmt: skip
        self.sessions = sessions
        self.fetcher = fetcher
        self.policy = policy
        # Suspended (and, in allowlist mode, not allowed) hosts get nothing: their deliveries are dropped.
        self.domains = domains
        self._semaphore = asyncio.Semaphore(policy.concurrency)

    async def run_once(self, limit: int = 200) -> int:
        """Claim up to ``limit`` due deliveries and run them; returns how many were claimed."""
        async with self.sessions() as session, session.begin():
            rows = await queue.claim(session, Delivery, limit=limit, lease=self.policy.lease)
            if not rows:
                return 0
            claimed = [(r.id, r.activity_id, r.inbox_url, r.host, r.attempts, r.created_at) for r in rows]
            activity_ids = {r[1] for r in claimed}
            activities = {
                a.id: a for a in await session.scalars(select(Activity).where(Activity.id.in_(activity_ids)))
            }
            actor_ids = {a.actor_id for a in activities.values()}
            actors = {a.id: a for a in await session.scalars(select(Actor).where(Actor.id.in_(actor_ids)))}
            hosts = {
                h.domain: h
                for h in await session.scalars(select(Host).where(Host.domain.in_({r[3] for r in claimed})))
            }
        # Renewed while they are sent (a batch to slow hosts may outlast the lease).
        async with queue.held(self.sessions, Delivery, {r[0]: r[4] for r in claimed}, self.policy.lease):
            await self._run(claimed, activities, actors, hosts)
        return len(claimed)

    async def _run(
        self, claimed: list[tuple[Any, ...]], activities: dict[int, Activity], actors: dict[int, Actor],
        hosts: dict[str, Host],
    ) -> None:  # fmt: skip
        now = utcnow()
        bodies = {a.id: json.dumps(a.document).encode() for a in activities.values()}
        tasks = []
        skipped: list[_Result] = []
        for delivery_id, activity_id, inbox, host, _attempts, _created in claimed:
            if self.domains is not None and await self.domains.refused(inbox):
                skipped.append(_Result(delivery_id, host, None, REFUSED, skipped=True))
                continue
            host_row = hosts.get(host)
            if (
                host_row
                and host_row.unavailable_since
                and host_row.last_failure_at
                and (now - host_row.last_failure_at < PROBE_INTERVAL)
            ):
                skipped.append(_Result(delivery_id, host, None, "host unavailable", skipped=True))
                continue
            activity = activities[activity_id]
            tasks.append(self._post(delivery_id, host, inbox, bodies[activity_id], actors[activity.actor_id]))
        results = skipped + list(await asyncio.gather(*tasks))
        await self._record(results, {r[0]: r for r in claimed}, now)

    async def _post(self, delivery_id: int, host: str, inbox: str, body: bytes, actor: Actor) -> _Result:
        async with self._semaphore:
            key = SigningKey(actor.public_key_id or f"{actor.ap_id}#main-key", actor.private_key_pem or "")
            try:
                response = await self.fetcher.post(inbox, body, auth=SignatureAuth(key))
            except RemoteStatusError as exc:
                return _Result(delivery_id, host, exc.status, str(exc), exc.retry_after)
            except FetchError as exc:
                return _Result(delivery_id, host, None, str(exc) or type(exc).__name__)
            if 200 <= response.status_code < 300:
                return _Result(delivery_id, host, response.status_code, None)
            return _Result(
                delivery_id, host, response.status_code, f"HTTP {response.status_code}",
                response.headers.get("retry-after"),
            )  # fmt: skip

    async def _record(
        self, results: Sequence[_Result], claimed: dict[int, tuple[Any, ...]], now: datetime
    ) -> None:
        async with self.sessions() as session, session.begin():
            # Only rows still held by this claim (same attempt count, still running): a row whose lease
            # ran out while it was being sent belongs to the worker that took it over, which records it.
            locked = select(Delivery).where(Delivery.id.in_(claimed)).with_for_update()
            rows = {
                d.id: d for d in await session.scalars(locked)
                if d.state == queue.RUNNING and d.attempts == claimed[d.id][4]
            }  # fmt: skip
            ok_hosts: set[str] = set()
            failed_hosts: set[str] = set()
            done_ids: list[int] = []
            for result in results:
                row = rows.get(result.delivery_id)
                if row is None:
                    log.info("delivery %s was taken over by another worker", result.delivery_id)
                    continue
                if result.error == REFUSED:
                    row.state, row.locked_until, row.last_error, row.finished_at = (
                        queue.CANCELLED,
                        None,
                        REFUSED,
                        now,
                    )
                    continue
                if result.ok:
                    done_ids.append(row.id)
                    ok_hosts.add(result.host)
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
            if done_ids:
                await session.execute(
                    update(Delivery)
                    .where(Delivery.id.in_(done_ids))
                    .values(state=queue.DONE, locked_until=None, last_error=None, finished_at=now)
                    .execution_options(synchronize_session=False)
                )
            await self._update_hosts(session, ok_hosts, failed_hosts - ok_hosts, now)

    async def _update_hosts(
        self, session: AsyncSession, ok: set[str], failed: set[str], now: datetime
    ) -> None:
        if not ok and not failed:
            return
        existing = {
            h.domain: h for h in await session.scalars(select(Host).where(Host.domain.in_(ok | failed)))
        }
        for domain in ok:
            host = existing.get(domain)
            if host is not None and (host.failures or host.unavailable_since):
                host.failures, host.first_failure_at, host.unavailable_since = 0, None, None
                host.last_success_at = now
        for domain in failed:
            host = existing.get(domain)
            if host is None:
                host = Host(domain=domain, failures=0)
                session.add(host)
            host.failures = (host.failures or 0) + 1
            host.first_failure_at = host.first_failure_at or now
            host.last_failure_at = now
            if not host.unavailable_since and now - host.first_failure_at >= self.policy.unavailable_after:
                host.unavailable_since = now
                log.warning("marking %s unavailable after failing since %s", domain, host.first_failure_at)
