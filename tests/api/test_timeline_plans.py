"""The timeline queries (home, followed hashtags, public, hashtag, account) are served by indexes on
both databases: their plans, read with EXPLAIN on a filled and analysed database, never read the whole
statuses table (nor every account, nor every hashtag row).

SQLite: EXPLAIN QUERY PLAN, where a ``SCAN`` of a table (with or without an index) reads all of it.
PostgreSQL: EXPLAIN with ``enable_seqscan`` off, so a ``Seq Scan`` left in the plan means no index
could serve that table."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, text

from fedigen.api import entities, page_rows
from fedigen.api.pagination import Page
from fedigen.social import timelines
from fedigen.social.visibility import visible_to
from storage.models import Actor, Follow, Status, StatusTag
from tests.conftest import Instance

BIG_TABLES = ("statuses", "actors", "status_tags")


async def fill(instance: Instance) -> int:
    """200 remote authors with 3,000 statuses, each with one of 50 hashtags; the viewer follows 20."""
    rng = random.Random(3)
    viewer = await instance.create_account("viewer")
    async with instance.services.sessions() as session, session.begin():
        await session.execute(insert(Actor), [
            {"ap_id": f"https://r{n % 7}.test/u/{n}", "username": f"u{n}", "domain": f"r{n % 7}.test"}
            for n in range(200)
        ])  # fmt: skip
        authors = list(await session.scalars(select(Actor.id).where(Actor.domain.is_not(None))))
        await session.execute(insert(Follow), [
            {"follower_id": viewer.id, "followee_id": i, "state": "accepted"} for i in authors[:20]
        ])  # fmt: skip
        base = datetime(2026, 1, 1, tzinfo=UTC)
        await session.execute(insert(Status), [
            {"ap_id": f"https://x.test/s/{n}", "actor_id": rng.choice(authors), "content": "<p>hi</p>",
             "visibility": "public" if n % 5 else "unlisted", "to": [], "cc": [], "tags": [],
             "attachments": [], "extra": {}, "published": base + timedelta(minutes=n)}
            for n in range(3000)
        ])  # fmt: skip
        ids = list(await session.scalars(select(Status.id)))
        await session.execute(insert(StatusTag), [{"status_id": i, "name": f"tag{i % 50}"} for i in ids])
    async with instance.services.engine.begin() as conn:
        await conn.execute(text("ANALYZE"))
    return viewer.id


def queries(viewer_id: int, dialect: str) -> dict[str, Any]:
    """Each timeline's query, as the API reads a page of it (Core, with the authors joined)."""
    home = timelines.home_query(viewer_id, dialect)
    found = {
        "home": home,
        "home, id window": timelines.recent(home, 1000),
        "home, nothing excluded": timelines.home_query(viewer_id, dialect, exclusions=False),
        "home, followed hashtags": timelines.followed_tags_query(viewer_id, ["tag7"]),
        "public": timelines.without_blocked(timelines.public_query(), viewer_id),
        "public, local": timelines.public_query(local=True),
        "public, remote": timelines.public_query(remote=True),
        "hashtag": timelines.without_blocked(timelines.tag_query("tag7"), viewer_id),
        "account": timelines.account_query(viewer_id + 5, visible_to(viewer_id)),
        "account, no replies or boosts": timelines.account_query(
            viewer_id + 5, visible_to(None), exclude_replies=True, exclude_reblogs=True
        ),
    }
    pages = {"": Page(limit=40), ", deep page": Page(limit=40, max_id=1500)}
    return {
        name + suffix: page_rows.with_authors(page.apply(query, Status.id))
        for name, query in found.items()
        for suffix, page in pages.items()
    }


def full_scans_sqlite(plan: list[str]) -> list[str]:
    def reads_all(line: str) -> bool:
        words = line.split()
        if len(words) < 2 or words[0] != "SCAN" or words[1] not in BIG_TABLES:
            return False
        # A partial index holds only the few suspended or silenced accounts.
        return not any(f"INDEX {name}" in line for name in ("ix_actors_suspended", "ix_actors_silenced"))

    return [line for line in plan if reads_all(line)]


def full_scans_postgresql(plan: list[str]) -> list[str]:
    return [line for line in plan if any(f"Seq Scan on {table} " in line + " " for table in BIG_TABLES)]


async def plan_of(conn: Any, dialect: str, query: Any) -> list[str]:
    sql = str(query.compile(conn.sync_connection, compile_kwargs={"literal_binds": True}))
    if dialect == "sqlite":
        return [row[-1] for row in await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)]
    return [row[0] for row in await conn.exec_driver_sql("EXPLAIN " + sql)]


async def test_timeline_queries_use_indexes(instance: Instance) -> None:
    viewer_id = await fill(instance)
    dialect = instance.services.engine.dialect.name
    full_scans: Callable[[list[str]], list[str]] = (
        full_scans_sqlite if dialect == "sqlite" else full_scans_postgresql
    )
    async with instance.services.engine.connect() as conn:
        if dialect == "postgresql":
            await conn.exec_driver_sql("SET enable_seqscan = off")
        plans = {
            name: await plan_of(conn, dialect, query) for name, query in queries(viewer_id, dialect).items()
        }
        await conn.rollback()
    problems = {name: full_scans(plan) for name, plan in plans.items() if full_scans(plan)}
    assert problems == {}, "\n\n".join(f"{name}:\n  " + "\n  ".join(plans[name]) for name in problems)
    # Each one does read statuses, through an index.
    index_use = "SEARCH" if dialect == "sqlite" else "Index"
    for name, plan in plans.items():
        assert any(index_use in line and "statuses" in line for line in plan), (name, plan)


async def test_timeline_reads_are_planned_for_their_parameters_on_postgresql(instance: Instance) -> None:
    """A generic plan of the home query (PostgreSQL's choice after five runs of a prepared statement)
    reads every status: a timeline page's transaction asks for plans made for its own parameters."""
    viewer = await instance.create_account("viewer")
    postgresql = instance.services.engine.dialect.name == "postgresql"
    async with instance.services.reads() as session:
        home = Page(limit=40).apply(timelines.home_query(viewer.id), Status.id)
        await page_rows.page_records(session, home)
        if postgresql:
            assert await session.scalar(text("SHOW plan_cache_mode")) == "force_custom_plan"
    if postgresql:  # only for that transaction
        async with instance.services.reads() as session:
            assert await session.scalar(text("SHOW plan_cache_mode")) == "auto"


async def test_account_counts_read_no_statuses(instance: Instance) -> None:
    """The statuses count and last status of a page's authors come from account_status_counts by its
    primary key (kept by triggers), the followers and following counts through the follows' indexes:
    no status row is read, nor any table whole."""
    viewer_id = await fill(instance)
    dialect = instance.services.engine.dialect.name
    counts = entities._ACCOUNT_COUNTS.params(ids=list(range(viewer_id + 1, viewer_id + 41)))
    async with instance.services.engine.connect() as conn:
        if dialect == "postgresql":
            await conn.exec_driver_sql("SET enable_seqscan = off")
        plan = await plan_of(conn, dialect, counts)
        await conn.rollback()
    assert not any(" statuses" in line for line in plan), plan
    if dialect == "sqlite":
        assert any("SEARCH account_status_counts USING INTEGER PRIMARY KEY" in line for line in plan), plan
        assert not any(line.startswith("SCAN") for line in plan), plan
    else:
        assert not any("Seq Scan" in line for line in plan), plan
