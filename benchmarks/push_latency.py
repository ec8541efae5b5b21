"""Push latency: a post made through one `fedigen serve` reaching a streaming client of another.

Starts two `fedigen serve --no-worker` processes, A and B, on one database, and opens two streaming
connections (``stream=user`` of the same account): one to B, the one measured, and one to A, the
baseline (the same-process path: the event goes from the request's commit straight to the
connection, no database notification in between). Then posts ``--posts`` statuses through A's API, one
at a time, and times each ``update`` event's arrival on each connection; prints p50/p99 of both from
the POST's answer (the post is committed then: the headline) and from the POST sent, and of the POST
itself. Goal: B's p99 <= 100 ms. Both connections run the same query and rendering once woken, so
B minus A is what crossing processes costs.

On PostgreSQL (``--database postgresql+asyncpg://...``; its tables are emptied first) the event reaches
B through LISTEN/NOTIFY. On SQLite (the default) B learns of the post from its poll of the database
every ``[worker] poll_interval`` seconds (``--poll-interval``, default 1.0): the fallback, expected to
miss the goal by about that interval.

    .venv/bin/python benchmarks/push_latency.py [--posts 200] [--quick] [--database URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import websockets
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from benchmarks._support import ROOT, fedigen, fedigen_command, free_port, server  # noqa: E402
from fedigen.api.grants import digest  # noqa: E402
from fedigen.config import load_settings  # noqa: E402
from fedigen.services import open_services  # noqa: E402
from fedigen.social import accounts  # noqa: E402
from storage.clients import OAuthApp, OAuthToken  # noqa: E402

CONFIG = """\
[instance]
url = "http://127.0.0.1:{port}"
name = "bench"

[database]
url = "{database}"

[media]
dir = "data/media"

[federation]
allow_private_addresses = true
webfinger_scheme = "http"

[api]
rate_limit_per_5min = 0

[worker]
poll_interval = {poll}
"""


TABLES = "statuses, follows, oauth_tokens, oauth_apps, actors"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def prepare(config: Path, postgres: bool) -> str:
    """An empty database with alice; her token."""
    settings = load_settings(config, {})
    if postgres:  # emptied (a previous run's instance actor had another port), then migrated
        async with open_services(settings) as svc, svc.engine.begin() as conn:
            if await conn.scalar(text("SELECT to_regclass('actors') IS NOT NULL")):
                await conn.execute(text(f"TRUNCATE {TABLES} CASCADE"))
    fedigen(config, "db", "migrate")
    raw = secrets.token_urlsafe(32)
    async with open_services(settings) as svc, svc.sessions() as session, session.begin():
        alice = await accounts.create_account(session, svc.urls, "alice")
        app = OAuthApp(client_id=secrets.token_urlsafe(16), client_secret_hash=digest("s"), name="bench",
                       redirect_uris="urn:ietf:wg:oauth:2.0:oob", scopes="read write")  # fmt: skip
        session.add(app)
        await session.flush()
        session.add(
            OAuthToken(token_hash=digest(raw), app_id=app.id, account_id=alice.id, scopes="read write")
        )
    return raw


async def next_update(ws: Any, status_id: str) -> float:
    """When the update event of ``status_id`` arrived (perf_counter)."""
    async with asyncio.timeout(10):
        while True:
            message = json.loads(await ws.recv())
            if message.get("event") == "update" and json.loads(message["payload"])["id"] == status_id:
                return time.perf_counter()


async def measure(ports: tuple[int, int], token: str, posts: int) -> dict[str, list[float]]:
    stream = "/api/v1/streaming?stream=user&access_token=" + token
    times: dict[str, list[float]] = {"B (other process)": [], "A (same process)": [], "POST": [],
                                     "B, from POST sent": [], "A, from POST sent": []}  # fmt: skip
    async with (
        websockets.connect(f"ws://127.0.0.1:{ports[1]}{stream}") as far,
        websockets.connect(f"ws://127.0.0.1:{ports[0]}{stream}") as near,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports[0]}", timeout=30) as client,
    ):
        headers = {"Authorization": f"Bearer {token}"}
        for n in range(posts + 5):  # the first five warm both processes up
            started = time.perf_counter()
            response = await client.post("/api/v1/statuses", data={"status": f"push {n}"}, headers=headers)
            answered = time.perf_counter()
            if response.status_code != 200:
                raise RuntimeError(f"POST answered {response.status_code}: {response.text[:300]}")
            status_id = str(response.json()["id"])
            far_at, near_at = await asyncio.gather(next_update(far, status_id), next_update(near, status_id))
            if n >= 5:
                times["B (other process)"].append((far_at - answered) * 1000)
                times["A (same process)"].append((near_at - answered) * 1000)
                times["POST"].append((answered - started) * 1000)
                times["B, from POST sent"].append((far_at - started) * 1000)
                times["A, from POST sent"].append((near_at - started) * 1000)
            await asyncio.sleep(random.uniform(0, 0.2))  # no lockstep with the SQLite poll
    return times


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="30 posts")
    parser.add_argument("--database", default=None, help="a PostgreSQL URL (its tables are emptied first)")
    parser.add_argument("--poll-interval", type=float, default=1.0, help="SQLite: [worker] poll_interval")
    args = parser.parse_args()
    posts = 30 if args.quick else args.posts
    # The servers run this checkout's code, whatever the venv's `fedigen` was installed from.
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory(prefix="fedigen-bench-push-") as tmp:
        directory = Path(tmp)
        ports = (free_port(), free_port())
        database = args.database or f"sqlite+aiosqlite:///{directory}/fedigen.db"
        config = directory / "config.toml"
        config.write_text(CONFIG.format(port=ports[0], database=database, poll=args.poll_interval))
        token = asyncio.run(prepare(config, bool(args.database)))
        serve = [*fedigen_command(), "--config", str(config), "serve", "--no-worker", "--port"]
        with (
            server([*serve, str(ports[0])], ports[0], directory / "a.log", cwd=directory),
            server([*serve, str(ports[1])], ports[1], directory / "b.log", cwd=directory),
        ):
            times = asyncio.run(measure(ports, token, posts))
    kind = "PostgreSQL LISTEN/NOTIFY" if args.database else f"SQLite poll every {args.poll_interval:g} s"
    print(
        f"load average: {os.getloadavg()[0]:.2f}; {posts} posts through A, one at a time; "
        f"between processes: {kind}"
    )
    print("  from the POST answered (the post committed) to the update event received, unless said:")
    for name, values in times.items():
        print(f"  {name:20s} p50 {statistics.median(values):7.1f} ms   p99 {percentile(values, 99):7.1f} ms")
    far, near = percentile(times["B (other process)"], 99), percentile(times["A (same process)"], 99)
    print(f"other process p99 - same process p99 = {far - near:.1f} ms; "
          f"goal p99 <= 100 ms: {'met' if far <= 100 else 'missed'} ({far:.1f} ms)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
