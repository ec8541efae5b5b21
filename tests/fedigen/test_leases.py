"""A row whose lease ran out is taken over by another worker, and the first worker's late result is then
dropped: a generation job, a received activity and a delivery are each done once, whichever worker
finishes first."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update

from activitypub.delivery import _Result
from fedigen.social import accounts
from generation.jobs import JobSpec, submit
from storage import queue
from storage.models import Delivery, GenerationJob, InboxItem, MediaAttachment, Notification, Status, utcnow
from tests.conftest import Instance
from tests.generation.test_jobs import FakeBackend, make_runner
from tests.remote_actor import RemoteActor

ALICE = "http://fedigen.test/users/alice"


async def count(inst: Instance, model: Any, *where: Any) -> int:
    async with inst.services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def expire_leases(inst: Instance, model: Any) -> None:
    """As if the worker holding the rows had died a while ago."""
    async with inst.services.sessions() as session, session.begin():
        await session.execute(
            update(model)
            .where(model.state == queue.RUNNING)
            .values(locked_until=utcnow() - timedelta(seconds=1))
        )


class GatedBackend(FakeBackend):
    """Makes its image only when the gate opens."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.started = asyncio.Event()

    async def generate(self, request: Any, progress: Any) -> Any:
        self.started.set()
        await self.gate.wait()
        return await super().generate(request, progress)


async def test_a_job_taken_over_is_stored_once(instance: Instance) -> None:
    await instance.create_account("alice")
    slow, other = GatedBackend(), GatedBackend()
    first, second = make_runner(instance, slow), make_runner(instance, other)
    async with instance.services.sessions() as session, session.begin():
        alice = await accounts.get_local(session, "alice")
        job_id = (
            await submit(session, first.settings, JobSpec(prompt="a lighthouse"), account_id=alice.id)
        ).id
    late = asyncio.create_task(first.run_once())
    await asyncio.wait_for(slow.started.wait(), 30)
    await expire_leases(instance, GenerationJob)
    taken_over = asyncio.create_task(second.run_once())  # claimed again (attempt 2)
    await asyncio.wait_for(other.started.wait(), 30)
    slow.gate.set()
    await late  # the first worker finishes while the second still runs: its images are dropped
    assert await count(instance, MediaAttachment, MediaAttachment.job_id == job_id) == 0
    other.gate.set()
    assert await taken_over == 1
    async with instance.services.sessions() as session:
        job = await session.get(GenerationJob, job_id)
    assert job is not None and job.state == queue.DONE and job.attempts == 2
    assert await count(instance, MediaAttachment, MediaAttachment.job_id == job_id) == 1
    assert (slow.calls, other.calls) == (1, 1)


async def test_a_received_activity_taken_over_is_applied_once(instance: Instance, bob: RemoteActor) -> None:
    await instance.create_account("alice")
    note = bob.note("<p>hi @alice</p>", mention=ALICE)
    response = await bob.post(instance.client, "/users/alice/inbox", bob.create(note))
    assert response.status_code == 202
    worker = instance.worker
    [[(item_id, stale)]] = (await worker._claim_inbox(10, skip_hosts=(), per_host=2)).values()
    await expire_leases(instance, InboxItem)
    [[(_, current)]] = (await worker._claim_inbox(10, skip_hosts=(), per_host=2)).values()
    assert (stale, current) == (1, 2)
    await worker._process_one(item_id, stale)  # the first worker, too late: applies nothing
    assert await count(instance, Status) == 0
    await worker._process_one(item_id, current)
    await worker._process_one(item_id, stale)
    assert await count(instance, Status, Status.ap_id == note["id"]) == 1
    assert await count(instance, Notification, Notification.type == "mention") == 1
    async with instance.services.sessions() as session:
        item = await session.get(InboxItem, item_id)
    assert item is not None and item.state == queue.DONE


async def test_a_delivery_taken_over_keeps_the_result_of_its_new_worker(
    instance: Instance, bob: RemoteActor
) -> None:
    await instance.create_account("alice")
    response = await bob.post(instance.client, "/users/alice/inbox", bob.activity("Follow", ALICE))
    assert response.status_code == 202
    await instance.drain()  # the Accept goes out
    token = await _token(instance)
    posted = await instance.client.post(
        "/api/v1/statuses", data={"status": "hello"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert posted.status_code == 200
    async with instance.services.sessions() as session, session.begin():
        [stale] = await queue.claim(session, Delivery, limit=10, lease=timedelta(minutes=2))
        claimed = (stale.id, stale.activity_id, stale.inbox_url, stale.host, stale.attempts, stale.created_at)
    await expire_leases(instance, Delivery)
    assert await instance.services.deliverer.run_once() == 1  # taken over and delivered
    # The first worker reports its failure late: the delivery stays done.
    late = _Result(stale.id, stale.host, 503, "HTTP 503")
    await instance.services.deliverer._record([late], {stale.id: claimed}, utcnow())
    async with instance.services.sessions() as session:
        row = await session.get(Delivery, stale.id)
    assert row is not None and row.state == queue.DONE and row.attempts == 2 and row.last_error is None


async def _token(instance: Instance) -> str:
    from tests.api.conftest import issue_token

    return await issue_token(instance, "alice")


async def test_a_live_worker_keeps_its_job_past_the_lease(instance: Instance) -> None:
    """The lease is renewed while the job runs: short leases do not hand live work to another worker."""
    await instance.create_account("alice")
    slow, other = GatedBackend(), FakeBackend()
    first, second = make_runner(instance, slow, lease=0.6), make_runner(instance, other, lease=0.6)
    async with instance.services.sessions() as session, session.begin():
        alice = await accounts.get_local(session, "alice")
        job_id = (
            await submit(session, first.settings, JobSpec(prompt="a lighthouse"), account_id=alice.id)
        ).id
    running = asyncio.create_task(first.run_once())
    await asyncio.wait_for(slow.started.wait(), 30)
    await asyncio.sleep(1.5)  # well past the lease
    assert await second.run_once() == 0
    slow.gate.set()
    assert await running == 1
    async with instance.services.sessions() as session:
        job = await session.get(GenerationJob, job_id)
    assert job is not None and job.state == queue.DONE and job.attempts == 1 and other.calls == 0
