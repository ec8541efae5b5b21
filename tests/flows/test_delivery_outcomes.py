"""Recording what a batch of deliveries did: a delivery that was sent stays recorded as sent, whatever
goes wrong while the failures of the same batch are written, so it is never sent a second time."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from activitypub.delivery import Deliverer
from activitypub.outbox import enqueue_deliveries, record
from storage import queue
from storage.models import Actor, Delivery, Host, utcnow
from tests.conftest import HostRouter, Instance


def inbox_answering(status: int, host: str, hits: Counter[str]) -> Starlette:
    async def inbox(request: Request) -> Response:
        hits[host] += 1
        return Response(status_code=status)

    return Starlette(routes=[Route("/inbox", inbox, methods=["POST"])])


async def states(inst: Instance) -> dict[str, str]:
    async with inst.services.sessions() as session:
        return {host: state for host, state in await session.execute(select(Delivery.host, Delivery.state))}


async def test_a_failure_recording_failures_keeps_the_successes(
    instance: Instance, router: HostRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    hits: Counter[str] = Counter()
    router.add("up.test", inbox_answering(202, "up.test", hits))
    router.add("down.test", inbox_answering(503, "down.test", hits))
    await instance.create_account("alice")
    async with instance.services.sessions() as session, session.begin():
        alice = (await session.scalars(select(Actor).where(Actor.username == "alice"))).one()
        like = {"id": "http://fedigen.test/activities/1", "type": "Like", "actor": alice.ap_id,
                "object": "http://up.test/notes/1"}  # fmt: skip
        activity = await record(session, alice, like)
        await enqueue_deliveries(session, activity, ["http://up.test/inbox", "http://down.test/inbox"])

    async def broken(*args: Any, **kwargs: Any) -> set[str]:
        raise RuntimeError("deadlock detected")  # what PostgreSQL may answer to the rows' FOR UPDATE

    deliverer = instance.services.deliverer
    monkeypatch.setattr(Deliverer, "_record_others", broken)
    with pytest.raises(RuntimeError, match="deadlock"):
        await deliverer.run_once()
    assert hits == {"up.test": 1, "down.test": 1}
    # The one that was sent is done; the failure is not written, so its row is still claimed (not lost).
    assert await states(instance) == {"up.test": queue.DONE, "down.test": queue.RUNNING}

    monkeypatch.undo()
    # Once its lease has run out (as after a dying worker), only the failed one is claimed and sent again.
    async with instance.services.sessions() as session, session.begin():
        await session.execute(
            update(Delivery)
            .where(Delivery.state == queue.RUNNING)
            .values(locked_until=utcnow() - timedelta(seconds=1))
        )
    assert await deliverer.run_once() == 1
    assert hits == {"up.test": 1, "down.test": 2}
    assert await states(instance) == {"up.test": queue.DONE, "down.test": queue.QUEUED}
    async with instance.services.sessions() as session:
        down = await session.scalar(select(Host).where(Host.domain == "down.test"))
        up = await session.scalar(select(Host.failures).where(Host.domain == "up.test"))
    assert down is not None and down.failures == 1  # the failure that was recorded, once
    assert not up
