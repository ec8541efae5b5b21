"""CPU per accepted inbox POST inside the app, without an HTTP server: what fedigen itself spends.

The same signed Create{Note} POSTs as benchmarks/inbox.py, handed straight to the ASGI app (the way
uvicorn would, with ``concurrency`` requests in flight) in this process; the figure is the process's
CPU time (every thread: the event loop and the inbox writer's) per accepted POST. No socket, no HTTP
parsing and no access log are in it (a bare endpoint spends those too), and other load on the machine
moves it far less than a rate: use it to compare changes; benchmarks/inbox.py gives the headline ratio.

    .venv/bin/python benchmarks/inbox_cpu.py [--count N] [--concurrency N] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from _support import free_port, prepare_instance  # noqa: E402
from inbox import presign  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from activitypub import signing  # noqa: E402
from fedigen.app import create_app  # noqa: E402
from fedigen.config import load_settings  # noqa: E402
from storage.models import InboxItem, RemoteKey  # noqa: E402

WARMUP = 200


def scope_of(url: str, headers: dict[str, str]) -> dict[str, Any]:
    path = url.split("://", 1)[1].partition("/")[2]
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": f"/{path}", "raw_path": f"/{path}".encode(), "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 80),
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
    }  # fmt: skip


async def post(app: Any, url: str, body: bytes, headers: dict[str, str]) -> int:
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()  # as a server: nothing more until the client goes away
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope_of(url, {**headers, "content-length": str(len(body))}), receive, send)
    return status


async def run(count: int, concurrency: int, profile: bool) -> int:
    with tempfile.TemporaryDirectory(prefix="fedigen-bench-inbox-cpu-") as tmp:
        tmpdir = Path(tmp)
        port = free_port()
        config = prepare_instance(tmpdir, port, ["alice"])
        os.chdir(tmpdir)  # the config's paths are relative to it
        settings = load_settings(config)
        base, remote = f"http://127.0.0.1:{port}", "http://remote.invalid"
        private_pem, public_pem = signing.generate_rsa_keypair()
        requests = presign(f"{base}/inbox", remote, private_pem, WARMUP + count, to=f"{base}/users/alice")
        app = create_app(settings, run_worker=False)
        async with app.router.lifespan_context(app):
            svc = app.state.services
            async with svc.sessions() as session, session.begin():  # bob's key, as if fetched before
                bob = f"{remote}/users/bob"
                session.add(RemoteKey(key_id=f"{bob}#main-key", owner_ap_id=bob, public_key_pem=public_pem))

            async def drive(batch: list[Any]) -> list[int]:
                queue = iter(batch)
                statuses: list[int] = []

                async def connection() -> None:
                    for req in queue:
                        statuses.append(await post(app, f"{base}/inbox", req.body, req.headers))

                await asyncio.gather(*(connection() for _ in range(concurrency)))
                return statuses

            await drive(requests[:WARMUP])
            profiler = cProfile.Profile() if profile else None
            cpu, wall = time.process_time(), time.perf_counter()
            if profiler:
                profiler.enable()
            statuses = await drive(requests[WARMUP:])
            if profiler:
                profiler.disable()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            async with svc.reads() as session:
                stored = await session.scalar(select(func.count()).select_from(InboxItem))
            groups = svc.inbox.groups
    ok = statuses.count(202)
    print(
        f"inbox CPU (in-process, no HTTP server): {count} signed Create{{Note}} POSTs, "
        f"{concurrency} in flight"
    )
    print(f"  {ok}/{count} accepted, {stored} rows stored in {groups} groups")
    print(f"  CPU {1000 * cpu / max(ok, 1):.3f} ms per accepted POST (all threads); wall {wall:.2f} s; "
          f"load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    if profiler:
        stats = pstats.Stats(profiler)
        # Python calls per POST: a figure other load on the machine does not move (the event loop's only).
        print(f"  {stats.total_calls / max(ok, 1):.0f} Python function calls per accepted POST (cProfile)")
        stats.sort_stats("tottime").print_stats(25)
    return 0 if ok == count and stored == WARMUP + count else 1


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the timed requests (event loop only)"
    )
    args = parser.parse_args()
    return asyncio.run(run(args.count, args.concurrency, args.profile))


if __name__ == "__main__":
    sys.exit(main())
