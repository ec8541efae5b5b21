"""One slow server never stalls the instance: while fedigen waits on it (a mention to resolve, a
search with resolve=true, a boosted post to fetch), no database transaction is open for it, so every
unrelated request, reads and writes alike, goes through at once.

The slow server here does not answer at all until the test lets it: if anything held the database
while waiting for it, the unrelated requests would wait too, and the test would time out."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import text
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.api.conftest import bearer, issue_token
from tests.conftest import HostRouter, Instance
from tests.remote_actor import PUBLIC, RemoteActor, RemoteServer

BASE = "http://fedigen.test"
PROMPT_WAIT = 5.0  # how long an unrelated request may take before the test calls it stalled


class Gate:
    """An ASGI wrapper that holds every request until ``opened`` is set, and says when one arrived."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.arrived = asyncio.Event()
        self.opened = asyncio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.arrived.set()
            await self.opened.wait()
        await self.app(scope, receive, send)


@pytest.fixture
def slow(router: HostRouter) -> tuple[RemoteServer, Gate]:
    server = RemoteServer("slow.test")
    gate = Gate(server.app)
    router.add(server.host, gate)
    return server, gate


async def unrelated_requests_go_through(instance: Instance, token: dict[str, str]) -> None:
    """A write and two reads by someone else, each promptly."""
    posted = await asyncio.wait_for(
        instance.client.post("/api/v1/statuses", json={"status": "meanwhile"}, headers=token), PROMPT_WAIT
    )
    assert posted.status_code == 200, posted.text
    for path in ("/api/v1/timelines/home", f"/api/v1/statuses/{posted.json()['id']}"):
        read = await asyncio.wait_for(instance.client.get(path, headers=token), PROMPT_WAIT)
        assert read.status_code == 200


async def while_waiting(
    gate: Gate, slow_work: Awaitable[Any], meanwhile: Callable[[], Awaitable[None]]
) -> Any:
    """Start ``slow_work``, wait until it reaches the slow server, run ``meanwhile``, then let it finish."""
    task = asyncio.ensure_future(slow_work)
    await asyncio.wait_for(gate.arrived.wait(), PROMPT_WAIT)
    try:
        await meanwhile()
    finally:
        gate.opened.set()
    return await asyncio.wait_for(task, PROMPT_WAIT)


async def slow_someone(instance: Instance, slow: tuple[RemoteServer, Gate]) -> tuple[Gate, Any, Any]:
    """@someone on the slow server, and alice (who will wait on it) and carol (who must not)."""
    server, gate = slow
    server.add_actor("someone")
    for name in ("alice", "carol"):
        await instance.create_account(name)
    return gate, bearer(await issue_token(instance, "alice")), bearer(await issue_token(instance, "carol"))


async def test_a_post_mentioning_an_account_on_a_slow_server(
    instance: Instance, slow: tuple[RemoteServer, Gate]
) -> None:
    gate, alice, carol = await slow_someone(instance, slow)
    post = instance.client.post("/api/v1/statuses", json={"status": "hi @someone@slow.test"}, headers=alice)
    response = await while_waiting(gate, post, lambda: unrelated_requests_go_through(instance, carol))
    assert response.status_code == 200, response.text
    assert [m["acct"] for m in response.json()["mentions"]] == ["someone@slow.test"]


async def test_a_search_resolving_a_handle_on_a_slow_server(
    instance: Instance, slow: tuple[RemoteServer, Gate]
) -> None:
    gate, alice, carol = await slow_someone(instance, slow)
    search = instance.client.get(
        "/api/v2/search", params={"q": "@someone@slow.test", "resolve": "true"}, headers=alice
    )
    response = await while_waiting(gate, search, lambda: unrelated_requests_go_through(instance, carol))
    assert [a["acct"] for a in response.json()["accounts"]] == ["someone@slow.test"]


async def test_a_boost_of_a_post_on_a_slow_server(
    instance: Instance, slow: tuple[RemoteServer, Gate], bob: RemoteActor
) -> None:
    server, gate = slow
    someone = server.add_actor("someone")
    boosted = someone.note("<p>far away</p>")
    server.serve(boosted)
    for name in ("alice", "carol"):
        await instance.create_account(name)
    # alice follows bob, so bob's boost of the slow server's post is fetched for her timeline.
    follow = await instance.client.post(
        f"/api/v1/accounts/{await remote_id(instance, bob)}/follow",
        headers=bearer(await issue_token(instance, "alice")),
    )
    assert follow.status_code == 200
    await bob.post(
        instance.client,
        "/inbox",
        bob.activity("Accept", {"type": "Follow", "actor": f"{BASE}/users/alice", "object": bob.ap_id}),
    )
    await instance.drain()
    announce = bob.activity("Announce", boosted["id"], to=[PUBLIC], cc=[bob.followers])
    assert (await bob.post(instance.client, "/inbox", announce)).status_code == 202
    carol = bearer(await issue_token(instance, "carol"))
    await while_waiting(gate, instance.drain(), lambda: unrelated_requests_go_through(instance, carol))
    home = await instance.client.get(
        "/api/v1/timelines/home", headers=bearer(await issue_token(instance, "alice"))
    )
    assert [s["reblog"]["uri"] for s in home.json() if s.get("reblog")] == [boosted["id"]]


async def remote_id(instance: Instance, actor: RemoteActor) -> int:
    async with instance.services.sessions() as session, session.begin():
        return (await instance.services.resolver.get_actor(actor.ap_id, session=session)).id


async def test_reads_never_wait_for_the_write_lock(instance: Instance) -> None:
    """On SQLite a request that only reads begins DEFERRED: it reads beside a writer holding the lock."""
    await instance.create_account("carol")
    carol = bearer(await issue_token(instance, "carol"))
    posted = await instance.client.post("/api/v1/statuses", json={"status": "hello"}, headers=carol)
    async with instance.services.sessions() as session, session.begin():
        await session.execute(text("UPDATE actors SET display_name = display_name"))  # holds the write lock
        for path in (f"/api/v1/statuses/{posted.json()['id']}", "/api/v1/timelines/public", "/@carol"):
            read = await asyncio.wait_for(instance.client.get(path, headers=carol), PROMPT_WAIT)
            assert read.status_code == 200, path


async def test_a_flood_from_a_slow_server_does_not_delay_anyone_else(
    instance: Instance, slow: tuple[RemoteServer, Gate], bob: RemoteActor
) -> None:
    """16 Creates whose objects hang on their server, then a Follow from another server: the running
    worker accepts the Follow at once, while the slow server's activities wait on it alone."""
    server, gate = slow
    someone = server.add_actor("someone")
    await instance.create_account("alice")
    gate.opened.set()  # known beforehand (their keys verified the POSTs); then the server hangs
    await instance.services.resolver.get_actor(someone.ap_id)
    await instance.services.resolver.get_actor(bob.ap_id)
    gate.opened.clear()
    gate.arrived.clear()
    for n in range(16):
        note_id = f"{someone.ap_id}/statuses/{n}"  # sent by reference: fetched from the hanging server
        create = someone.activity("Create", note_id, to=[PUBLIC])
        assert (await someone.post(instance.client, "/inbox", create)).status_code == 202
    follow = bob.activity("Follow", f"{BASE}/users/alice")
    assert (await bob.post(instance.client, "/users/alice/inbox", follow)).status_code == 202
    worker = instance.worker
    running = asyncio.create_task(worker.run())
    try:
        await asyncio.wait_for(gate.arrived.wait(), PROMPT_WAIT)  # the slow server's items started
        async with asyncio.timeout(PROMPT_WAIT):
            while not any(r.json["type"] == "Accept" for r in bob.server.posts()):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    finally:
        gate.opened.set()
        worker.stop()
        await asyncio.wait_for(running, 30)
