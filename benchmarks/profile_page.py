"""A profile page with 60 image posts, rendered on the server.

Builds an account with ``--posts`` public image posts (default 60: one page of the grid), each with a
media row (thumbnail, blurhash) and some with several images or a content warning, a bio and profile
fields; then asks ``GET /@bench`` through the app (routing, middleware, the queries and the template)
``--requests`` times and reports p50/p99. Baseline in the same run: a bare Jinja2 template producing a
grid of the same size (the same number of tiles, links, images and attributes) from plain
dictionaries, without the database or the app. Goal: p50 < 50 ms per page.

    .venv/bin/python benchmarks/profile_page.py [--posts 60] [--requests 200] [--database URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jinja2
from sqlalchemy import insert, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from fedigen.app import create_app  # noqa: E402
from fedigen.config import settings_from_mapping  # noqa: E402
from fedigen.services import open_services  # noqa: E402
from fedigen.social import accounts  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import MediaAttachment, Status  # noqa: E402

# Blurhashes of different pictures, so that the placeholders are not all one cached decode.
HASHES = [
    "LEHV6nWB2yk8pyo0adR*.7kCMdnj",
    "LGF5]+Yk^6#M@-5c,1J5@[or[Q6.",
    "L6PZfSi_.AyE_3t7t7R**0o#DgR4",
    "LKO2?U%2Tw=w]~RBVZRi};RPxuwH",
    "LGFFaXYk^6#M@-5c,1J5@[or[Q6.",
    "L9AB*A%LPqys8_H=yDR5nMMeVXR5",
]

BARE = jinja2.Environment(autoescape=True).from_string(
    "<!doctype html><html><head><title>{{ title }}</title>"
    '<link rel="stylesheet" href="/static/style.css"></head><body><main><h1>{{ title }}</h1><ul class="grid">'
    '{% for t in tiles %}<li class="tile"><a href="{{ t.href }}">'
    '<img class="blur" src="{{ t.blur }}" alt="" aria-hidden="true">'
    '<img class="thumb" src="{{ t.thumb }}" alt="{{ t.alt }}" loading="lazy" decoding="async" '
    'width="{{ t.w }}" height="{{ t.h }}"><span class="markers">'
    '{% if t.n > 1 %}<span class="marker multi">{{ t.n }}</span>{% endif %}</span></a></li>\n'
    "{% endfor %}</ul></main></body></html>"
)


async def build(svc, posts: int) -> None:  # type: ignore[no-untyped-def]
    """The account and its posts (not measured)."""
    async with svc.sessions() as session, session.begin():
        bench = await accounts.create_account(session, svc.urls, "bench")
        bench.display_name, bench.summary = "Bench Mark", "<p>Sixty pictures of <em>lighthouses</em>.</p>"
        bench.fields = [{"name": "Site", "value": '<a href="https://bench.example/">bench.example</a>'}]
        base = datetime.now(UTC) - timedelta(days=1)
        rows = [
            {
                "ap_id": f"{svc.urls.base}/users/bench/statuses/{n + 1}",
                "actor_id": bench.id,
                "local": True,
                "content": f"<p>lighthouse number {n} #bench</p>",
                "visibility": "public",
                "summary": "bright light" if n % 10 == 3 else "",
                "sensitive": n % 10 == 3,
                "to": [],
                "cc": [],
                "tags": [],
                "attachments": [],
                "published": base + timedelta(minutes=n),
                "extra": {"generation": {"prompt": f"a lighthouse {n}", "backend": "procedural"}},
            }
            for n in range(posts)
        ]
        await session.execute(insert(Status), rows)
        ids = list(
            await session.scalars(select(Status.id).where(Status.actor_id == bench.id).order_by(Status.id))
        )
        media = []
        for n, status_id in enumerate(ids):
            for position in range(3 if n % 7 == 0 else 1):
                key = f"{n:02x}/{n:064x}"
                media.append(
                    {
                        "account_id": bench.id,
                        "status_id": status_id,
                        "position": position,
                        "state": "ready",
                        "original_key": f"{key}.png",
                        "federation_key": f"{key}.jpg",
                        "thumbnail_key": f"{key}.t.jpg",
                        "media_type": "image/jpeg",
                        "width": 1024,
                        "height": 1024,
                        "blurhash": HASHES[(n + position) % len(HASHES)],
                        "description": f"a lighthouse {n}, picture {position}",
                        "ai_generated": True,
                        "meta": {"federation": {"width": 1024, "height": 1024}},
                        "generation": {},
                    }
                )
        await session.execute(insert(MediaAttachment), media)


def bare_tiles(posts: int) -> list[dict[str, object]]:
    from fedigen.web.blur import placeholder

    return [
        {
            "href": f"http://127.0.0.1:8000/@bench/{n}",
            "blur": placeholder(HASHES[n % len(HASHES)]),
            "thumb": f"http://127.0.0.1:8000/media/{n:02x}/{n:064x}.t.jpg",
            "alt": f"a lighthouse {n}, picture 0",
            "w": 1024,
            "h": 1024,
            "n": 3 if n % 7 == 0 else 1,
        }
        for n in range(posts)
    ]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def run(args: argparse.Namespace, tmp: Path) -> None:
    db = args.database or f"sqlite+aiosqlite:///{tmp}/fedigen.db"
    settings = settings_from_mapping(
        {
            "instance": {"url": "http://127.0.0.1:8000"},
            "database": {"url": db},
            "media": {"dir": str(tmp / "media")},
            "api": {"anonymous_rate_limit_per_5min": 0},
        },
        {},
        base_dir=str(tmp),
    )
    async with open_services(settings) as svc:
        await upgrade(svc.engine)
        if args.database:
            async with svc.engine.begin() as conn:
                await conn.execute(text("TRUNCATE media_attachments, statuses, actors CASCADE"))
        await build(svc, args.posts)
        app = create_app(settings, run_worker=False, services=svc)
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url=settings.base_url) as client,
        ):
            start = time.perf_counter()
            first = await client.get("/@bench")
            cold = (time.perf_counter() - start) * 1000
            assert first.status_code == 200, first.text[:300]
            shown = first.text.count('<li class="tile')
            assert shown == min(args.posts, 60), shown
            page = []
            for _ in range(args.requests):
                start = time.perf_counter()
                response = await client.get("/@bench")
                page.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200
    tiles = bare_tiles(min(args.posts, 60))
    bare = []
    for _ in range(args.requests):
        start = time.perf_counter()
        BARE.render(title="Bench Mark", tiles=tiles)
        bare.append((time.perf_counter() - start) * 1000)
    print(
        f"load average: {os.getloadavg()[0]:.2f}; {args.requests} renders each; {shown} tiles per page, "
        f"{len(first.text):,} bytes of HTML; first (cold) page {cold:.1f} ms"
    )
    for name, values in (
        ("bare Jinja2 grid of the same size", bare),
        ("GET /@bench (in-process ASGI)", page),
    ):
        print(f"  {name:36s} p50 {statistics.median(values):7.2f} ms   p99 {percentile(values, 99):7.2f} ms")
    p50 = statistics.median(page)
    print(
        f"profile p50 / bare template p50 = {p50 / statistics.median(bare):.1f}x; "
        f"goal p50 < 50 ms: {'met' if p50 < 50 else 'missed'} ({p50:.2f} ms)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--posts", type=int, default=60)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--database", default=None, help="a PostgreSQL URL (its tables are emptied first)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fedigen-bench-profile-") as tmp:
        asyncio.run(run(args, Path(tmp)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
