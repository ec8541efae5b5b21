"""Prompt to delivered Create, end to end, for one follower.

One fedigen instance (SQLite, procedural backend, 1024x1024 by default) whose account has one follower
on a loopback sink (answers every POST with 202). Measured: a prompt queued as a generation job, the
job run by the worker's runner (generation, the media pipeline, the post), and the Create delivered.
Baseline, measured in the same run: a text post from create_post to its delivered Create.

    .venv/bin/python benchmarks/image_post.py [--size 1024x1024] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from _support import free_port, peer_command, server  # noqa: E402

from fedigen.config import settings_from_mapping  # noqa: E402
from fedigen.services import Services, open_services  # noqa: E402
from fedigen.social import accounts, generations
from fedigen.social import posts as posting  # noqa: E402
from fedigen.social.jobs import runner  # noqa: E402
from generation.jobs import JobSpec  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Actor, Delivery, Follow, GenerationJob  # noqa: E402


async def delivered(svc: Services) -> None:
    """Run the Deliverer until every queued delivery is done."""
    while await svc.deliverer.run_once() > 0:
        pass
    async with svc.sessions() as session:
        left = await session.scalar(select(Delivery.id).where(Delivery.state != "done").limit(1))
    assert left is None, "a delivery did not succeed"


async def text_post(svc: Services) -> float:
    start = time.perf_counter()
    async with svc.sessions() as session, session.begin():
        alice = await accounts.get_local(session, "alice")
        await posting.create_post(svc, session, alice, posting.PostRequest(text="a text post #bench"))
    await delivered(svc)
    return time.perf_counter() - start


async def image_post(svc: Services, size: str, seed: int) -> tuple[float, float]:
    """(seconds from prompt to delivered Create, seconds of those spent in the job)."""
    start = time.perf_counter()
    async with svc.sessions() as session, session.begin():
        alice = await accounts.get_local(session, "alice")
        spec = JobSpec(prompt=f"a lighthouse in fog at dawn {seed}", size=size, seed=seed)
        job = await generations.request_generation(svc, session, alice, spec, purpose="post",
                                               post=generations.post_options("benchmark"))  # fmt: skip
    job_start = time.perf_counter()
    assert await runner(svc).run_once() == 1
    job_s = time.perf_counter() - job_start
    async with svc.sessions() as session:
        done = await session.get(GenerationJob, job.id)
        assert done is not None and done.state == "done", done and done.last_error
    await delivered(svc)
    return time.perf_counter() - start, job_s


async def run(tmp: Path, sink_port: int, size: str, runs: int) -> None:
    settings = settings_from_mapping(
        {
            "instance": {"url": f"http://127.0.0.1:{free_port()}"},
            "database": {"url": f"sqlite+aiosqlite:///{tmp}/fedigen.db"},
            "media": {"dir": str(tmp / "media")},
            "federation": {"allow_private_addresses": True, "webfinger_scheme": "http"},
            "generation": {"jobs_per_hour": 0},
        },
        {},
        base_dir=str(tmp),
    )
    async with open_services(settings) as svc:
        await upgrade(svc.engine)
        async with svc.sessions() as session, session.begin():
            await accounts.ensure_instance_actor(session, svc.urls)
            alice = await accounts.create_account(session, svc.urls, "alice")
            follower = f"http://127.0.0.1:{sink_port}/users/f"
            row = await session.execute(
                insert(Actor).returning(Actor.id),
                [{"ap_id": follower, "username": "f", "domain": f"127.0.0.1:{sink_port}", "url": follower,
                  "inbox_url": f"{follower}/inbox", "shared_inbox_url": f"http://127.0.0.1:{sink_port}/inbox"}],
            )  # fmt: skip
            session.add(Follow(follower_id=row.scalar_one(), followee_id=alice.id, state="accepted"))
        await svc.signer.load()
        await text_post(svc)  # warm-up: imports, connections, prepared statements
        await image_post(svc, "256x256", 0)
        texts = [await text_post(svc) for _ in range(runs)]
        images = [await image_post(svc, size, seed) for seed in range(1, runs + 1)]
    text_s = statistics.median(texts)
    image_s = statistics.median(t for t, _ in images)
    job_s = statistics.median(j for _, j in images)
    print(f"load average: {os.getloadavg()[0]:.2f}; {runs} runs each, medians")
    print(f"baseline  text post -> delivered Create:        {text_s * 1000:8.1f} ms")
    print(f"measured  prompt ({size}) -> delivered Create: {image_s * 1000:8.1f} ms"
          f"  (of which the generation job: {job_s * 1000:.1f} ms)")  # fmt: skip
    print(f"ratio image post / text post: {image_s / text_s:.1f}x")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", default="1024x1024")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fedigen-bench-image-post-") as tmp:
        port = free_port()
        with server(peer_command("sink", port), port, Path(tmp) / "sink.log"):
            asyncio.run(run(Path(tmp), port, args.size, args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
