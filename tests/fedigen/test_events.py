"""The event hub: what a commit publishes, streaming clients woken by it (not by their poll), and events
between two sets of services on one database, as two processes would have: PostgreSQL LISTEN/NOTIFY
(reconnecting when its connection is killed), the SQLite poll."""

from __future__ import annotations

import asyncio
import gc
import json
import weakref
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import uvicorn
import websockets
from sqlalchemy import select
from sqlalchemy.engine import make_url

from fedigen import events
from fedigen.api import streaming
from fedigen.services import Services, open_services
from fedigen.social import domains, prompt_rules
from generation.errors import PromptRefusedError
from storage.models import Actor, Status, Tombstone
from tests.api.conftest import bearer, issue_token
from tests.conftest import HostRouter, Instance, make_settings, prepare_database, start_instance
from tests.remote_actor import RemoteActor

FAST = {"poll_interval": 0.05}  # the SQLite poll between processes


@pytest.fixture
async def inst(tmp_path: Path, backend: str, router: HostRouter) -> AsyncIterator[Instance]:
    async with start_instance(make_settings(tmp_path, backend, worker=FAST), router) as instance:
        yield instance


@pytest.fixture
async def other(inst: Instance) -> AsyncIterator[Services]:
    """A second process's services on the same database, its hub started (the first one's too)."""
    await inst.services.events.start()
    async with open_services(inst.settings) as svc:
        await svc.events.start()
        async with asyncio.timeout(10):
            await svc.events.connected.wait()
            await inst.services.events.connected.wait()
        yield svc


async def test_a_commit_publishes_what_it_wrote_and_a_rollback_nothing(inst: Instance) -> None:
    svc = inst.services
    with svc.events.subscription(events.DELETE, events.DOMAINS) as seen:
        async with svc.sessions() as session:
            async with session.begin():
                session.add(Tombstone(ap_id="http://remote.test/notes/1", actor_ap_id="http://remote.test/u"))
                events.later(session, events.DOMAINS)
                await session.flush()
                assert not seen.events  # nothing before the commit
            got = await seen.wait(1)
            assert sorted(e.kind for e in got) == [events.DELETE, events.DOMAINS]
            with pytest.raises(RuntimeError):
                async with session.begin():
                    session.add(Tombstone(ap_id="http://remote.test/notes/2", actor_ap_id="x"))
                    events.later(session, events.DOMAINS)
                    await session.flush()
                    raise RuntimeError("rolled back")
        assert await seen.wait(0.2) == []


@pytest.fixture
async def ws_base(inst: Instance, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """The instance served on loopback; the streaming poll set to a minute, so only events wake it."""
    monkeypatch.setattr(streaming, "POLL_SECONDS", 60.0)
    config = uvicorn.Config(inst.app, host="127.0.0.1", port=0, lifespan="off", ws="websockets-sansio",
                            log_level="warning")  # fmt: skip
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    yield f"ws://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    server.should_exit = True
    await task


async def next_message(ws: Any, seconds: float = 2.0) -> dict[str, Any]:
    async with asyncio.timeout(seconds):
        message = json.loads(await ws.recv())
    assert isinstance(message, dict)
    return message


async def test_streaming_clients_are_woken_by_events_not_their_poll(inst: Instance, ws_base: str) -> None:
    await inst.create_account("alice")
    await inst.create_account("bob")
    alice, bob = await issue_token(inst, "alice"), await issue_token(inst, "bob")
    async with websockets.connect(f"{ws_base}/api/v1/streaming?stream=user&access_token={alice}") as ws:
        await asyncio.sleep(0.1)  # the connection is waiting for events now
        posted = await inst.client.post("/api/v1/statuses", data={"status": "hi"}, headers=bearer(alice))
        update = await next_message(ws)
        assert update["event"] == "update" and json.loads(update["payload"])["id"] == posted.json()["id"]
        await inst.client.post(f"/api/v1/statuses/{posted.json()['id']}/favourite", headers=bearer(bob))
        note = await next_message(ws)
        assert note["event"] == "notification" and json.loads(note["payload"])["type"] == "favourite"


async def test_events_reach_another_process(inst: Instance, other: Services) -> None:
    """A post, a domain block and a prompt rule made in one process are known in the other at once."""
    await inst.create_account("alice")
    token = await issue_token(inst, "alice")
    assert not await other.resolver.domains.refused("https://spam.example/users/x")
    await prompt_rules.current(other)  # cached there: the check after the change must not read the cache
    with other.events.subscription(events.STATUS, events.DOMAINS, events.PROMPT_RULES, events.WORK) as seen:
        await inst.client.post("/api/v1/statuses", data={"status": "hello"}, headers=bearer(token))
        async with inst.services.sessions() as session, session.begin():
            await domains.block(inst.services, session, "spam.example", severity="suspend")
        async with inst.services.sessions() as session, session.begin():
            await prompt_rules.add(session, prompt_rules.TERM, "lighthouse")
        kinds: set[str] = set()
        async with asyncio.timeout(5):
            while not {events.STATUS, events.DOMAINS, events.PROMPT_RULES} <= kinds:
                kinds |= {e.kind for e in await seen.wait(5)}
    assert "prompt_rules" not in other.caches  # dropped by the event, read again on next use
    assert await other.resolver.domains.refused("https://spam.example/users/x")
    with pytest.raises(PromptRefusedError):
        (await prompt_rules.current(other)).check("a lighthouse at dusk")


async def test_postgres_listener_comes_back_after_its_connection_is_killed(
    inst: Instance, other: Services, backend: str
) -> None:
    if backend != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; SQLite polls")
    url = make_url(inst.settings.database_url).set(drivername="postgresql")
    admin = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        with other.events.subscription(events.WORK) as seen:
            killed = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()"
            )
            assert killed >= 1
            async with asyncio.timeout(10):
                assert [e.kind for e in await seen.wait(10)] == [events.RESYNC]  # everyone looks again
                await inst.services.events.connected.wait()
                await other.events.connected.wait()
            inst.services.work_queued()
            assert [e.kind for e in await seen.wait(5)] == [events.WORK]
    finally:
        await admin.close()


async def test_an_unstarted_hub_sends_its_events_when_it_closes(inst: Instance, backend: str) -> None:
    """A CLI command never listens; what it changed still reaches the running processes."""
    if backend != "postgresql":
        pytest.skip("on SQLite the running processes see the change in their poll")
    await inst.services.events.start()
    async with asyncio.timeout(10):
        await inst.services.events.connected.wait()
    with inst.services.events.subscription(events.DOMAINS) as seen:
        async with AsyncExitStack() as stack:
            cli = await stack.enter_async_context(open_services(inst.settings))
            async with cli.sessions() as session, session.begin():
                await domains.block(cli, session, "spam.example", severity="suspend")
            assert await seen.wait(0.3) == []  # not yet: the command's hub sends when it closes
        assert [e.kind for e in await seen.wait(5)] == [events.DOMAINS]


async def test_work_queued_in_one_process_wakes_the_workers_of_the_others(
    inst: Instance, other: Services, bob: RemoteActor
) -> None:
    """A generation job asked for through the API, an activity received: the other process hears of it."""
    await inst.create_account("alice")
    token = await issue_token(inst, "alice")
    with other.events.subscription(events.WORK) as seen:
        queued = await inst.client.post(
            "/api/v1/fedigen/generations", data={"prompt": "a lighthouse"}, headers=bearer(token)
        )
        assert queued.status_code == 202
        assert [e.kind for e in await seen.wait(5)] == [events.WORK]
        note = bob.note("<p>hi</p>", mention="http://fedigen.test/users/alice")
        assert (await bob.post(inst.client, "/users/alice/inbox", bob.create(note))).status_code == 202
        assert [e.kind for e in await seen.wait(5)] == [events.WORK]


async def test_a_status_committed_after_a_newer_one_still_reaches_the_stream(inst: Instance) -> None:
    """On PostgreSQL ids are handed out before commit, so a status can become visible after the stream
    moved past its id: the event naming it brings it, once."""
    await inst.create_account("alice")
    token = await issue_token(inst, "alice")
    svc = inst.services
    async with svc.reads() as session:
        alice = await session.scalar(select(Actor).where(Actor.username == "alice"))
    conn = streaming.Connection(alice, frozenset({"read"}))
    assert conn.subscribe("public", None) is None
    async with svc.reads() as session:
        await streaming.start(session, conn)
    for text in ("late", "early"):
        await inst.client.post("/api/v1/statuses", data={"status": text}, headers=bearer(token))
    async with svc.reads() as session:
        late, early = (await session.scalars(select(Status.id).order_by(Status.id))).all()[-2:]
    conn.last_status = early  # as if the poll had run (and sent it) when only the newer one was committed
    conn.sent_statuses.append(early)
    conn.heard([events.Event(events.STATUS, {"id": late}), events.Event(events.STATUS, {"id": early})])
    async with svc.reads() as session:
        sent = await streaming.poll(svc, session, conn)
    assert [json.loads(json.loads(m)["payload"])["id"] for m in sent] == [str(late)]
    conn.heard([events.Event(events.STATUS, {"id": late})])  # told again: not sent again
    async with svc.reads() as session:
        assert await streaming.poll(svc, session, conn) == []


async def test_closed_services_are_freed_with_their_engine(tmp_path: Path) -> None:
    """The commit listeners on the session class must not keep the hub alive: they did, and through it
    every closed Services (its engine, caches and app) stayed in memory for the life of the process."""
    settings = make_settings(tmp_path, "sqlite")
    await prepare_database(settings)
    async with open_services(settings) as svc:
        async with svc.sessions() as session, session.begin():
            session.add(Tombstone(ap_id="http://remote.test/notes/1", actor_ap_id="http://remote.test/u"))
        freed = weakref.ref(svc), weakref.ref(svc.engine.sync_engine)
    del svc, session
    gc.collect()
    assert [ref() for ref in freed] == [None, None]
