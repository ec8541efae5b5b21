"""A host that keeps failing for days is marked unavailable and tried only once a day after that."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from activitypub.outbox import enqueue_deliveries, record
from storage import queue
from storage.models import Actor, Delivery, Host, utcnow
from tests.conftest import HostRouter, Instance


def sink(status: list[int], hits: list[str]) -> Starlette:
    async def inbox(request: Request) -> Response:
        hits.append(request.url.path)
        return Response(status_code=status[0])

    return Starlette(routes=[Route("/inbox", inbox, methods=["POST"])])


async def _queue_one(inst: Instance, n: int) -> None:
    async with inst.services.sessions() as session, session.begin():
        alice = (await session.scalars(select(Actor).where(Actor.username == "alice"))).one()
        doc = {
            "id": f"http://fedigen.test/activities/{n}", "type": "Like", "actor": alice.ap_id,
            "object": "http://down.test/notes/1",
        }  # fmt: skip
        activity = await record(session, alice, doc)
        await enqueue_deliveries(session, activity, ["http://down.test/inbox"])


async def _host(inst: Instance) -> Host:
    async with inst.services.sessions() as session:
        host = await session.scalar(select(Host).where(Host.domain == "down.test"))
        assert host is not None
        return host


async def test_failing_host_marked_unavailable_then_probed_daily(
    instance: Instance, router: HostRouter
) -> None:
    status, hits = [503], []
    router.add("down.test", sink(status, hits))
    await instance.create_account("alice")
    await _queue_one(instance, 1)
    await instance.worker.run_once()
    host = await _host(instance)
    assert host.failures == 1 and host.unavailable_since is None and len(hits) == 1

    # It has been failing for four days: the next failure marks it unavailable.
    async with instance.services.sessions() as session, session.begin():
        await session.execute(update(Host).values(first_failure_at=utcnow() - timedelta(days=4)))
        await session.execute(update(Delivery).values(next_attempt_at=utcnow()))
    await instance.worker.run_once()
    assert (await _host(instance)).unavailable_since is not None and len(hits) == 2

    # New work for it is not sent while the last failure is less than a day old ...
    await _queue_one(instance, 2)
    async with instance.services.sessions() as session, session.begin():
        await session.execute(update(Delivery).values(next_attempt_at=utcnow()))
    await instance.worker.run_once()
    assert len(hits) == 2
    async with instance.services.sessions() as session:
        states = set(await session.scalars(select(Delivery.state)))
    assert states == {queue.QUEUED}

    # ... a day later one probe goes out; the host is back, so it is available again.
    status[0] = 202
    async with instance.services.sessions() as session, session.begin():
        await session.execute(update(Host).values(last_failure_at=utcnow() - timedelta(days=1, minutes=1)))
        await session.execute(update(Delivery).values(next_attempt_at=utcnow()))
    await instance.worker.run_once()
    host = await _host(instance)
    assert host.unavailable_since is None and host.failures == 0
    assert len(hits) == 4


async def test_permanent_4xx_gives_up_at_once(instance: Instance, router: HostRouter) -> None:
    status, hits = [410], []
    router.add("down.test", sink(status, hits))
    await instance.create_account("alice")
    await _queue_one(instance, 1)
    await instance.worker.run_once()
    async with instance.services.sessions() as session:
        row = (await session.scalars(select(Delivery))).one()
    assert row.state == queue.FAILED and row.last_status == 410 and "permanent" in (row.last_error or "")


async def test_a_failure_counts_on_the_row_the_signature_schemes_made(
    instance: Instance, router: HostRouter
) -> None:
    """The hosts row may already be there without failures (what the host's NodeInfo said, written
    beside the delivery): the failure is counted on it, and what it held is kept."""
    router.add("down.test", sink([503], []))
    await instance.create_account("alice")
    async with instance.services.sessions() as session, session.begin():
        session.add(Host(domain="down.test", software_name="mastodon", software_version="4.5.0",
                         nodeinfo_checked_at=utcnow()))  # fmt: skip
    await _queue_one(instance, 1)
    await instance.worker.run_once()
    host = await _host(instance)
    assert host.failures == 1 and host.first_failure_at is not None and host.unavailable_since is None
    assert (host.software_name, host.software_version) == ("mastodon", "4.5.0")
    async with instance.services.sessions() as session:
        assert [row.state for row in await session.scalars(select(Delivery))] == [queue.QUEUED]
