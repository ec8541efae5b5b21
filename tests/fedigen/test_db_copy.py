"""`fedigen db copy --to URL`: every row into an empty database, in foreign-key order, with the ids and
(on PostgreSQL) the sequences right, so the instance runs on the copy. SQLite to SQLite always; SQLite to
PostgreSQL when FEDIGEN_TEST_POSTGRES_URL names a server (a database of its own is made and dropped)."""

from __future__ import annotations

import asyncio
import os
import secrets
import sqlite3
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from tests.support.server import FedigenServer


@pytest.fixture
def cli(tmp_path: Path) -> FedigenServer:
    server = FedigenServer(tmp_path / "instance")
    server.directory.mkdir()
    server.cli("init", "--url", server.base_url, "--admin", "admin")
    server.cli("account", "create", "carol", "--password-stdin", stdin="a long password\n")
    first = server.cli("post", "--as", "admin", "first #tag").stdout.split()[0]
    second = server.cli("post", "--as", "carol", "second @admin").stdout.split()[0]
    # A row referring to a later row of its own table: copied in a second pass.
    with sqlite3.connect(server.directory / "data" / "fedigen.db") as db:
        db.execute("UPDATE statuses SET in_reply_to_id = ? WHERE id = ?", (int(second), int(first)))
        # And one to an earlier row, copied in the same batch.
        db.execute("UPDATE statuses SET reblog_of_id = ? WHERE id = ?", (int(first), int(second)))
    return server


def sqlite_rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(path) as db:
        names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {
            n: db.execute(f'SELECT * FROM "{n}" ORDER BY 1').fetchall()
            for n in names
            if n != "sqlite_sequence"
        }


def test_copy_to_sqlite_keeps_every_row_and_the_instance_runs_on_it(
    cli: FedigenServer, tmp_path: Path
) -> None:
    source = cli.directory / "data" / "fedigen.db"
    target = tmp_path / "copy.db"
    out = cli.cli("db", "copy", "--to", f"sqlite+aiosqlite:///{target}").stdout
    assert "copied" in out and "statuses\t2" in out
    before, after = sqlite_rows(source), sqlite_rows(target)
    assert before.keys() == after.keys()
    for table, rows in before.items():
        assert after[table] == rows, table
    assert sum(len(r) for r in after.values()) > 10

    again = cli.cli("db", "copy", "--to", f"sqlite+aiosqlite:///{target}", check=False)
    assert again.returncode == 1 and "not empty" in again.stderr and len(again.stderr.splitlines()) == 1
    assert sqlite_rows(target) == after  # nothing written by the refused copy

    cli.config.write_text(cli.config.read_text().replace("sqlite+aiosqlite:///data/fedigen.db",
                                                         f"sqlite+aiosqlite:///{target}"))  # fmt: skip
    third = cli.cli("post", "--as", "carol", "third").stdout.split()[0]
    assert int(third) > max(row[0] for row in after["statuses"])


def test_copy_refuses_bad_targets(cli: FedigenServer, tmp_path: Path) -> None:
    for url, message in [
        ("nonsense", "not a database URL"),
        ("postgresql://u@127.0.0.1/x", "postgresql+asyncpg://"),
        ("sqlite+aiosqlite:///data/fedigen.db", "already uses"),
        ("postgresql+asyncpg://u@127.0.0.1:1/x", "failed"),
    ]:
        proc = cli.cli("db", "copy", "--to", url, check=False)
        assert proc.returncode == 1, (url, proc.stderr)
        assert proc.stderr.startswith("fedigen: ") and message in proc.stderr, (url, proc.stderr)
        assert len(proc.stderr.splitlines()) == 1, proc.stderr


PG_URL = os.environ.get("FEDIGEN_TEST_POSTGRES_URL")


@pytest.mark.skipif(not PG_URL, reason="needs a PostgreSQL server (FEDIGEN_TEST_POSTGRES_URL)")
def test_copy_to_postgresql(cli: FedigenServer) -> None:
    assert PG_URL is not None
    server = make_url(PG_URL)
    name = f"fedigen_copy_{secrets.token_hex(4)}"
    admin_dsn = server.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    target_dsn = server.set(drivername="postgresql", database=name).render_as_string(hide_password=False)
    target_url = server.set(database=name).render_as_string(hide_password=False)

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def counts() -> dict[str, int]:
        conn = await asyncpg.connect(target_dsn)
        try:
            names = [r[0] for r in await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")]  # fmt: skip
            return {n: await conn.fetchval(f'SELECT count(*) FROM "{n}"') for n in names}
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        source = sqlite_rows(cli.directory / "data" / "fedigen.db")
        cli.cli("db", "copy", "--to", target_url)
        copied = asyncio.run(counts())
        for table, rows in source.items():
            assert copied[table] == len(rows), table
        # The instance runs on the copy: new rows get ids past the copied ones (sequences set).
        cli.config.write_text(
            cli.config.read_text().replace("sqlite+aiosqlite:///data/fedigen.db", target_url)
        )
        cli.cli("account", "create", "dave", "--password-stdin", stdin="a long password\n")
        third = cli.cli("post", "--as", "dave", "on postgresql").stdout.split()[0]
        assert int(third) > max(row[0] for row in source["statuses"])
        assert "@dave@" in cli.cli("account", "list").stdout
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
