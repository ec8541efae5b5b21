"""Durable work: a delivery claimed by a worker that dies is delivered after a restart, exactly once."""

from __future__ import annotations

from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, update

from fedigen.services import open_services
from fedigen.social import follows, lookup, posts
from fedigen.social.posts import PostRequest
from fedigen.worker import Worker
from storage import queue
from storage.models import Actor, Delivery, Status, utcnow
from tests.conftest import HostRouter, Instance


async def _bob_follows_alice(stack: AsyncExitStack, a: Instance, make_instance: Any) -> Instance:
    """Start b.test with bob, give a alice, and let bob's follow of alice be accepted."""
    b: Instance = await make_instance(stack, "http://b.test")
    await a.create_account("alice")
    await b.create_account("bob")
    target = await lookup.find_actor(b.services, f"@alice@{a.settings.host}")
    async with b.services.sessions() as session, session.begin():
        bob = (await session.scalars(select(Actor).where(Actor.username == "bob"))).one()
        await follows.follow(b.services, session, bob, target)
    await b.drain()
    await a.drain()
    await b.drain()
    return b


async def test_claimed_delivery_resumes_after_restart(
    instance: Instance, make_instance: Any, router: HostRouter
) -> None:
    a = instance
    async with AsyncExitStack() as stack:
        b = await _bob_follows_alice(stack, a, make_instance)
        async with a.services.sessions() as session, session.begin():
            alice = (await session.scalars(select(Actor).where(Actor.username == "alice"))).one()
            status = await posts.create_post(a.services, session, alice, PostRequest(text="survives"))
            ap_id = status.ap_id
        # A worker claims the delivery and dies before finishing it.
        async with a.services.sessions() as session, session.begin():
            claimed = await queue.claim(session, Delivery, limit=10, lease=timedelta(minutes=2))
            assert len(claimed) == 1 and claimed[0].state == queue.RUNNING
            claimed_id = claimed[0].id

        # "Restart": a new process opens its own services on the same database.
        async with httpx.AsyncClient(transport=router) as http, open_services(a.settings, http=http) as fresh:
            worker = Worker(fresh)
            assert await worker.run_once() == 0  # the lease still holds: nobody else takes it
            async with fresh.sessions() as session, session.begin():
                await session.execute(
                    update(Delivery)
                    .where(Delivery.id == claimed_id)
                    .values(locked_until=utcnow() - timedelta(seconds=1))
                )
            assert await worker.run_once() == 1
            assert await worker.run_once() == 0
            async with fresh.sessions() as session:
                row = await session.get(Delivery, claimed_id)
                assert row is not None
                assert row.state == queue.DONE and row.attempts == 2
        await b.drain()
        async with b.services.sessions() as session:
            count = await session.scalar(
                select(func.count()).select_from(Status).where(Status.ap_id == ap_id)
            )
        assert count == 1


async def test_failed_delivery_is_retried_later_then_succeeds(
    instance: Instance, make_instance: Any, router: HostRouter
) -> None:
    a = instance
    async with AsyncExitStack() as stack:
        b = await _bob_follows_alice(stack, a, make_instance)
        transport = router.apps.pop(b.settings.host)  # b goes offline
        async with a.services.sessions() as session, session.begin():
            alice = (await session.scalars(select(Actor).where(Actor.username == "alice"))).one()
            await posts.create_post(a.services, session, alice, PostRequest(text="retry me"))
        await a.drain()
        async with a.services.sessions() as session:
            row = (await session.scalars(select(Delivery).where(Delivery.state != queue.DONE))).one()
            assert row.state == queue.QUEUED and row.attempts == 1 and row.last_error
            assert row.next_attempt_at > utcnow() + timedelta(seconds=20)
        router.apps[b.settings.host] = transport  # back online; time passes
        async with a.services.sessions() as session, session.begin():
            await session.execute(
                update(Delivery).where(Delivery.state == queue.QUEUED).values(next_attempt_at=utcnow())
            )
        await a.drain()
        async with a.services.sessions() as session:
            states = set(await session.scalars(select(Delivery.state)))
        assert states == {queue.DONE}
