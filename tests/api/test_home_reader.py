"""The home timeline reads its token and its whole page in one call of the services' reader
(``auth.authenticate_and_read``, ``storage.db.SyncReader``): every refusal of ``authenticate`` still
answers as it did, with nothing read, and the reader's SQLite connections cannot write."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, select, text, update
from sqlalchemy.exc import DBAPIError, OperationalError

import storage.db
from fedigen.api.grants import digest, lookup_token_of
from storage.clients import OAuthApp, OAuthToken
from storage.db import FAN_WIDTH, SyncReader, each
from storage.models import Actor, utcnow
from storage.signup import Signup
from tests.api.conftest import TokenMaker, bearer
from tests.conftest import Instance

HOME = "/api/v1/timelines/home"


async def answer(instance: Instance, token: str | None) -> tuple[int, str]:
    headers = bearer(token) if token is not None else {}
    got = await instance.client.get(HOME, headers=headers)
    return got.status_code, got.json()["error"] if got.status_code != 200 else ""


async def test_home_refuses_what_authenticate_refuses(instance: Instance, make_token: TokenMaker) -> None:
    alice = await instance.create_account("alice")
    good = await make_token("alice", "read")
    assert await answer(instance, good) == (200, "")
    assert await answer(instance, None) == (401, "The access token is invalid")
    assert await answer(instance, "not-a-token") == (401, "The access token is invalid")
    assert await answer(instance, await make_token("alice", "write")) == (
        403,
        "This action is outside the authorized scopes (needs read:statuses)",
    )
    revoked, expired = await make_token("alice", "read"), await make_token("alice", "read")
    async with instance.services.sessions() as session, session.begin():
        await session.execute(
            update(OAuthToken).where(OAuthToken.token_hash == digest(revoked)).values(revoked_at=utcnow())
        )
        await session.execute(update(OAuthToken).where(OAuthToken.token_hash == digest(expired))
                              .values(expires_at=utcnow() - timedelta(minutes=1)))  # fmt: skip
        app = await session.scalar(select(OAuthApp).limit(1))
        assert app is not None
        session.add(OAuthToken(token_hash=digest("app-only"), app_id=app.id, account_id=None, scopes="read"))
    assert await answer(instance, revoked) == (401, "The access token was revoked")
    assert await answer(instance, expired) == (401, "The access token expired")
    assert await answer(instance, "app-only") == (401, "This method requires an authenticated user")
    # An applicant not yet approved, then a suspended account: 403 with Mastodon's words.
    async with instance.services.sessions() as session, session.begin():
        session.add(Signup(actor_id=alice.id, confirmed_at=utcnow(), approved_at=None))
    assert await answer(instance, good) == (403, "Your login is currently pending approval")
    async with instance.services.sessions() as session, session.begin():
        await session.execute(update(Signup).where(Signup.actor_id == alice.id).values(approved_at=utcnow()))
        await session.execute(update(Actor).where(Actor.id == alice.id).values(suspended_at=utcnow()))
    assert await answer(instance, good) == (403, "Your login is currently disabled")


async def test_the_first_use_of_a_token_is_recorded(instance: Instance, make_token: TokenMaker) -> None:
    await instance.create_account("alice")
    token = await make_token("alice", "read")
    assert (await instance.client.get(HOME, headers=bearer(token))).status_code == 200
    for task in list(instance.services.pending):
        await task
    async with instance.services.sessions() as session:
        used = await session.scalar(
            select(OAuthToken.last_used_at).where(OAuthToken.token_hash == digest(token))
        )
    assert used is not None


async def test_the_token_read_beside_the_page_brings_the_account_without_its_keys(
    instance: Instance, make_token: TokenMaker
) -> None:
    await instance.create_account("alice")
    token = await make_token("alice", "read")
    found, app, account, refusal = await instance.services.reader.run(lookup_token_of, token)
    assert found.token_hash == digest(token) and app.id == found.app_id and refusal is None
    assert account.username == "alice" and account.id == found.account_id
    assert not hasattr(account, "private_key_pem") and not hasattr(account, "public_key_pem")


def _write(conn: Connection) -> None:
    conn.execute(text("UPDATE actors SET display_name = 'changed'"))


def _names(conn: Connection) -> list[str]:
    return list(conn.execute(text("SELECT username FROM actors WHERE domain IS NULL ORDER BY id")).scalars())


def _plan_mode(conn: Connection) -> str:
    return str(conn.execute(text("SHOW plan_cache_mode")).scalar_one())


async def test_the_reader_reads_and_never_writes(instance: Instance, backend: str) -> None:
    """The reader's connections are read-only (SQLite's ``query_only``, PostgreSQL's
    ``default_transaction_read_only``); on PostgreSQL they plan for each statement's parameters."""
    await instance.create_account("alice")
    reader = instance.services.reader
    assert "alice" in await reader.run(_names)
    refused = "readonly database" if backend == "sqlite" else "read-only transaction"
    with pytest.raises(DBAPIError, match=refused):
        await reader.run(_write)
    async with instance.services.sessions() as session:
        assert await session.scalar(select(Actor.display_name).where(Actor.username == "alice")) != "changed"
    if backend == "postgresql":
        assert await reader.run(_plan_mode) == "force_custom_plan"


def _backend(conn: Connection) -> int:
    return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


async def test_a_read_survives_a_connection_the_server_closed_on_postgresql(
    instance: Instance, backend: str
) -> None:
    """The reader's PostgreSQL pool does not ping its connections: a read on one the server closed (as
    a restart closes them) is read again on a new one."""
    if backend != "postgresql":
        pytest.skip("PostgreSQL's pool only")
    await instance.create_account("alice")
    reader = instance.services.reader
    first = await reader.run(_backend)
    async with instance.services.sessions() as session:
        assert await session.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
    assert "alice" in await reader.run(_names)
    assert await reader.run(_backend) != first


def _fanned(conn: Connection) -> tuple[int, list[tuple[int, str]]]:
    """The caller's backend and, for 20 reads handed to storage.db.each, each read's backend and plan
    mode."""
    reads = [lambda c, n=n: (n, _backend(c), _plan_mode(c)) for n in range(20)]
    found = each(conn, *reads)
    assert [n for n, _, _ in found] == list(range(20))  # results in the order asked
    return _backend(conn), [(pid, plans) for _, pid, plans in found]


def _fanned_write(conn: Connection) -> list[Any]:
    return each(conn, _names, _write)


async def test_reads_handed_to_each_run_beside_the_first_on_another_connection_on_postgresql(
    instance: Instance, backend: str
) -> None:
    """``storage.db.each`` inside a reader call: on PostgreSQL the first read runs on the caller's
    connection (custom plans, for a timeline's query), the others one after another on one connection
    of a second pool (at most ``FAN_WIDTH``, kept open between calls), read-only as well, and allowed
    generic plans; elsewhere one after another on the caller's connection."""
    if backend != "postgresql":
        order: list[int] = []

        def read(n: int) -> Callable[[Connection], bool]:
            def on(c: Connection) -> bool:
                order.append(n)
                return c.info is callers_info[0]

            return on

        callers_info: list[Any] = []

        def three(conn: Connection) -> list[Any]:
            callers_info.append(conn.info)
            return each(conn, read(0), read(1), read(2))

        assert await instance.services.reader.run(three) == [True, True, True]  # the caller's connection
        assert order == [0, 1, 2]
        return
    await instance.create_account("alice")
    reader = instance.services.reader
    own, found = await reader.run(_fanned)
    assert found[0] == (own, "force_custom_plan")
    fanned = {pid for pid, _ in found[1:]}
    assert own not in fanned and len(fanned) == 1
    assert {plans for _, plans in found[1:]} == {"auto"}
    _, again = await reader.run(_fanned)
    assert len(fanned | {pid for pid, _ in again[1:]}) <= FAN_WIDTH  # the same ones, none opened per read
    with pytest.raises(DBAPIError, match="read-only transaction"):
        await reader.run(_fanned_write)
    # The caller's own read fails: the others end first, their connections back in the pool.
    with pytest.raises(DBAPIError, match="read-only transaction"):
        await reader.run(lambda conn: each(conn, _write, *[_backend] * FAN_WIDTH))
    _, after = await reader.run(_fanned)
    assert len(fanned | {pid for pid, _ in after[1:]}) <= FAN_WIDTH


async def test_sqlite_reads_run_on_the_loop_and_a_busy_database_in_a_thread(
    instance: Instance, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite a page is read on the event loop's thread, by a connection that never waits for a lock;
    when SQLite answers busy there (a checkpoint, a recovery), the read runs again in a worker thread,
    whose connection waits as the others do. Any other error is the read's own."""
    if backend != "sqlite":
        pytest.skip("SQLite's reader only")
    await instance.create_account("alice")
    reader = instance.services.reader
    where: list[int] = []

    def names_where(conn: Connection) -> list[str]:
        where.append(threading.get_ident())
        return _names(conn)

    assert "alice" in await reader.run(names_where)
    assert where == [threading.get_ident()]  # the loop's own thread
    loop_conn = reader._loop_connection()
    assert loop_conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 0
    loop_conn.rollback()
    real_read = SyncReader._read

    def busy_on_the_loop(conn: Connection, fn: Any, *args: Any) -> Any:
        if conn is loop_conn:
            raise OperationalError("SELECT", {}, sqlite3.OperationalError("database is locked"))
        return real_read(conn, fn, *args)

    monkeypatch.setattr(SyncReader, "_read", staticmethod(busy_on_the_loop))
    where.clear()
    assert "alice" in await reader.run(names_where)
    assert len(where) == 1 and where[0] != threading.get_ident()  # read again in a worker thread
    with pytest.raises(DBAPIError, match="readonly database"):
        await reader.run(_write)  # not busy: the loop's answer stands


async def test_a_long_sqlite_read_leaves_the_loop_for_a_thread(
    instance: Instance, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read still running on the loop's thread past its budget is interrupted there (SQLite's
    progress handler) and read again, whole, in a worker thread: the loop is held for the budget, not
    for the read. The next read runs on the loop again."""
    if backend != "sqlite":
        pytest.skip("SQLite's reader only")
    monkeypatch.setattr(storage.db, "INLINE_BUDGET", 0.005)
    reader = instance.services.reader
    where: list[int] = []
    # About 100 ms of SQLite's own work, far past the budget: no Python runs while it does.
    slow = text(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000) "
        "SELECT count(*) FROM n"
    )

    def count(conn: Connection) -> int:
        where.append(threading.get_ident())
        return int(conn.execute(slow).scalar_one())

    assert await reader.run(count) == 300_000
    assert len(where) == 2 and where[0] == threading.get_ident() != where[1]  # given up, read in a thread
    where.clear()
    assert "imagine" in await reader.run(lambda conn: (where.append(threading.get_ident()), _names(conn))[1])
    assert where == [threading.get_ident()]  # a short read: on the loop, as before
