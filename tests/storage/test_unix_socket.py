"""A PostgreSQL URL that names the server's Unix socket (``?host=/socket/dir``, as the operating guide
recommends on one machine) serves every way fedigen connects: the engine, the page reader's pools and
the event hub's LISTEN connection."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url

from fedigen.events import STATUS, EventHub
from storage.db import SyncReader, create_engine, each
from tests.conftest import PG_URL

SOCKET_DIRS = ("/tmp", "/var/run/postgresql")


def _socket_url() -> str | None:
    if PG_URL is None:
        return None
    url = make_url(PG_URL)
    port = url.port or 5432
    for folder in SOCKET_DIRS:
        if Path(folder, f".s.PGSQL.{port}").exists():
            return url.set(host=None, port=None, query={"host": folder, "port": str(port)}).render_as_string(
                hide_password=False
            )
    return None


SOCKET_URL = _socket_url()
pytestmark = pytest.mark.skipif(SOCKET_URL is None, reason="no PostgreSQL Unix socket here")


def _over_the_socket(conn: Connection) -> list[object]:
    """Where the server sees the connection come from (NULL: a Unix socket), for the reader and two
    reads it fans out."""
    where = text("SELECT inet_client_addr()")
    return [conn.execute(where).scalar(), *each(conn, lambda c: c.execute(where).scalar(),
                                                 lambda c: c.execute(where).scalar())]  # fmt: skip


async def test_engine_reader_and_event_hub_work_over_the_socket() -> None:
    assert SOCKET_URL is not None
    engine = create_engine(SOCKET_URL)
    reader = SyncReader(engine)
    hubs = [EventHub(SOCKET_URL), EventHub(SOCKET_URL)]
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT inet_client_addr()"))).scalar() is None
        assert await reader.run(_over_the_socket) == [None, None, None]
        for hub in hubs:
            await hub.start()
        async with asyncio.timeout(10):
            for hub in hubs:
                await hub.connected.wait()
        with hubs[1].subscription(STATUS) as seen:
            hubs[0].publish(STATUS, id=7)
            assert [(e.kind, e.payload) for e in await seen.wait(5)] == [(STATUS, {"id": 7})]
    finally:
        for hub in hubs:
            await hub.close()
        await reader.aclose()
        await engine.dispose()
