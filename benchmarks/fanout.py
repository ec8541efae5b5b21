"""Fan-out: one post to 10,000 followers on 1,000 hosts, delivered by the Deliverer as the worker runs it.

Every host (127.0.X.Y:PORT, 127.0.0.1 .. 127.0.3.232: all of 127/8 is loopback on Linux) has 10
followers behind one shared inbox, so the post makes 1,000 deliveries, all answered 202 by one sink
process. Deliveries go through ``Deliverer.run`` (claiming the next batch while the current one is
signed and sent, signing in the signing pool). Baselines, measured in the same run: raw RSA-2048
signatures/s with a loaded key on ALL cores (one process per core) and on one core, and
``sign_request`` calls/s on one core. Also printed: the sink's own ceiling (``wrk`` against it), so
the receiver is known not to be the limit, and the load average.
Goal: deliveries/s >= 0.5 x the raw signature rate on one core (the issue's baseline was measured in one
process); the ratio to all cores is printed beside it.

    .venv/bin/python benchmarks/fanout.py [--quick] [--concurrency N] [--signing-pool KIND] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import multiprocessing
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from _support import cpu_seconds, free_port, peer_command, server, stub_sniffio  # noqa: E402

from activitypub.signing import SigningKey, sign_request  # noqa: E402
from activitypub.signing_pool import SigningPool  # noqa: E402
from fedigen.config import Settings, settings_from_mapping  # noqa: E402
from fedigen.services import Services, open_services, settle_heap  # noqa: E402
from fedigen.social import accounts  # noqa: E402
from fedigen.social import posts as posting  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Activity, Actor, Delivery, Follow  # noqa: E402

GOAL = 0.5
AS2 = "application/activity+json"
FOLLOWERS_PER_HOST = 10
DRAIN_LIMIT_S = 1800.0


@dataclass
class Phase:
    """One post delivered: queued by create_post, then drained."""

    deliveries: int
    post_s: float
    deliver_s: float
    cpu_s: float  # this process
    passes: int

    @property
    def rate(self) -> float:
        """Deliveries/s from the post to its last delivery recorded."""
        return self.deliveries / (self.post_s + self.deliver_s)


@dataclass
class Result:
    hosts: int
    queued: int
    states: dict[str, int]
    errors: list[str]
    cold: Phase  # the first post: every host new (NodeInfo asked, connections opened, hosts learned)
    signing: list[tuple[float, float]]  # (sign_request/s, raw sign/s), before and after delivering
    all_cores: list[float]  # raw sign/s on every core at once, before and after delivering
    pool_start_s: float
    children_cpu_s: float  # the signing processes, all posts (their start not counted)
    # The posts after the first (--repeat): what a server that has delivered to these hosts before does. One
    # post is about half a second of delivering, too short to stand for the machine on its own.
    warms: list[Phase]

    @property
    def warm(self) -> Phase:
        """The warm post of median rate (the headline)."""
        return sorted(self.warms, key=lambda phase: phase.rate)[len(self.warms) // 2]


def host_of(n: int, port: int) -> str:
    """The n-th host (n >= 1): 127.0.0.1, ..., 127.0.0.255, 127.0.1.0, ... with the sink's port."""
    return f"127.0.{n // 256}.{n % 256}:{port}"


def bench_settings(tmpdir: Path, args: argparse.Namespace) -> Settings:
    return settings_from_mapping(
        {
            "instance": {"url": f"http://127.0.0.1:{free_port()}", "name": "bench"},
            "database": {"url": f"sqlite+aiosqlite:///{tmpdir}/fedigen.db"},
            "media": {"dir": str(tmpdir / "media")},
            "federation": {
                "allow_private_addresses": True,
                "webfinger_scheme": "http",
                "delivery_concurrency": args.concurrency,
                "delivery_per_host": args.per_host,
                "signing_pool": args.signing_pool,
                "signing_workers": args.signing_workers,
                "http_max_connections": args.max_connections,
            },
        },
        {},
        base_dir=str(tmpdir),
    )


async def add_followers(svc: Services, author: Actor, hosts: int, port: int) -> None:
    """Insert remote actors and accepted Follows of ``author`` in bulk (setup, not measured)."""
    rows = []
    for n in range(1, hosts + 1):
        host = host_of(n, port)
        for j in range(FOLLOWERS_PER_HOST):
            ap_id = f"http://{host}/users/u{j}"
            rows.append({
                "ap_id": ap_id, "username": f"u{j}", "domain": host, "url": ap_id,
                "inbox_url": f"{ap_id}/inbox", "shared_inbox_url": f"http://{host}/inbox",
                "followers_url": f"{ap_id}/followers", "public_key_id": f"{ap_id}#main-key",
            })  # fmt: skip
    async with svc.sessions() as session, session.begin():
        await session.execute(insert(Actor), rows)
        ids = list(await session.scalars(select(Actor.id).where(Actor.domain.is_not(None))))
        follows = [
            {"ap_id": f"http://bench.invalid/follows/{i}", "follower_id": i, "followee_id": author.id,
             "state": "accepted"}
            for i in ids
        ]  # fmt: skip
        await session.execute(insert(Follow), follows)


def signing_rates(author: Actor, body: bytes, inbox: str, calls: int) -> tuple[float, float]:
    """(sign_request calls/s, raw RSA-2048 PKCS#1 v1.5 signatures/s with a loaded key), one core."""
    assert author.private_key_pem and author.public_key_id
    start = time.perf_counter()
    for _ in range(calls):
        sign_request(
            method="POST", url=inbox, key_id=author.public_key_id, private_key_pem=author.private_key_pem,
            body=body, content_type="application/activity+json",
        )  # fmt: skip
    full = calls / (time.perf_counter() - start)
    key = serialization.load_pem_private_key(author.private_key_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    raw_calls = calls * 20
    start = time.perf_counter()
    for _ in range(raw_calls):
        key.sign(body, padding.PKCS1v15(), hashes.SHA256())
    return full, raw_calls / (time.perf_counter() - start)


def _sign_for(pem: str, body: bytes, seconds: float) -> int:
    """In a process of its own: raw signatures made in ``seconds`` with the key already loaded."""
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    done, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        for _ in range(20):
            key.sign(body, padding.PKCS1v15(), hashes.SHA256())
        done += 20
    return done


def all_cores_rate(pem: str, body: bytes, seconds: float) -> float:
    """Raw RSA-2048 signatures/s on every core at once: one process per core, each with its key loaded."""
    cores = os.cpu_count() or 1
    with multiprocessing.get_context("spawn").Pool(cores) as pool:
        pool.starmap(_sign_for, [(pem, body, 0.05)] * cores)  # started and warm before the timed round
        return sum(pool.starmap(_sign_for, [(pem, body, seconds)] * cores)) / seconds


async def drain_once(svc: Services) -> int:
    """Run the Deliverer pass by pass until nothing is due (the old way; bounded); returns passes."""
    passes = 0
    async with asyncio.timeout(DRAIN_LIMIT_S):
        while passes < 100_000 and await svc.deliverer.run_once() > 0:
            passes += 1
    return passes


async def drain(svc: Services, queued: int) -> int:
    """Run the Deliverer's loop (as the worker does) until every delivery is recorded; returns 0 passes."""
    deliverer = svc.deliverer
    recorded = 0
    finished = asyncio.Event()
    record = deliverer._record

    async def counting(results: Any, leases: Any, now: Any) -> None:
        nonlocal recorded
        await record(results, leases, now)
        recorded += len(results)
        if recorded >= queued:
            finished.set()

    deliverer._record = counting  # type: ignore[method-assign]
    stopping, wakeup = asyncio.Event(), asyncio.Event()
    loop = asyncio.create_task(deliverer.run(stopping, wakeup, 0.05))
    try:
        async with asyncio.timeout(DRAIN_LIMIT_S):
            await finished.wait()
    finally:
        stopping.set()
        wakeup.set()
        await loop
        deliverer._record = record  # type: ignore[method-assign]
    return 0


async def warm_pool(svc: Services, author: Actor, body: bytes, inbox: str) -> float:
    """Start the signing pool's workers before timing (a running worker started them long ago)."""
    pool = svc.deliverer.signing
    if not isinstance(pool, SigningPool) or pool.kind == "inline":
        return 0.0
    assert author.public_key_id and author.private_key_pem
    key = SigningKey(author.public_key_id, author.private_key_pem)
    t0 = time.perf_counter()
    await asyncio.gather(*(
        pool.sign(key, "draft-cavage", method="POST", url=inbox, body=body, content_type=AS2)
        for _ in range(8 * pool.workers)
    ))  # fmt: skip
    return time.perf_counter() - t0


async def run(
    args: argparse.Namespace, tmpdir: Path, sink_port: int, profiler: cProfile.Profile | None
) -> Result:
    hosts = args.hosts or (100 if args.quick else 1000)
    calls = 20 if args.quick else 60
    seconds = 1.0 if args.quick else 3.0
    async with open_services(bench_settings(tmpdir, args)) as svc:
        await upgrade(svc.engine)
        async with svc.sessions() as session, session.begin():
            await accounts.ensure_instance_actor(session, svc.urls)
            author = await accounts.create_account(session, svc.urls, "alice")
        await svc.signer.load()
        t0 = time.perf_counter()
        await add_followers(svc, author, hosts, sink_port)
        print(f"setup: {hosts * FOLLOWERS_PER_HOST} followers on {hosts} hosts inserted"
              f" in {time.perf_counter() - t0:.1f} s")  # fmt: skip

        async def deliver_post(text: str, profile: bool) -> tuple[Phase, Activity]:
            t0 = time.perf_counter()
            async with svc.sessions() as session, session.begin():
                me = await accounts.get_local(session, "alice")
                status = await posting.create_post(svc, session, me, posting.PostRequest(text=text))
            post_s = time.perf_counter() - t0
            async with svc.sessions() as session:
                activity = await session.scalar(select(Activity).where(Activity.object_ap_id == status.ap_id))
                assert activity is not None
                count = select(func.count()).select_from(Delivery).where(Delivery.activity_id == activity.id)
                queued = await session.scalar(count) or 0
            t0, cpu0 = time.perf_counter(), time.process_time()
            if profiler and profile:
                profiler.enable()
            passes = await (drain_once(svc) if args.loop == "once" else drain(svc, queued))
            if profiler and profile:
                profiler.disable()
            phase = Phase(queued, post_s, time.perf_counter() - t0, time.process_time() - cpu0, passes)
            return phase, activity

        text = "fan-out benchmark #bench " + "lorem ipsum " * 20
        body = json.dumps({"type": "Create", "object": {"content": text}, "pad": "x" * 1200}).encode()
        inbox = f"http://{host_of(1, sink_port)}/inbox"
        assert author.private_key_pem
        signing = [signing_rates(author, body, inbox, calls)]
        all_cores = [all_cores_rate(author.private_key_pem, body, seconds)]
        pool_start_s = await warm_pool(svc, author, body, inbox)
        settle_heap()  # as `fedigen worker` does once started
        pids = signing_pids(svc)
        cpu_before = sum(cpu_seconds(pid) for pid in pids)
        cold, _ = await deliver_post(text, args.profile_first)
        warms: list[Phase] = []
        for n in range(args.repeat):
            warm, activity = await deliver_post(f"{text} (again, {n + 1})", n == 0 and not args.profile_first)
            warms.append(warm)
        children_cpu_s = sum(cpu_seconds(pid) for pid in pids) - cpu_before
        await svc.deliverer.aclose()
        body = json.dumps(activity.document).encode()
        signing.append(signing_rates(author, body, inbox, calls))
        all_cores.append(all_cores_rate(author.private_key_pem, body, seconds))
        queued = cold.deliveries + sum(warm.deliveries for warm in warms)

        async with svc.sessions() as session:
            by_state = select(Delivery.state, func.count()).group_by(Delivery.state)
            states: dict[str, int] = {state: n for state, n in await session.execute(by_state)}
            not_done = select(Delivery.last_error).where(Delivery.state != "done").limit(3)
            errors = [e or "" for e in await session.scalars(not_done)]
    return Result(
        hosts, queued, states, errors, cold, signing, all_cores, pool_start_s, children_cpu_s, warms=warms
    )


def signing_pids(svc: Services) -> list[int]:
    """The signing pool's worker processes (a look inside the executor: this is a benchmark)."""
    executor = getattr(svc.deliverer.signing, "_executor", None)
    return list(getattr(executor, "_processes", None) or {})


def sink_ceiling(port: int, body_size: int, seconds: int) -> float | None:
    """Requests/s the sink answers to ``wrk`` (compiled, 2 threads, 32 connections) POSTing a body of
    the post's size: the receiver's own ceiling. None without wrk."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(f'wrk.method = "POST"\nwrk.body = string.rep("x", {body_size})\n')
        script.flush()
        done = subprocess.run(
            [wrk, "-t2", "-c32", f"-d{seconds}s", "-s", script.name, f"http://127.0.0.1:{port}/inbox"],
            capture_output=True, text=True, timeout=seconds + 30, check=False,
        )  # fmt: skip
    for line in done.stdout.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    return None


def report(r: Result, args: argparse.Namespace, ceiling: float | None) -> None:
    done = r.states.get("done", 0)
    rate = r.warm.rate
    sig = sum(s for s, _ in r.signing) / len(r.signing)
    raw = sum(s for _, s in r.signing) / len(r.signing)
    every = sum(r.all_cores) / len(r.all_cores)
    cores = os.cpu_count() or 1
    around = "before/after delivering: " + ", ".join(f"{s:.0f}/{w:.0f}" for s, w in r.signing)
    print(
        f"\nfan-out benchmark: {r.hosts * FOLLOWERS_PER_HOST} followers on {r.hosts} hosts = "
        f"{r.warm.deliveries} deliveries per post (shared inboxes); {1 + len(r.warms)} posts; SQLite; "
        "one worker process"
    )
    print(
        f"delivery_concurrency = {args.concurrency}, delivery_per_host = {args.per_host}, "
        f"signing_pool = {args.signing_pool} ({args.signing_workers or cores} workers; started in "
        f"{r.pool_start_s:.2f} s before timing), http_max_connections = {args.max_connections}, "
        f"loop = {args.loop}"
    )
    posts = [("first post (hosts new)", r.cold)] + [(f"post {n + 2}", w) for n, w in enumerate(r.warms)]
    for name, phase in posts:
        passes = f" in {phase.passes} passes" if args.loop == "once" else ""
        print(
            f"{name}: create_post {phase.post_s:.2f} s, delivering {phase.deliver_s:.2f} s{passes}, "
            f"{phase.cpu_s:.2f} s CPU here ({1000 * phase.cpu_s / phase.deliveries:.2f} ms a delivery): "
            f"{phase.rate:.1f} deliveries/s"
        )
    print(f"signing processes' CPU, all posts: {r.children_cpu_s:.2f} s (started before timing)")
    print(f"deliveries/s, median of the warm posts:       {rate:8.1f}  (first post: {r.cold.rate:.1f})")
    print(f"raw RSA-2048 sign/s, key loaded, {cores} cores:      {every:8.1f}  (before/after: "
          + ", ".join(f"{x:.0f}" for x in r.all_cores) + ")")  # fmt: skip
    print(f"raw RSA-2048 sign/s, key loaded, 1 core:       {raw:8.1f}  (sign_request/s {around})")
    print(f"sign_request/s, one core:                    {sig:8.1f}")
    if ceiling is not None:
        verdict = "not the limit" if ceiling > 2 * rate else "CLOSE TO THE LIMIT: figures understated"
        print(f"sink ceiling (wrk, 32 connections):           {ceiling:8.1f}  ({verdict})")
    else:
        print("sink ceiling: wrk not installed (apt-get install wrk)")
    verdict = "meets" if rate / raw >= GOAL else "misses"
    print(f"ratio deliveries / raw sign, one core  = {rate / raw:.3f}  ({verdict} the goal of >= {GOAL})")
    print(f"ratio deliveries / raw sign, all cores = {rate / every:.3f}")
    print(f"ratio deliveries / sign_request        = {rate / sig:.3f}")
    print(f"delivery states: {r.states}; failed or not done: {r.queued - done}")
    for error in r.errors:
        print(f"  e.g. {error}")
    print(f"load average now: {os.getloadavg()[0]:.2f} ({cores} cores: other work skews the figures)")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="1,000 followers on 100 hosts")
    parser.add_argument("--hosts", type=int, default=None, help="number of hosts (10 followers each)")
    parser.add_argument("--concurrency", type=int, default=128, help="[federation] delivery_concurrency")
    parser.add_argument("--per-host", type=int, default=4, help="[federation] delivery_per_host")
    parser.add_argument("--signing-pool", default="process", choices=("process", "thread", "inline"),
                        help="[federation] signing_pool")  # fmt: skip
    parser.add_argument("--signing-workers", type=int, default=0, help="[federation] signing_workers")
    parser.add_argument("--max-connections", type=int, default=256, help="[federation] http_max_connections")
    parser.add_argument("--repeat", type=int, default=5, help="posts after the first (their median counts)")
    parser.add_argument("--loop", default="run", choices=("run", "once"),
                        help="run: the worker's pipelined loop; once: run_once pass after pass")  # fmt: skip
    parser.add_argument("--profile", action="store_true", help="cProfile the delivery phase")
    parser.add_argument("--profile-first", action="store_true", help="profile the first post, not the second")
    parser.add_argument("--profile-out", default="", help="also write the profile's stats to this file")
    parser.add_argument("--profile-sort", default="tottime", help="pstats key: tottime, cumulative, ...")
    experiments = parser.add_argument_group("experiments (patch this process; not fedigen as shipped)")
    experiments.add_argument("--stub-sniffio", action="store_true", help="skip httpcore's failed import")
    args = parser.parse_args()
    if args.stub_sniffio and stub_sniffio():
        print("EXPERIMENT: sniffio stubbed, httpcore's per-request failed import skipped")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    profiler = cProfile.Profile() if args.profile else None
    with tempfile.TemporaryDirectory(prefix="fedigen-bench-fanout-") as tmp:
        sink_port = free_port()
        with server(peer_command("sink", sink_port), sink_port, Path(tmp) / "sink.log"):
            result = asyncio.run(run(args, Path(tmp), sink_port, profiler))
            ceiling = sink_ceiling(sink_port, 2000, 2 if args.quick else 5)
    report(result, args, ceiling)
    if profiler:
        which = "first" if args.profile_first else "second"
        print(f"\nprofile of the {which} post's delivery phase (top 25 by {args.profile_sort}):")
        pstats.Stats(profiler).sort_stats(args.profile_sort).print_stats(25)
        if args.profile_out:
            profiler.dump_stats(args.profile_out)
    return 0 if result.states.get("done", 0) == result.queued else 1


if __name__ == "__main__":
    sys.exit(main())
