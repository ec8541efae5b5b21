"""``account_status_counts`` is kept by the database: triggers on ``statuses`` follow every insert,
delete and change of a status's liveness or author (SQLite and PostgreSQL, at the head revision), and
migration 0025 fills it from the rows a database already has."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select, text, update

from storage.db import create_engine
from storage.migrate import upgrade
from storage.models import AccountStatusCount, Actor, Status
from tests.conftest import Instance
from tests.storage.test_counters_migration import actor, status

T0 = datetime(2026, 1, 1, tzinfo=UTC)


async def counted(instance: Instance) -> dict[int, tuple[int, datetime | None]]:
    async with instance.services.sessions() as session:
        rows = await session.execute(select(AccountStatusCount))
        return {r.actor_id: (r.statuses, r.last_status_at) for (r,) in rows}


def note(n: int, author: int, **extra: Any) -> dict[str, Any]:
    return {"ap_id": f"https://r.test/s/{n}", "actor_id": author, "content": "", "visibility": "public",
            "to": [], "cc": [], "tags": [], "attachments": [], "extra": {},
            "published": T0 + timedelta(minutes=n), **extra}  # fmt: skip


async def test_the_triggers_follow_every_change_of_a_status(instance: Instance) -> None:
    async with instance.services.sessions() as session, session.begin():
        await session.execute(insert(Actor), [
            {"ap_id": f"https://r.test/u/{n}", "username": f"u{n}", "domain": "r.test"} for n in (1, 2)
        ])  # fmt: skip
        remote = select(Actor.id).where(Actor.domain == "r.test").order_by(Actor.id)
        a, b = list(await session.scalars(remote))
        await session.execute(insert(Status), [note(1, a), note(2, a), note(3, a), note(4, b)])
        ids = {s.ap_id[-1]: s.id for s in await session.scalars(select(Status))}
        # A boost and a deleted status count for nobody.
        await session.execute(insert(Status), [note(5, b, reblog_of_id=ids["1"]),
                                               note(6, b, deleted_at=T0)])  # fmt: skip
    assert await counted(instance) == {a: (3, T0 + timedelta(minutes=3)), b: (1, T0 + timedelta(minutes=4))}

    async with instance.services.sessions() as session, session.begin():
        await session.execute(update(Status).where(Status.id == ids["2"]).values(deleted_at=T0))  # deleted
        await session.execute(delete(Status).where(Status.id == ids["1"]))  # gone, and its boost with it
        await session.execute(update(Status).where(Status.id == ids["3"]).values(actor_id=b))  # moved
        await session.execute(update(Status).where(Status.ap_id.like("%/6")).values(deleted_at=None))  # back
    found = await counted(instance)
    assert {k: v[0] for k, v in found.items()} == {a: 0, b: 3}
    # last_status_at moves only forward, as Mastodon's does.
    assert found[b][1] == T0 + timedelta(minutes=6) and found[a][1] == T0 + timedelta(minutes=3)

    async with instance.services.sessions() as session:
        recount = dict((await session.execute(text(
            "SELECT actor_id, count(*) FROM statuses WHERE deleted_at IS NULL AND reblog_of_id IS NULL"
            " GROUP BY actor_id"
        ))).all())  # fmt: skip
    assert recount == {b: 3}


async def test_the_migration_counts_what_is_there(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/old.db")
    try:
        await upgrade(engine, "0023_web_account")
        rows = [actor(1), actor(2), actor(3), status(10, 1), status(11, 1), status(12, 2, reblog_of=10),
                status(13, 2), status(14, 3, deleted=True)]  # fmt: skip
        async with engine.begin() as conn:
            for row in rows:
                await conn.execute(text(row))
        await upgrade(engine)
        async with engine.connect() as conn:
            found = (await conn.execute(text(
                "SELECT actor_id, statuses FROM account_status_counts ORDER BY actor_id"
            ))).all()  # fmt: skip
    finally:
        await engine.dispose()
    assert [tuple(r) for r in found] == [(1, 2), (2, 1)]
