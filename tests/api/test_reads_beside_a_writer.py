"""On SQLite, API reads never wait for the write lock: with another connection holding a write
transaction open (a long write: BEGIN IMMEDIATE and an uncommitted INSERT), the timelines answer at
once, from the last committed state. SQLite only: PostgreSQL readers never wait for writers anyway."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from storage.clients import OAuthToken
from tests.api.conftest import TokenMaker, bearer
from tests.conftest import Instance

# Far below the 15 s busy timeout a read that queued behind the writer would wait.
PROMPT = 3.0


@contextmanager
def write_lock_held(instance: Instance) -> Iterator[None]:
    """Another connection (as another process would) holds SQLite's write lock, mid-transaction."""
    path = make_url(instance.settings.database_url).database
    assert path
    writer = sqlite3.connect(path, isolation_level=None, timeout=1)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute(
            "INSERT INTO moderation_version (id, value) VALUES (2, 0)"
        )  # uncommitted: no reader sees it
        yield
    finally:
        writer.execute("ROLLBACK")
        writer.close()


async def test_timelines_answer_while_another_connection_holds_a_write_transaction(
    instance: Instance, backend: str, make_token: TokenMaker
) -> None:
    if backend != "sqlite":
        pytest.skip("SQLite's write lock only")
    await instance.create_account("alice")
    token = bearer(await make_token("alice", "read"))  # never used yet: its first use is recorded
    created = await instance.client.post(
        "/api/v1/statuses",
        json={"status": "written before the lock", "visibility": "public"},
        headers=bearer(await make_token("alice", "write")),
    )
    assert created.status_code == 200, created.text
    if instance.services.pending:
        await asyncio.wait(list(instance.services.pending))
    with write_lock_held(instance):
        async with asyncio.timeout(PROMPT):
            public = await instance.client.get("/api/v1/timelines/public")
            home = await instance.client.get("/api/v1/timelines/home", headers=token)
    assert public.status_code == 200 and home.status_code == 200, (public.text, home.text)
    assert [s["content"] for s in public.json()] == ["<p>written before the lock</p>"]
    assert [s["content"] for s in home.json()] == ["<p>written before the lock</p>"]
    # The token's first use is still recorded, once the lock is free.
    if instance.services.pending:
        await asyncio.wait(list(instance.services.pending), timeout=20)
    async with instance.services.reads() as session:
        used = list(await session.scalars(select(OAuthToken.last_used_at)))
    assert all(u is not None for u in used)
