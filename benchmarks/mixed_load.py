"""Home timeline p99 while the same server takes inbox POSTs and runs a generation job.

One `fedigen serve` (with its worker, as a small instance runs) on a database built as
``home_timeline.py`` builds it (``--statuses``, default 100,000). Two phases, each ``--seconds`` long,
the timeline read the same way in both: `wrk` with one connection on
``GET /api/v1/timelines/home?limit=40``.

1. quiet: only the timeline reads (the same-run baseline);
2. loaded: meanwhile signed Create{Note} POSTs to the shared inbox over ``--inbox-connections``
   keep-alive connections (pre-signed before any timing; each a new note addressed to the viewer,
   so the worker stores them too): as fast as they are answered, or ``--inbox-rate`` per second on a
   fixed schedule; and one generation job at a time (``POST /api/v1/fedigen/generations``, polled
   until done, then the next).

``--worker-process`` runs the worker as its own `fedigen worker` process (at ``[worker] nice``, 10,
below serve's priority) beside `serve --no-worker`; without it the worker runs inside serve, as a
small instance runs it. Either way the pictures are drawn and processed in image processes of their
own (``[media] image_processes``).

Prints the timeline p50/p99 of both phases, their ratio, the inbox POSTs accepted per second and the
generation jobs done during the loaded phase, the client ceiling (wrk against a raw asyncio server),
and the load average. Goal (issue 11): the timeline p99 stays <= 15 ms while the inbox takes load.

    .venv/bin/python benchmarks/mixed_load.py [--statuses 100000] [--seconds 10] [--database URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

import _wrk  # noqa: E402
from _support import fedigen_command, free_port, peer_command, server, stop, stub_sniffio  # noqa: E402
from home_timeline import HOME, TOKEN, first_page, kept_port, prepare, write_config  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from activitypub import signing  # noqa: E402
from fedigen.config import load_settings  # noqa: E402
from storage.db import create_engine  # noqa: E402
from storage.models import InboxItem  # noqa: E402

GOAL_MS = 15.0
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
stub_sniffio()  # client side only: httpx skips a failed import per request


@dataclass
class Load:
    """What the background load got done while the timeline was read."""

    inbox: Counter[int] = field(default_factory=Counter)
    jobs_done: int = 0
    jobs_failed: int = 0
    elapsed: float = 0.0


def remote_actor(base: str, public_pem: str) -> dict[str, Any]:
    actor = f"{base}/users/bob"
    return {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": actor, "type": "Person", "preferredUsername": "bob", "inbox": f"{actor}/inbox",
        "endpoints": {"sharedInbox": f"{base}/inbox"}, "followers": f"{actor}/followers",
        "publicKey": {"id": f"{actor}#main-key", "owner": actor, "publicKeyPem": public_pem},
    }  # fmt: skip


def presign(
    inbox: str, peer: str, private_pem: str, count: int, to: str
) -> list[tuple[bytes, dict[str, str]]]:
    """Signed Create{Note} POSTs, each with its own ids (so dedupe never short-circuits one)."""
    actor, out = f"{peer}/users/bob", []
    for n in range(count):
        note = {"id": f"{peer}/notes/{n}", "type": "Note", "attributedTo": actor, "to": [to], "cc": [PUBLIC],
                "content": f"<p>mixed load note {n}</p>", "published": "2026-01-01T00:00:00Z"}  # fmt: skip
        create = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{peer}/create/{n}",
                  "type": "Create", "actor": actor, "to": [to], "object": note}  # fmt: skip
        body = json.dumps(create).encode()
        headers = signing.sign_request(method="POST", url=inbox, key_id=f"{actor}#main-key",
                                       private_key_pem=private_pem, body=body,
                                       content_type="application/activity+json")  # fmt: skip
        out.append((body, headers))
    return out


async def post_inbox(url: str, requests: list[tuple[bytes, dict[str, str]]], stop: asyncio.Event,
                     load: Load, rate: float = 0.0) -> None:  # fmt: skip
    """POST the pre-signed requests one after another on one raw keep-alive connection until ``stop``:
    each as soon as the last was answered, or (``rate`` > 0) one every ``1 / rate`` seconds on a fixed
    schedule (a late answer delays the next POST, never the schedule)."""
    parts = httpx.URL(url)
    reader, writer = await asyncio.open_connection(parts.host, parts.port)
    loop, sent = asyncio.get_running_loop(), 0
    start = loop.time()
    try:
        while requests and not stop.is_set():
            if rate > 0:
                await asyncio.sleep(max(0.0, start + sent / rate - loop.time()))
                sent += 1
            body, headers = requests.pop()
            lines = [f"POST {parts.path} HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items())]
            writer.write(
                "\r\n".join([*lines, f"Content-Length: {len(body)}", "", ""]).encode("latin-1") + body
            )
            head = await reader.readuntil(b"\r\n\r\n")
            length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")[1:]
                           if line.lower().startswith(b"content-length:")), 0)  # fmt: skip
            await reader.readexactly(length)
            load.inbox[int(head.split(b" ", 2)[1])] += 1
    finally:
        writer.close()


async def generate(client: httpx.AsyncClient, stop: asyncio.Event, load: Load) -> None:
    """One generation job at a time until ``stop``: queue it, poll it until it is done, next."""
    while not stop.is_set():
        job = await client.post("/api/v1/fedigen/generations", data={"prompt": "a lighthouse at dusk"})
        if job.status_code != 202:
            raise RuntimeError(f"generation refused: {job.status_code} {job.text[:200]}")
        while True:
            await asyncio.sleep(0.1)
            state = (await client.get(f"/api/v1/fedigen/generations/{job.json()['id']}")).json()["state"]
            if state in ("done", "failed", "cancelled"):
                break
        load.jobs_done += state == "done"
        load.jobs_failed += state != "done"


async def loaded_phase(base: str, requests: list[tuple[bytes, dict[str, str]]], args: argparse.Namespace,
                       headers: dict[str, str]) -> tuple[_wrk.WrkResult, Load]:  # fmt: skip
    """The timeline read by wrk while the inbox and the generation jobs load the same server."""
    load, stop = Load(), asyncio.Event()
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60, trust_env=False) as client:
        per_connection = args.inbox_rate / args.inbox_connections
        background = [asyncio.create_task(post_inbox(base + "/inbox", requests, stop, load, per_connection))
                      for _ in range(args.inbox_connections)]  # fmt: skip
        background.append(asyncio.create_task(generate(client, stop, load)))
        await asyncio.sleep(1)  # the load under way before the timeline is read
        start = time.perf_counter()
        result = await asyncio.to_thread(
            _wrk.run, base + HOME, seconds=args.seconds, connections=1, headers=headers
        )
        load.elapsed = time.perf_counter() - start + 1
        stop.set()
        async with asyncio.timeout(120):
            await asyncio.gather(*background)
    return result, load


@contextlib.contextmanager
def stopped(process: subprocess.Popen[bytes] | None) -> Iterator[None]:
    """Stop ``process`` (one we started), if any, on the way out."""
    try:
        yield
    finally:
        if process is not None:
            stop(process)


def main() -> int:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--statuses", type=int, default=100_000)
    parser.add_argument("--authors", type=int, default=5_000)
    parser.add_argument("--followed", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=10, help="length of each phase")
    parser.add_argument("--inbox-connections", type=int, default=8)
    parser.add_argument(
        "--inbox-rate", type=float, default=0.0,
        help="inbox POSTs per second, sent on a fixed schedule over the connections; 0 (the default): "
        "as many as the server accepts, each connection sending its next POST once the last is answered",
    )  # fmt: skip
    parser.add_argument(
        "--worker-process",
        action="store_true",
        help="run the worker as its own `fedigen worker` process beside `serve --no-worker` "
        "(the shape docs/scaling.md advises once a second core is there) instead of in serve",
    )
    parser.add_argument("--inbox-requests", type=int, default=3000, help="pre-signed POSTs (the most sent)")
    parser.add_argument("--database", default=None, help="a PostgreSQL URL (its tables are emptied first)")
    parser.add_argument("--keep", default=None, help="build in (or reuse) this directory; with --database, "
                        "reuse the data the database holds instead of emptying it")  # fmt: skip
    args = parser.parse_args()
    if not _wrk.available():
        print("wrk is not installed (apt-get install wrk)")
        return 1
    with tempfile.TemporaryDirectory(prefix="fedigen-bench-mixed-") as scratch:
        tmp = Path(args.keep or scratch)
        tmp.mkdir(parents=True, exist_ok=True)
        port, peer_port, sink_port = kept_port(tmp), free_port(), free_port()
        base, peer = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{peer_port}"
        config = write_config(tmp, port, args.database)
        asyncio.run(prepare(config, args))
        private_pem, public_pem = signing.generate_rsa_keypair()
        (tmp / "actor.json").write_text(json.dumps(remote_actor(peer, public_pem)), encoding="utf-8")
        t0 = time.perf_counter()
        signed = presign(f"{base}/inbox", peer, private_pem, args.inbox_requests + 1, f"{base}/users/viewer")
        print(f"pre-signed {len(signed)} inbox POSTs in {time.perf_counter() - t0:.1f} s (untimed)")
        headers = {"Authorization": f"Bearer {TOKEN}"}
        serve = [*fedigen_command(), "--config", str(config), "serve"]
        worker = None
        if args.worker_process:
            serve.append("--no-worker")
            worker = subprocess.Popen(
                [*fedigen_command(), "--config", str(config), "worker"], cwd=tmp, stdin=subprocess.DEVNULL,
                stdout=(tmp / "worker.log").open("wb"), stderr=subprocess.STDOUT,
            )  # fmt: skip
        with (
            server(peer_command("actor", peer_port, str(tmp / "actor.json")), peer_port, tmp / "actor.log"),
            server(peer_command("sink", sink_port), sink_port, tmp / "sink.log"),
            server(serve, port, tmp / "fedigen.log", cwd=tmp),
            stopped(worker),
        ):
            first_page(base, headers)
            ceiling = _wrk.run(f"http://127.0.0.1:{sink_port}/", seconds=args.seconds, connections=1)
            asyncio.run(post_inbox_once(base, signed.pop()))  # fedigen fetches bob's key once
            _wrk.run(base + HOME, seconds=2, connections=1, headers=headers)  # warm-up
            backlog, waited = asyncio.run(settled(config))
            if backlog:
                print(f"waited {waited:.1f} s for {backlog} received activities left by an earlier run")
            quiet = _wrk.run(base + HOME, seconds=args.seconds, connections=1, headers=headers)
            loaded, load = asyncio.run(loaded_phase(base, signed, args, headers))
    print(f"\nmixed load on {'PostgreSQL' if args.database else 'SQLite'}: {args.statuses:,} statuses, "
          f"{args.followed} of {args.authors:,} authors followed; one `fedigen serve` "
          f"{'and one `fedigen worker` process' if args.worker_process else 'with its worker'}; "
          f"timeline read by wrk (1 connection) for {args.seconds} s per phase; "
          f"load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    print(ceiling.line("client ceiling (wrk against a raw asyncio server)"))
    print(quiet.line("home timeline, quiet (baseline)"))
    print(loaded.line("home timeline, under inbox + generation load"))
    accepted = load.inbox[202]
    offered = f"at most {args.inbox_rate:g}/s offered" if args.inbox_rate else "sent as fast as answered"
    print(f"  meanwhile: {accepted} inbox POSTs accepted ({accepted / load.elapsed:.1f}/s, {offered}, over "
          f"{args.inbox_connections} connections; answers {dict(sorted(load.inbox.items()))}); "
          f"{load.jobs_done} generation jobs done, {load.jobs_failed} failed")  # fmt: skip
    verdict = "met" if loaded.p99 <= GOAL_MS else "missed"
    print(f"timeline p99 under load / quiet p99 = {loaded.p99 / quiet.p99:.1f}x; "
          f"goal p99 <= {GOAL_MS:.0f} ms under load: {verdict} ({loaded.p99:.2f} ms)")  # fmt: skip
    ok = quiet.errors == 0 and loaded.errors == 0 and set(load.inbox) <= {202} and load.jobs_failed == 0
    if not ok:
        print("NOT every answer was a success (see the errors above)")
    return 0 if ok else 1


async def settled(config: Path, most_s: float = 300.0) -> tuple[int, float]:
    """Wait until the worker has no received activity left to process (on a kept database, a run's
    loaded phase leaves some for the next, whose quiet phase they would load); returns how many there
    were and how long it took."""
    settings = load_settings(config)
    engine = create_engine(settings.database_url)
    waiting = select(func.count()).select_from(InboxItem).where(InboxItem.state.in_(("queued", "running")))
    start = time.perf_counter()
    try:
        async with engine.connect() as conn:
            backlog = left = int((await conn.execute(waiting)).scalar_one())
        while left and time.perf_counter() - start < most_s:
            await asyncio.sleep(0.5)
            async with engine.connect() as conn:
                left = int((await conn.execute(waiting)).scalar_one())
    finally:
        await engine.dispose()
    return backlog, time.perf_counter() - start


async def post_inbox_once(base: str, request: tuple[bytes, dict[str, str]]) -> None:
    load = Load()
    await post_inbox(base + "/inbox", [request], asyncio.Event(), load)
    if set(load.inbox) != {202}:
        raise RuntimeError(f"the first inbox POST was answered {dict(load.inbox)}")


if __name__ == "__main__":
    sys.exit(main())
