"""Scale-out on PostgreSQL: two `fedigen serve --no-worker` and two `fedigen worker` processes share the
work. 1,000 posts (written through the social home by the test process, a third writer beside the web
processes) reach followers on ten loopback addresses (127.0.0.2 - 127.0.0.11: a small receiver counting
each (activity, inbox) it gets), 200 generation jobs are asked for through both web processes' API, and
the followers send 250 signed Likes to both web processes' shared inbox; one worker is SIGKILLed
mid-run. Every delivery arrives, every job's image is stored once, every Like makes one favourite and
one notification. A
delivery may arrive twice only when the killed (or a frozen) worker had sent it without recording it
(its row then shows another claim): ActivityPub delivery is at-least-once; receivers dedupe by id.

Leases are short here ([worker] lease_seconds) so the killed worker's rows are taken over quickly.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fedigen.api.grants import digest
from fedigen.config import load_settings
from fedigen.services import open_services
from fedigen.social import accounts, posts
from storage import queue
from storage.clients import OAuthApp, OAuthToken
from storage.models import (
    Activity,
    Actor,
    Delivery,
    Favourite,
    Follow,
    GenerationJob,
    InboxItem,
    MediaAttachment,
    Notification,
    RemoteKey,
    utcnow,
)
from storage.vocabulary import FollowState
from tests.conftest import PG_URL
from tests.remote_actor import keypair, sign_cavage
from tests.support.server import FEDIGEN, free_port

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[2]

# FEDIGEN_SCALEOUT_POSTS and _JOBS make a quicker run while working on this test.
POSTS = int(os.environ.get("FEDIGEN_SCALEOUT_POSTS", "1000"))
JOBS = int(os.environ.get("FEDIGEN_SCALEOUT_JOBS", "200"))
LIKES = POSTS // 4  # Likes of the first posts, sent by their authors' followers
ACCOUNTS, HOSTS, FOLLOWERS_PER_HOST, HOSTS_PER_ACCOUNT = 10, 10, 2, 3
KEYS = keypair("scale-out followers")
LEASE = 3  # [worker] lease_seconds
DEADLINE = 240.0  # seconds for all the work (a generous bound: a busy CI machine is slow)


class Receiver:
    """One HTTP server on 127.0.0.2 .. 127.0.0.(HOSTS+1), the same port on each: counts what it gets."""

    def __init__(self) -> None:
        self.port = free_port()
        self.hits: Counter[tuple[str, str]] = Counter()  # (inbox URL, activity id) -> times received
        self._lock = threading.Lock()
        self.sockets = []
        for k in range(2, HOSTS + 2):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((f"127.0.0.{k}", self.port))
            self.sockets.append(sock)
        app = Starlette(routes=[Route("/{path:path}", self._inbox, methods=["POST"])])
        config = uvicorn.Config(app, log_level="warning", lifespan="off", backlog=1024)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": self.sockets}, daemon=True
        )

    async def _inbox(self, request: Request) -> Response:
        activity = json.loads(await request.body())
        with self._lock:
            self.hits[(str(request.url), str(activity["id"]))] += 1
        return Response(status_code=202)

    def host(self, k: int) -> str:
        return f"127.0.0.{k + 2}:{self.port}"

    def __enter__(self) -> Receiver:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert time.monotonic() < deadline, "the receiver did not start"
            time.sleep(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)


def _database() -> str:
    """A database of this test's own, made afresh."""
    assert PG_URL is not None
    url = make_url(PG_URL)
    name = f"{url.database}_scaleout"

    async def recreate() -> None:
        admin = await asyncpg.connect(url.set(drivername="postgresql", database="postgres").render_as_string(
            hide_password=False))  # fmt: skip
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()

    asyncio.run(recreate())
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The config, the receiver, and the four processes (started once the accounts exist)."""
    if not PG_URL:
        pytest.skip("needs PostgreSQL: set FEDIGEN_TEST_POSTGRES_URL")
    ports = [free_port(), free_port()]
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[instance]
url = "http://127.0.0.1:{ports[0]}"
name = "scale"
[database]
url = "{_database()}"
pool_size = 4
[media]
dir = "{tmp_path}/media"
[federation]
allow_private_addresses = true
webfinger_scheme = "http"
[generation]
backend = "procedural"
size = "64x64"
timeout = 20
jobs_per_hour = 1000
[worker]
lease_seconds = {LEASE}
job_timeout = 5
"""
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEDIGEN_")}
    env["FEDIGEN_CONFIG"] = str(config)
    # This checkout's code in the processes, whatever the working directory.
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    migrated = subprocess.run(
        [*FEDIGEN, "db", "migrate"], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert migrated.returncode == 0, migrated.stderr
    processes: list[subprocess.Popen[bytes]] = []
    with Receiver() as receiver:
        try:
            yield {"config": config, "env": env, "ports": ports, "receiver": receiver, "cwd": tmp_path,
                   "processes": processes}  # fmt: skip
        finally:
            for process in processes:
                if process.poll() is None:
                    process.terminate()
            for process in processes:
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(10)


def _start(cluster: dict[str, Any], *args: str, log: str) -> subprocess.Popen[bytes]:
    with (cluster["cwd"] / log).open("wb") as out:
        process = subprocess.Popen([*FEDIGEN, *args], env=cluster["env"], cwd=cluster["cwd"], stdout=out,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)  # fmt: skip
    cluster["processes"].append(process)
    return process


async def _seed(cluster: dict[str, Any]) -> list[str]:
    """Local accounts, each followed from three of the receiver's hosts; their access tokens."""
    receiver: Receiver = cluster["receiver"]
    settings = load_settings(cluster["config"], {})
    tokens = []
    async with open_services(settings) as svc, svc.sessions() as session, session.begin():
        app = OAuthApp(client_id=secrets.token_urlsafe(16), client_secret_hash=digest("s"), name="load",
                       redirect_uris="urn:ietf:wg:oauth:2.0:oob", scopes="read write")  # fmt: skip
        session.add(app)
        followers = {}
        for k in range(HOSTS):
            host = receiver.host(k)
            for j in range(FOLLOWERS_PER_HOST):
                ap_id = f"http://{host}/users/f{j}"
                follower = Actor(
                    ap_id=ap_id, username=f"f{j}", domain=host, ap_type="Person", fetched_at=utcnow(),
                    inbox_url=f"{ap_id}/inbox", shared_inbox_url=f"http://{host}/inbox",
                    public_key_id=f"{ap_id}#main-key", public_key_pem=KEYS.public_pem,
                )  # fmt: skip
                session.add(follower)
                # Known already, as after a first fetch: their Likes are checked without fetching.
                session.add(
                    RemoteKey(key_id=f"{ap_id}#main-key", owner_ap_id=ap_id, public_key_pem=KEYS.public_pem)
                )
                followers[(k, j)] = follower
        await session.flush()
        for i in range(ACCOUNTS):
            account = await accounts.create_account(session, svc.urls, f"u{i}")
            for k in range(i, i + HOSTS_PER_ACCOUNT):
                for j in range(FOLLOWERS_PER_HOST):
                    follower = followers[(k % HOSTS, j)]
                    session.add(
                        Follow(follower_id=follower.id, followee_id=account.id, state=FollowState.ACCEPTED)
                    )
            raw = secrets.token_urlsafe(32)
            session.add(
                OAuthToken(token_hash=digest(raw), app_id=app.id, account_id=account.id, scopes="read write")
            )
            tokens.append(raw)
    return tokens


async def _load(cluster: dict[str, Any], tokens: list[str]) -> tuple[list[str], list[int]]:
    """1,000 posts (through the social home, 25 to a transaction, four writers at once) while 200
    generation jobs are asked for through both web processes' API."""
    settings = load_settings(cluster["config"], {})
    bases = [f"http://127.0.0.1:{port}" for port in cluster["ports"]]
    semaphore = asyncio.Semaphore(8)

    liked: asyncio.Queue[tuple[int, str] | None] = asyncio.Queue()

    # Idle connections are dropped after a second, well before uvicorn closes them (5 s): otherwise a
    # connection the server is closing can be taken for a request (a ReadError under load, once in a
    # full run), the keep-alive race every HTTP/1.1 client has and real clients answer by retrying.
    limits = httpx.Limits(keepalive_expiry=1.0)
    async with open_services(settings) as svc, httpx.AsyncClient(timeout=60, limits=limits) as client:

        async def write(writer: int) -> list[str]:
            made = []
            for batch in range(writer * 25, POSTS, 4 * 25):
                async with svc.sessions() as session, session.begin():
                    for n in range(batch, min(batch + 25, POSTS)):
                        author = await accounts.get_local(session, f"u{n % ACCOUNTS}")
                        status = await posts.create_post(svc, session, author, posts.PostRequest(f"post {n}"))
                        made.append(str(status.ap_id))
                for n, ap_id in zip(range(batch, batch + 25), made[-25:], strict=False):
                    if n < LIKES:
                        liked.put_nowait((n, ap_id))
            return made

        async def like(n: int, status: str) -> None:
            """A follower of the post's author Likes it, through the shared inbox of either web process."""
            follower = f"http://{cluster['receiver'].host(n % ACCOUNTS)}/users/f{n % FOLLOWERS_PER_HOST}"
            body = json.dumps({
                "@context": "https://www.w3.org/ns/activitystreams", "id": f"{follower}/likes/{n}",
                "type": "Like", "actor": follower, "object": status,
            }).encode()  # fmt: skip
            url = f"{bases[0]}/inbox"  # as the instance is known; sent to either process
            signed = sign_cavage(
                url=url, body=body, key_id=f"{follower}#main-key", private_pem=KEYS.private_pem
            )
            async with semaphore:
                response = await client.post(f"{bases[n % 2]}/inbox", content=body, headers=signed)
            assert response.status_code == 202, response.text

        async def likes() -> None:
            while (item := await liked.get()) is not None:
                await like(*item)

        async def job(n: int) -> int:
            async with semaphore:
                response = await client.post(
                    f"{bases[n % 2]}/api/v1/fedigen/generations", data={"prompt": f"a lighthouse {n}"},
                    headers={"Authorization": f"Bearer {tokens[n % ACCOUNTS]}"},
                )  # fmt: skip
            assert response.status_code == 202, response.text
            return int(response.json()["id"])

        writers = asyncio.gather(*(write(w) for w in range(4)))
        jobs = asyncio.gather(*(job(n) for n in range(JOBS)))
        liking = asyncio.gather(*(likes() for _ in range(4)))
        made = [ap_id for made in await writers for ap_id in made]
        for _ in range(4):
            liked.put_nowait(None)
        job_ids = list(await jobs)
        await liking
        return made, job_ids


async def _progress(settings: Any) -> tuple[int, ...]:
    """Deliveries finished and in all, jobs finished and in all, received activities finished and in all."""
    async with open_services(settings) as svc, svc.reads() as session:
        finished = (queue.DONE, queue.FAILED, queue.CANCELLED)
        counts = []
        for model in (Delivery, GenerationJob, InboxItem):
            counts.append(int(await session.scalar(
                select(func.count()).select_from(model).where(model.state.in_(finished))) or 0))  # fmt: skip
            counts.append(int(await session.scalar(select(func.count()).select_from(model)) or 0))
    return tuple(counts)


def test_two_web_and_two_worker_processes_do_everything_once(cluster: dict[str, Any]) -> None:
    tokens = asyncio.run(_seed(cluster))
    settings = load_settings(cluster["config"], {})
    for n, port in enumerate(cluster["ports"]):
        _start(cluster, "serve", "--no-worker", "--port", str(port), log=f"serve{n}.log")
    workers = [_start(cluster, "worker", log=f"worker{n}.log") for n in range(2)]
    for port in cluster["ports"]:
        deadline = time.monotonic() + 120  # start-up (imports, the migration check) is slow on a busy machine
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v1/instance", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (cluster["cwd"] / "serve0.log").read_text()[-3000:]
            time.sleep(0.2)
    # The workers run below serve's CPU priority ([worker] nice, 10 by default); serve keeps its own.
    own = os.getpriority(os.PRIO_PROCESS, 0)
    assert [os.getpriority(os.PRIO_PROCESS, w.pid) for w in workers] == [max(own, 10)] * 2
    assert os.getpriority(os.PRIO_PROCESS, cluster["processes"][0].pid) == own
    started = time.monotonic()
    load = threading.Thread(target=lambda: cluster.update(result=asyncio.run(_load(cluster, tokens))))
    load.start()
    # Once into the work, make sure the worker to be killed holds rows: freeze the other one, wait for
    # new claims (the unfrozen worker's, necessarily), freeze that worker too and note what it holds.
    while True:
        delivered, _, made, *_ = asyncio.run(_progress(settings))
        assert time.monotonic() - started < DEADLINE, "no progress before the kill"
        if delivered >= POSTS * HOSTS_PER_ACCOUNT // 10 and made >= JOBS // 10:
            break
        time.sleep(0.2)
    os.kill(workers[1].pid, signal.SIGSTOP)
    before = asyncio.run(_running(settings))
    held: set[tuple[str, int, int]] = set()
    while not held:
        assert time.monotonic() - started < DEADLINE, "the worker claimed nothing more"
        time.sleep(0.1)
        if asyncio.run(_running(settings)) - before:
            os.kill(workers[0].pid, signal.SIGSTOP)
            held = asyncio.run(_running(settings)) - before
            if not held:  # it finished them meanwhile
                os.kill(workers[0].pid, signal.SIGCONT)
    os.kill(workers[1].pid, signal.SIGCONT)
    os.kill(workers[0].pid, signal.SIGKILL)
    workers[0].wait(10)
    load.join(DEADLINE)
    assert not load.is_alive(), "the posts and jobs were not all accepted"
    activities, job_ids = cluster["result"]
    assert len(set(activities)) == POSTS and len(set(job_ids)) == JOBS
    while True:
        delivered, deliveries, made, jobs, received, inbox = asyncio.run(_progress(settings))
        expected = (delivered, deliveries, made, jobs, received, inbox)
        if expected == (POSTS * HOSTS_PER_ACCOUNT,) * 2 + (JOBS,) * 2 + (LIKES,) * 2:
            break
        assert time.monotonic() - started < DEADLINE, (
            f"{delivered}/{deliveries} deliveries, {made}/{jobs} jobs, {received}/{inbox} Likes done; log: "
            + (cluster["cwd"] / "worker1.log").read_text()[-3000:]
        )
        time.sleep(0.25)
    asyncio.run(_check(settings, cluster["receiver"], held))


async def _running(settings: Any) -> set[tuple[str, int, int]]:
    """The claims running now in the delivery and job queues: (queue, row id, attempt count)."""
    async with open_services(settings) as svc, svc.reads() as session:
        found = set()
        for model in (Delivery, GenerationJob, InboxItem):
            query = select(model.id, model.attempts).where(model.state == queue.RUNNING)
            found |= {(model.__tablename__, i, a) for i, a in (await session.execute(query)).all()}
    return found


async def _check(settings: Any, receiver: Receiver, held: set[tuple[str, int, int]]) -> None:
    async with open_services(settings) as svc, svc.reads() as session:
        rows = (await session.execute(
            select(Activity.ap_id, Delivery.inbox_url, Delivery.state, Delivery.attempts)
            .join(Activity, Activity.id == Delivery.activity_id)
        )).all()  # fmt: skip
        jobs = (
            await session.execute(select(GenerationJob.id, GenerationJob.state, GenerationJob.attempts))
        ).all()
        media = Counter(
            (
                await session.scalars(
                    select(MediaAttachment.job_id).where(MediaAttachment.job_id.is_not(None))
                )
            ).all()
        )
    # Every post went to the shared inbox of each of its author's three follower hosts, and nothing
    # else was received. Each claim of a delivery sends it at most once: exactly once when it was
    # claimed once, again only where a frozen or killed worker had sent it and its row was taken over.
    assert len(rows) == POSTS * HOSTS_PER_ACCOUNT
    assert {state for _, _, state, _ in rows} == {queue.DONE}
    claims = {(inbox, ap_id): attempts for ap_id, inbox, _, attempts in rows}
    creates = dict(receiver.hits)
    assert set(creates) == set(claims)
    too_many = {key: (n, claims[key]) for key, n in creates.items() if n > claims[key]}
    assert not too_many, f"sent more often than claimed: {sorted(too_many.items())[:5]}"
    retried = {key for key, attempts in claims.items() if attempts > 1}
    twice = {key for key, n in creates.items() if n > 1}
    # What the killed worker held was taken over: claimed again, and done.
    attempts = {("deliveries", i): a for i, a in (await _attempts(settings, Delivery))}
    attempts |= {("generation_jobs", i): a for i, a in (await _attempts(settings, GenerationJob))}
    attempts |= {("inbox_items", i): a for i, a in (await _attempts(settings, InboxItem))}
    assert all(attempts[(name, i)] > a for name, i, a in held), held
    # Every Like received through either web process applied once: one favourite, one notification.
    async with open_services(settings) as svc, svc.reads() as session:
        favourites = Counter((await session.scalars(select(Favourite.ap_id))).all())
        favourited = select(Notification.recipient_id, Notification.status_id)
        notified = Counter((await session.execute(favourited.where(Notification.type == "favourite"))).all())
        items = set((await session.scalars(select(InboxItem.state))).all())
    assert len(favourites) == LIKES and set(favourites.values()) == {1}
    assert len(notified) == LIKES and set(notified.values()) == {1}
    assert items == {queue.DONE}
    # Every job done, its one image stored once (the killed worker's jobs were made again by the other).
    assert len(jobs) == JOBS and {state for _, state, _ in jobs} == {queue.DONE}
    assert all(media[job_id] == 1 for job_id, _, _ in jobs), {
        j: media[j] for j, _, _ in jobs if media[j] != 1
    }
    print(
        f"\nscale-out: the killed worker held {len(held)} rows; {len(rows)} deliveries "
        f"({len(retried)} taken over, {len(twice)} sent twice), "
        f"{len(jobs)} jobs ({sum(1 for _, _, a in jobs if a > 1)} taken over), {LIKES} Likes"
    )


async def _attempts(settings: Any, model: Any) -> list[tuple[int, int]]:
    async with open_services(settings) as svc, svc.reads() as session:
        return [(i, a) for i, a in (await session.execute(select(model.id, model.attempts))).all()]
