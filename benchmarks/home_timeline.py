"""Home timeline latency through the Mastodon API with a large database.

Builds a database of ``--statuses`` statuses (default 1,000,000) by ``--authors`` accounts (remote,
as most of a real home timeline is), of which the viewer follows ``--followed``; then asks
``GET /api/v1/timelines/home?limit=40`` (first pages and pages deep in the past, by max_id) through
the app with a bearer token, and reports p50/p99. Baseline in the same run:
``GET /api/v1/custom_emojis`` answered by the same app the same way (routing, middleware, a JSON
answer without the database). Goal: p99 < 15 ms. ``--database postgresql+asyncpg://...`` runs it
on PostgreSQL.

    .venv/bin/python benchmarks/home_timeline.py [--statuses 1000000] [--requests 400] [--database URL]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from fedigen.app import create_app  # noqa: E402
from fedigen.config import settings_from_mapping  # noqa: E402
from fedigen.services import open_services  # noqa: E402
from fedigen.social import accounts  # noqa: E402
from storage.clients import OAuthApp, OAuthToken  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Actor, Follow, Status  # noqa: E402

TOKEN = "benchmark-token"
BATCH = 20_000


async def build(svc, statuses: int, authors: int, followed: int) -> None:  # type: ignore[no-untyped-def]
    """Accounts, follows and statuses in bulk (not measured)."""
    start = time.perf_counter()
    async with svc.sessions() as session, session.begin():
        viewer = await accounts.create_account(session, svc.urls, "viewer")
        app = OAuthApp(client_id="bench", client_secret_hash="x" * 64, name="bench", redirect_uris="urn:x",
                       scopes="read write")  # fmt: skip
        session.add(app)
        await session.flush()
        session.add(OAuthToken(token_hash=hashlib.sha256(TOKEN.encode()).hexdigest(), app_id=app.id,
                               account_id=viewer.id, scopes="read write"))  # fmt: skip
        rows = []
        for n in range(authors):
            host = f"r{n % 97}.example"
            rows.append({"ap_id": f"https://{host}/users/u{n}", "username": f"u{n}", "domain": host,
                         "inbox_url": f"https://{host}/users/u{n}/inbox"})  # fmt: skip
        await session.execute(insert(Actor), rows)
        ids = list(
            await session.scalars(select(Actor.id).where(Actor.domain.is_not(None)).order_by(Actor.id))
        )
        await session.execute(
            insert(Follow),
            [{"follower_id": viewer.id, "followee_id": i, "state": "accepted"} for i in ids[:followed]],
        )
    rng = random.Random(7)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    made = 0
    while made < statuses:
        chunk = []
        for n in range(made, min(statuses, made + BATCH)):
            author = ids[rng.randrange(len(ids))]
            chunk.append({
                "ap_id": f"https://x.example/s/{n}", "actor_id": author, "content": f"<p>status {n}</p>",
                "visibility": "public", "to": [], "cc": [], "tags": [], "attachments": [], "extra": {},
                "published": base + timedelta(seconds=n),
            })  # fmt: skip
        async with svc.sessions() as session, session.begin():
            await session.execute(insert(Status), chunk)
        made += len(chunk)
    if svc.engine.dialect.name == "sqlite":
        async with svc.engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
    print(f"built {statuses:,} statuses by {authors:,} authors ({followed:,} followed) "
          f"in {time.perf_counter() - start:.0f} s")  # fmt: skip


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def timed(client: httpx.AsyncClient, url: str, n: int, headers: dict[str, str]) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        response = await client.get(url, headers=headers)
        out.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code, response.text[:200])
    return out


async def run(args: argparse.Namespace, tmp: Path) -> None:
    db = args.database or f"sqlite+aiosqlite:///{tmp}/fedigen.db"
    settings = settings_from_mapping(
        {"instance": {"url": "http://127.0.0.1:8000"}, "database": {"url": db},
         "media": {"dir": str(tmp / "media")}, "api": {"rate_limit_per_5min": 10**9}},
        {}, base_dir=str(tmp),
    )  # fmt: skip
    async with open_services(settings) as svc:
        await upgrade(svc.engine)
        if args.database:
            async with svc.engine.begin() as conn:
                await conn.execute(
                    text("TRUNCATE statuses, follows, oauth_tokens, oauth_apps, actors CASCADE")
                )
        async with svc.sessions() as session:
            built = await session.scalar(select(Actor.id).where(Actor.username == "viewer"))
        if built is None:
            await build(svc, args.statuses, args.authors, args.followed)
        app = create_app(settings, run_worker=False, services=svc)
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url=settings.base_url) as client,
        ):
            first = (await client.get("/api/v1/timelines/home?limit=40", headers=headers)).json()
            assert len(first) == 40, first
            oldest = int(first[-1]["id"])
            await timed(client, "/api/v1/custom_emojis", 50, {})  # warm-up
            await timed(client, "/api/v1/timelines/home?limit=40", 50, headers)
            baseline = await timed(client, "/api/v1/custom_emojis", args.requests, {})
            top = await timed(client, "/api/v1/timelines/home?limit=40", args.requests, headers)
            deep_ids = [random.randrange(oldest // 2, oldest) for _ in range(args.requests)]
            deep = []
            for max_id in deep_ids:
                deep += await timed(client, f"/api/v1/timelines/home?limit=40&max_id={max_id}", 1, headers)
    print(f"load average: {os.getloadavg()[0]:.2f}; {args.requests} requests each, in-process ASGI transport")
    for name, values in (("baseline GET /api/v1/custom_emojis", baseline),
                         ("home timeline, newest page", top),
                         ("home timeline, deep pages (max_id)", deep)):  # fmt: skip
        print(f"  {name:38s} p50 {statistics.median(values):6.2f} ms   p99 {percentile(values, 99):6.2f} ms")
    worst = max(percentile(top, 99), percentile(deep, 99))
    print(f"home p99 / baseline p99 = {worst / percentile(baseline, 99):.1f}x; "
          f"goal p99 < 15 ms: {'met' if worst < 15 else 'missed'} ({worst:.2f} ms)")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--statuses", type=int, default=1_000_000)
    parser.add_argument("--authors", type=int, default=5_000)
    parser.add_argument("--followed", type=int, default=300)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--database", default=None, help="a PostgreSQL URL (its tables are emptied first)")
    parser.add_argument("--keep", default=None, help="SQLite: build in (or reuse) this directory")
    args = parser.parse_args()
    if args.keep:
        Path(args.keep).mkdir(parents=True, exist_ok=True)
        asyncio.run(run(args, Path(args.keep)))
        return 0
    with tempfile.TemporaryDirectory(prefix="fedigen-bench-home-") as tmp:
        asyncio.run(run(args, Path(tmp)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
