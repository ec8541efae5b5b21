"""Fan-out: one post to 10,000 followers on 1,000 hosts, delivered by fedigen's Deliverer.

Every host (127.0.X.Y:PORT, 127.0.0.1 .. 127.0.3.232: all of 127/8 is loopback on Linux) has 10
followers behind one shared inbox, so the post makes 1,000 deliveries, all answered 202 by one sink
process. Baseline, measured in the same run on one core: ``sign_request`` calls per second (what the
goal is stated against), and the raw RSA-2048 signature rate with the key already loaded.
Goal: deliveries/s >= 0.5 x the signing rate.

    .venv/bin/python benchmarks/fanout.py [--quick] [--concurrency N] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from _support import free_port, peer_command, server, stub_sniffio  # noqa: E402

from activitypub.signing import sign_request  # noqa: E402
from fedigen.config import Settings, settings_from_mapping  # noqa: E402
from fedigen.services import Services, open_services  # noqa: E402
from fedigen.social import accounts
from fedigen.social import posts as posting  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Activity, Actor, Delivery, Follow  # noqa: E402

GOAL = 0.5
FOLLOWERS_PER_HOST = 10
DRAIN_LIMIT_S = 1800.0


@dataclass
class Result:
    hosts: int
    queued: int
    states: dict[str, int]
    errors: list[str]
    post_s: float
    deliver_s: float
    deliver_cpu_s: float
    passes: int
    signing: list[tuple[float, float]]  # (sign_request/s, raw sign/s), before and after delivering


def host_of(n: int, port: int) -> str:
    """The n-th host (n >= 1): 127.0.0.1, ..., 127.0.0.255, 127.0.1.0, ... with the sink's port."""
    return f"127.0.{n // 256}.{n % 256}:{port}"


def bench_settings(tmpdir: Path, concurrency: int) -> Settings:
    return settings_from_mapping(
        {
            "instance": {"url": f"http://127.0.0.1:{free_port()}", "name": "bench"},
            "database": {"url": f"sqlite+aiosqlite:///{tmpdir}/fedigen.db"},
            "media": {"dir": str(tmpdir / "media")},
            "federation": {
                "allow_private_addresses": True,
                "webfinger_scheme": "http",
                "delivery_concurrency": concurrency,
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


async def drain(svc: Services) -> int:
    """Run the Deliverer until nothing is due (bounded in passes and time); returns passes."""
    passes = 0
    async with asyncio.timeout(DRAIN_LIMIT_S):
        while passes < 100_000 and await svc.deliverer.run_once() > 0:
            passes += 1
    return passes


async def run(
    args: argparse.Namespace, tmpdir: Path, sink_port: int, profiler: cProfile.Profile | None
) -> Result:
    hosts = args.hosts or (100 if args.quick else 1000)
    calls = 20 if args.quick else 60
    async with open_services(bench_settings(tmpdir, args.concurrency)) as svc:
        await upgrade(svc.engine)
        async with svc.sessions() as session, session.begin():
            await accounts.ensure_instance_actor(session, svc.urls)
            author = await accounts.create_account(session, svc.urls, "alice")
        await svc.signer.load()
        t0 = time.perf_counter()
        await add_followers(svc, author, hosts, sink_port)
        print(f"setup: {hosts * FOLLOWERS_PER_HOST} followers on {hosts} hosts inserted"
              f" in {time.perf_counter() - t0:.1f} s")  # fmt: skip

        t0 = time.perf_counter()
        async with svc.sessions() as session, session.begin():
            me = await accounts.get_local(session, "alice")
            request = posting.PostRequest(text="fan-out benchmark #bench " + "lorem ipsum " * 20)
            status = await posting.create_post(svc, session, me, request)
        post_s = time.perf_counter() - t0
        async with svc.sessions() as session:
            activity = await session.scalar(select(Activity).where(Activity.object_ap_id == status.ap_id))
            queued = await session.scalar(select(func.count()).select_from(Delivery)) or 0
        assert activity is not None
        body = json.dumps(activity.document).encode()
        inbox = f"http://{host_of(1, sink_port)}/inbox"
        signing = [signing_rates(author, body, inbox, calls)]

        t0, cpu0 = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        passes = await drain(svc)
        if profiler:
            profiler.disable()
        deliver_s, deliver_cpu_s = time.perf_counter() - t0, time.process_time() - cpu0
        signing.append(signing_rates(author, body, inbox, calls))

        async with svc.sessions() as session:
            by_state = select(Delivery.state, func.count()).group_by(Delivery.state)
            states: dict[str, int] = {state: n for state, n in await session.execute(by_state)}
            not_done = select(Delivery.last_error).where(Delivery.state != "done").limit(3)
            errors = [e or "" for e in await session.scalars(not_done)]
    return Result(hosts, queued, states, errors, post_s, deliver_s, deliver_cpu_s, passes, signing)


def report(r: Result, concurrency: int) -> None:
    done = r.states.get("done", 0)
    rate = done / (r.post_s + r.deliver_s)
    sig = sum(s for s, _ in r.signing) / len(r.signing)
    raw = sum(s for _, s in r.signing) / len(r.signing)
    around = "before/after delivering: " + ", ".join(f"{s:.1f}/{w:.1f}" for s, w in r.signing)
    print(
        f"\nfan-out benchmark: {r.hosts * FOLLOWERS_PER_HOST} followers on {r.hosts} hosts = {r.queued} "
        f"deliveries (shared inboxes); delivery_concurrency = {concurrency}; SQLite; one process"
    )
    print(
        f"create_post (queues the rows): {r.post_s:.2f} s; delivering: {r.deliver_s:.2f} s "
        f"in {r.passes} passes, using {r.deliver_cpu_s:.2f} s of this process's CPU"
    )
    print(f"deliveries/s, post to last done: {rate:8.1f}  (delivery phase alone: {done / r.deliver_s:.1f})")
    print(f"sign_request/s, one core:        {sig:8.1f}")
    print(f"raw RSA-2048 sign/s, key loaded: {raw:8.1f}  ({around})")
    verdict = "meets" if rate / sig >= GOAL else "misses"
    print(f"ratio deliveries/sign_request = {rate / sig:.3f}  ({verdict} the goal of >= {GOAL})")
    print(f"ratio deliveries/raw RSA sign  = {rate / raw:.3f}")
    print(f"delivery states: {r.states}; failed or not done: {r.queued - done}")
    for error in r.errors:
        print(f"  e.g. {error}")
    print(f"load average now: {os.getloadavg()[0]:.2f} (2 cores: other work skews the figures)")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="1,000 followers on 100 hosts")
    parser.add_argument("--hosts", type=int, default=None, help="number of hosts (10 followers each)")
    parser.add_argument("--concurrency", type=int, default=32, help="[federation] delivery_concurrency")
    parser.add_argument("--profile", action="store_true", help="cProfile the delivery phase")
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
    report(result, args.concurrency)
    if profiler:
        print(f"\nprofile of the delivery phase (top 25 by {args.profile_sort}):")
        pstats.Stats(profiler).sort_stats(args.profile_sort).print_stats(25)
    return 0 if result.states.get("done", 0) == result.queued else 1


if __name__ == "__main__":
    sys.exit(main())
