"""Queues are work lists, not archives: finished inbox items and deliveries are purged after
``[worker] keep_finished_hours``, and nothing unfinished (or recent) is touched."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from activitypub.outbox import enqueue_deliveries, record
from storage import queue
from storage.models import Actor, Delivery, GenerationJob, InboxItem, utcnow
from tests.conftest import Instance


async def _rows(inst: Instance) -> None:
    """Inbox items and deliveries: old done, old failed, recent done, and still queued."""
    async with inst.services.sessions() as session, session.begin():
        alice = (await session.scalars(select(Actor).where(Actor.username == "alice"))).one()
        like = {"id": "http://fedigen.test/activities/1", "type": "Like", "actor": alice.ap_id, "object": "x"}
        activity = await record(session, alice, like)
        inboxes = [f"http://x{n}.test/inbox" for n in range(4)]
        await enqueue_deliveries(session, activity, inboxes)
        for n in range(4):
            session.add(InboxItem(activity_ap_id=f"http://x.test/a/{n}", ap_type="Like",
                                  actor_ap_id="http://x.test/u", document={}))  # fmt: skip
        await session.flush()
        for model in (InboxItem, Delivery):
            rows = list(await session.scalars(select(model).order_by(model.id)))
            queue.mark_done(rows[0], utcnow() - timedelta(days=8))
            queue.mark_failed(rows[1], "gone", utcnow() - timedelta(days=8))
            queue.mark_done(rows[2], utcnow() - timedelta(hours=1))


async def _count(inst: Instance, model: type[InboxItem] | type[Delivery], state: str) -> int:
    async with inst.services.sessions() as session:
        return int(
            await session.scalar(select(func.count()).select_from(model).where(model.state == state)) or 0
        )


async def test_finished_rows_older_than_the_setting_are_purged(instance: Instance) -> None:
    await instance.create_account("alice")
    await _rows(instance)
    worker = instance.worker
    assert await worker.purge_finished(force=True) == 4  # the old done and old failed of each queue
    for model in (InboxItem, Delivery):
        assert (await _count(instance, model, "done"), await _count(instance, model, "failed")) == (1, 0)
        assert await _count(instance, model, "queued") == 1
    # Once an hour at most, unless forced: a second pass right away purges nothing more.
    async with instance.services.sessions() as session, session.begin():
        await session.execute(update(InboxItem).values(finished_at=utcnow() - timedelta(days=30)))
    assert await worker.purge_finished() == 0
    assert await worker.purge_finished(force=True) == 1


async def test_retention_never_drops_below_twice_the_clock_window(instance: Instance) -> None:
    """An inbox item is the dedupe record of its activity: a replay within the signature clock window
    must still find it, whatever keep_finished_hours says."""
    await instance.create_account("alice")
    await _rows(instance)
    object.__setattr__(instance.services.settings.worker, "keep_finished_hours", 0.0)
    assert await instance.worker.purge_finished(force=True) == 4  # the 1-hour-old rows stay
    assert await _count(instance, InboxItem, "done") == 1


async def test_generation_jobs_are_kept(instance: Instance) -> None:
    await instance.create_account("alice")
    async with instance.services.sessions() as session, session.begin():
        alice = (await session.scalars(select(Actor).where(Actor.username == "alice"))).one()
        job = GenerationJob(account_id=alice.id, requester_id=alice.id, prompt="p", backend="procedural",
                            width=64, height=64)  # fmt: skip
        session.add(job)
        await session.flush()
        queue.mark_done(job, utcnow() - timedelta(days=400))
    await instance.worker.purge_finished(force=True)
    async with instance.services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(GenerationJob)) == 1
