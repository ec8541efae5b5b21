"""Fan-out by several workers over one database: every delivery is sent exactly once, over real HTTP to a
receiver on many loopback addresses, and an outcome is never written over another worker's claim."""

from __future__ import annotations

import asyncio
from collections import Counter
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, update

from activitypub.delivery import Deliverer, DeliveryPolicy, _Result, _Work
from activitypub.fetch import Delivered
from activitypub.signing import SigningKey
from fedigen.services import Services, open_services
from fedigen.social import accounts, posts
from storage import queue
from storage.models import Activity, Actor, Delivery, Follow, utcnow
from tests.conftest import make_settings, prepare_database
from tests.support.server import free_port
from tests.support.sink import CountingSink

HOSTS = [f"127.0.2.{n}" for n in range(1, 31)]  # all of 127/8 is loopback on Linux


async def add_followers(svc: Services, author: Actor, port: int, hosts: list[str] = HOSTS) -> None:
    """Two followers on each host behind its shared inbox, and on every third host one more with only
    a personal inbox (so some hosts get two deliveries of a post)."""
    rows = []
    for n, address in enumerate(hosts):
        host = f"{address}:{port}"
        for j in range(3 if n % 3 == 0 else 2):
            ap_id = f"http://{host}/users/u{j}"
            shared = None if j == 2 else f"http://{host}/inbox"
            rows.append({
                "ap_id": ap_id, "username": f"u{j}", "domain": host, "url": ap_id,
                "inbox_url": f"{ap_id}/inbox", "shared_inbox_url": shared,
                "followers_url": f"{ap_id}/followers", "public_key_id": f"{ap_id}#k",
            })  # fmt: skip
    async with svc.sessions() as session, session.begin():
        await session.execute(insert(Actor), rows)
        ids = list(await session.scalars(select(Actor.id).where(Actor.domain.is_not(None))))
        follows = [{"ap_id": f"http://fedigen.test/follows/{i}", "follower_id": i, "followee_id": author.id,
                    "state": "accepted"} for i in ids]  # fmt: skip
        await session.execute(insert(Follow), follows)


async def post(svc: Services, text: str) -> None:
    async with svc.sessions() as session, session.begin():
        alice = await accounts.get_local(session, "alice")
        await posts.create_post(svc, session, alice, posts.PostRequest(text=text))


async def queued(svc: Services) -> set[tuple[str, str]]:
    """(inbox, activity id) of every delivery row."""
    async with svc.sessions() as session:
        rows = await session.execute(
            select(Delivery.inbox_url, Activity.ap_id).join(Activity, Activity.id == Delivery.activity_id)
        )
        return {(inbox, ap_id) for inbox, ap_id in rows}


async def not_done(svc: Services) -> int:
    async with svc.sessions() as session:
        count = select(func.count()).select_from(Delivery).where(Delivery.state != queue.DONE)
        return int(await session.scalar(count) or 0)


def counting(deliverer: Deliverer, sent: Counter[int]) -> None:
    """Count what each deliverer sends (its _deliver, wrapped on the instance)."""
    inner = deliverer._deliver
    key = id(deliverer)

    async def deliver(work: _Work) -> _Result:
        result = await inner(work)
        if not result.lost:
            sent[key] += 1
        return result

    deliverer._deliver = deliver  # type: ignore[method-assign]


async def test_concurrent_workers_send_each_delivery_exactly_once(tmp_path: Path, backend: str) -> None:
    port = free_port()
    # Three workers as three processes would be: each its own engine, HTTP pool and signing (one of them
    # in a process pool, as shipped), small batches so that they claim side by side many times over.
    pools = [("process", 1), ("thread", 1), ("inline", 0)]
    all_settings = [
        make_settings(tmp_path, backend, federation={
            "delivery_concurrency": 8, "delivery_per_host": 1, "signing_pool": kind,
            "signing_workers": workers, "http_max_connections": 10, "delivery_connections": 4,
        })
        for kind, workers in pools
    ]  # fmt: skip
    await prepare_database(all_settings[0])
    sent: Counter[int] = Counter()
    async with CountingSink(HOSTS, port) as sink, AsyncExitStack() as stack:
        workers = [await stack.enter_async_context(open_services(s)) for s in all_settings]
        first = workers[0]
        async with first.sessions() as session, session.begin():
            await accounts.ensure_instance_actor(session, first.urls)
            author = await accounts.create_account(session, first.urls, "alice")
        await add_followers(first, author, port)
        await post(first, "before the workers start")
        await post(first, "a second one")

        stopping = asyncio.Event()
        wakeups = [asyncio.Event() for _ in workers]
        for svc in workers:
            counting(svc.deliverer, sent)
        loops = [
            asyncio.create_task(svc.deliverer.run(stopping, wake, 0.05))
            for svc, wake in zip(workers, wakeups, strict=True)
        ]
        await post(workers[1], "while they run")
        await post(workers[2], "and one more")
        for wake in wakeups:
            wake.set()
        try:
            async with asyncio.timeout(90):
                while await not_done(first):  # noqa: ASYNC110 - the rows are in another engine's hands
                    await asyncio.sleep(0.1)
        finally:
            stopping.set()
            for wake in wakeups:
                wake.set()
            await asyncio.gather(*loops)
        expected = await queued(first)

    assert len(expected) == 4 * (len(HOSTS) + len(HOSTS[::3]))  # 4 posts x (shared inboxes + personal ones)
    received = Counter(
        {(f"http://{host}{path}", activity): n for (host, path, activity), n in sink.requests.items()}
    )
    assert set(received) == expected
    assert all(n == 1 for n in received.values()), [k for k, n in received.items() if n > 1]
    assert sum(sent.values()) == len(expected)
    assert len([n for n in sent.values() if n]) >= 2  # the workers really shared the work
    # No worker had more connections open than its pools allow: deliveries in flight (8) and kept idle
    # (delivery_connections), and the fetch pool's (NodeInfo probes: delivery_concurrency + 8 here).
    assert sink.peak <= 3 * (8 + 4 + 16)


async def test_an_outcome_is_not_written_over_another_workers_claim(tmp_path: Path, backend: str) -> None:
    port = free_port()
    settings = make_settings(tmp_path, backend, federation={"signing_pool": "inline"})
    await prepare_database(settings)
    async with CountingSink(HOSTS[:1], port) as sink, open_services(settings) as svc:
        async with svc.sessions() as session, session.begin():
            await accounts.ensure_instance_actor(session, svc.urls)
            author = await accounts.create_account(session, svc.urls, "alice")
        await add_followers(svc, author, port, HOSTS[:1])
        await post(svc, "one")
        deliverer: Any = svc.deliverer
        claimed = await deliverer._claim(10)
        assert len(claimed.work) == 2  # the host's shared inbox and u2's own
        late, slow = claimed.work

        # The first one's lease ended while it was being sent, and another worker claimed the row.
        async with svc.sessions() as session, session.begin():
            await session.execute(update(Delivery).where(Delivery.id == late.delivery_id)
                                  .values(locked_until=utcnow() - timedelta(seconds=1)))  # fmt: skip
            (reclaimed,) = await queue.claim(session, Delivery, limit=1, lease=timedelta(minutes=2))
            assert reclaimed.id == late.delivery_id
            their_lease = reclaimed.locked_until
        result = await deliverer._deliver(late)
        assert result.ok and sink.total == 1
        # The second waited so long that its lease is nearly over: it is not sent at all.
        nearly_over = _Work(slow.delivery_id, slow.host, slow.inbox, slow.body, slow.key,
                            utcnow() + timedelta(seconds=5))  # fmt: skip
        skipped = await deliverer._deliver(nearly_over)
        assert skipped.lost and sink.total == 1
        await deliverer._record([result, skipped], claimed.leases, utcnow())

        async with svc.sessions() as session:
            theirs = await session.get(Delivery, late.delivery_id)
            mine = await session.get(Delivery, slow.delivery_id)
            assert theirs is not None and mine is not None
            # Still the other worker's: running under its lease, not marked done by us.
            assert theirs.state == queue.RUNNING and theirs.locked_until == their_lease
            assert theirs.attempts == 2
            # Not sent and not recorded: it stays claimed until its lease ends, then anyone retries it.
            assert mine.state == queue.RUNNING and mine.finished_at is None


async def test_connections_to_every_host_are_kept_alive_for_the_next_post(
    tmp_path: Path, backend: str
) -> None:
    port = free_port()
    settings = make_settings(tmp_path, backend, federation={"signing_pool": "inline", "delivery_per_host": 1})
    await prepare_database(settings)
    async with CountingSink(HOSTS, port) as sink, open_services(settings) as svc:
        async with svc.sessions() as session, session.begin():
            await accounts.ensure_instance_actor(session, svc.urls)
            author = await accounts.create_account(session, svc.urls, "alice")
        await add_followers(svc, author, port)
        deliveries = len(HOSTS) + len(HOSTS[::3])
        await post(svc, "one")
        while await svc.deliverer.run_once() > 0:
            pass
        assert sink.total == deliveries
        # One connection per host carried its NodeInfo probe (first contact; the sink answers it 202,
        # so nothing more is asked) and then its deliveries, one at a time (delivery_per_host = 1).
        assert sink.others == len(HOSTS)
        assert svc.fetcher.delivery is not None and svc.fetcher.delivery.opened == len(HOSTS)
        assert sink.accepted == len(HOSTS)
        opened = sink.accepted

        await post(svc, "two")
        while await svc.deliverer.run_once() > 0:
            pass
        assert sink.total == 2 * deliveries
        assert sink.accepted == opened  # the second post opened no connection at all
        assert svc.fetcher.delivery.open_connections() == len(HOSTS)
    assert await not_done(svc) == 0


async def test_deliveries_being_signed_count_as_in_hand_for_their_host() -> None:
    gate = asyncio.Event()

    class SlowSigning:  # a fetcher whose signing waits for the gate
        schemes = None

        async def prepare_delivery(self, url: str, body: bytes, key: SigningKey, pool: Any) -> str:
            await gate.wait()
            return url

        async def deliver(self, prepared: str) -> Delivered:
            return Delivered(202, None)

    deliverer = Deliverer(None, SlowSigning(), DeliveryPolicy(per_host=2))  # type: ignore[arg-type]
    lease = utcnow() + timedelta(minutes=2)
    key = SigningKey("k", "")
    works = [_Work(n, "a.example", "http://a.example/inbox", b"{}", key, lease) for n in (1, 2)]
    sending = [asyncio.create_task(deliverer._deliver(work)) for work in works]
    await asyncio.sleep(0)
    # The next claim skips the host: its two deliveries are in hand though neither is being sent yet.
    assert deliverer._hosts.full() == {"a.example"}
    gate.set()
    assert all(result.ok for result in await asyncio.gather(*sending))
    assert deliverer._hosts.full() == set()
