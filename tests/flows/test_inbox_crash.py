"""Nothing accepted is lost on a crash: a real `fedigen serve --no-worker` is killed (SIGKILL, by its
PID) in the middle of a load of signed POSTs, and every POST that was answered 202 must have its row.

The sender is a fake remote server on loopback (tests.remote_actor) that serves bob's actor and key;
the requests are signed before the load starts and sent over 16 keep-alive connections.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
from pathlib import Path

import httpx

from tests.remote_actor import RemoteServer
from tests.support.server import FedigenServer, LoopbackServer, free_port

REQUESTS = 600
CONNECTIONS = 16
KILL_AFTER = 150  # accepted POSTs before the kill


def test_every_post_answered_202_is_stored_after_a_kill_mid_load(tmp_path: Path) -> None:
    port = free_port()
    remote = RemoteServer(f"127.0.0.1:{port}")
    bob = remote.add_actor("bob")
    with (
        LoopbackServer(remote.app, port=port),
        FedigenServer(tmp_path, serve_args=["--no-worker"]) as server,
    ):
        server.cli("account", "create", "alice", "--password-stdin", stdin="correct horse battery\n")
        alice = f"{server.base_url}/users/alice"
        inbox = f"{alice}/inbox"
        signed = []
        for _ in range(REQUESTS + 1):
            body = json.dumps(bob.create(bob.note(mention=alice))).encode()
            signed.append((body, bob.sign(inbox, body)))
        assert server.process is not None
        pid = server.process.pid
        first = httpx.post(inbox, content=signed[0][0], headers=signed[0][1], timeout=10)
        assert first.status_code == 202, first.text  # bob's key fetched and cached
        accepted, unanswered = asyncio.run(_load(inbox, signed[1:], pid))
        assert server.process.wait(timeout=10) == -signal.SIGKILL
    assert len(accepted) >= KILL_AFTER
    assert unanswered, "the kill came after the load was over: it proves nothing"
    with sqlite3.connect(tmp_path / "data" / "fedigen.db") as db:
        stored = {row[0] for row in db.execute("SELECT activity_ap_id FROM inbox_items")}
    lost = [ap_id for ap_id in accepted if ap_id not in stored]
    assert not lost, f"{len(lost)} of {len(accepted)} activities answered 202 are not in the database"
    # The first one, and nothing that was never sent.
    assert len(stored) <= REQUESTS + 1


async def _load(
    inbox: str, signed: list[tuple[bytes, dict[str, str]]], pid: int
) -> tuple[list[str], list[str]]:
    """POST everything over CONNECTIONS connections; SIGKILL ``pid`` once KILL_AFTER were accepted.
    Returns the activity ids answered 202 and those never answered."""
    accepted: list[str] = []
    unanswered: list[str] = []
    queue = iter(signed)
    killed = False

    async def connection(client: httpx.AsyncClient) -> None:
        nonlocal killed
        for body, headers in queue:
            ap_id = json.loads(body)["id"]
            try:
                response = await client.post(inbox, content=body, headers=headers)
            except httpx.HTTPError:
                unanswered.append(ap_id)
                continue
            if response.status_code == 202:
                accepted.append(ap_id)
            else:
                unanswered.append(ap_id)
            if len(accepted) >= KILL_AFTER and not killed:
                killed = True
                os.kill(pid, signal.SIGKILL)

    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    async with httpx.AsyncClient(limits=limits, timeout=10, trust_env=False) as client:
        async with asyncio.timeout(120):
            await asyncio.gather(*(connection(client) for _ in range(CONNECTIONS)))
    return accepted, unanswered
