"""Two real `fedigen serve` processes (A and B) and the Fedify peer, all on 127.0.0.1 with their own ports:
A suspends the peer's host:port at the command line. From then on A neither delivers to the peer nor
accepts from it, and the peer's posts are hidden on A, while B (same host, another port) and the peer go
on federating, with each other and with A."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.interop.peer_process import PeerProcess, ensure_installed
from tests.support.server import FedigenServer

pytestmark = pytest.mark.interop


@pytest.fixture
def peer() -> Iterator[PeerProcess]:
    reason = ensure_installed()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the Fedify peer must run in CI: {reason}")
        pytest.skip(reason)
    with PeerProcess() as running:
        yield running


def _count(server: FedigenServer, sql: str, *args: Any) -> int:
    with sqlite3.connect(server.directory / "data" / "fedigen.db") as conn:
        return int(conn.execute(sql, args).fetchone()[0])


def _status_id(server: FedigenServer, ap_id: str) -> int:
    with sqlite3.connect(server.directory / "data" / "fedigen.db") as conn:
        return int(conn.execute("SELECT id FROM statuses WHERE ap_id=?", (ap_id,)).fetchone()[0])


@contextlib.contextmanager
def _started(directory: Path, name: str) -> Iterator[FedigenServer]:
    """A running instance with one account; stopped on the way out, even when making the account fails."""
    directory.mkdir()
    with FedigenServer(directory) as server:
        server.cli("account", "create", name, "--password-stdin", stdin="correct horse battery\n")
        yield server


def test_suspending_the_peer_stops_delivery_both_ways_and_hides_its_posts(
    tmp_path: Path, peer: PeerProcess
) -> None:
    with _started(tmp_path / "a", "alice") as a, _started(tmp_path / "b", "carol") as b:
        _story(a, b, peer)


def _story(a: FedigenServer, b: FedigenServer, peer: PeerProcess) -> None:
    alice, carol = f"{a.base_url}/users/alice", f"{b.base_url}/users/carol"
    peer_host = peer.health()["origin"].split("//", 1)[1]
    peer_handle = peer.health()["handle"].lstrip("@")
    # The peer follows alice and carol; alice follows the peer.
    for handle in (f"alice@{a.host}", f"carol@{b.host}"):
        peer.control("POST", "/follow", {"handle": handle})
    a.cli("follow", "--as", "alice", peer.health()["handle"])
    a.wait_until(
        lambda: _count(a, "SELECT count(*) FROM follows WHERE state='accepted'") == 2,
        what="alice and the peer following each other",
    )
    b.wait_until(lambda: _count(b, "SELECT count(*) FROM follows WHERE state='accepted'") == 1, what="carol")
    before = peer.control("POST", "/create", {"content": "<p>before</p>", "public": True, "mention": alice})
    a.wait_until(lambda: _count(a, "SELECT count(*) FROM statuses WHERE ap_id=?", before["note_id"]) == 1)
    shown = httpx.get(f"{a.base_url}/api/v1/statuses/{_status_id(a, before['note_id'])}", timeout=10)
    assert shown.status_code == 200

    done_to_peer = "SELECT count(*) FROM deliveries WHERE host=? AND state='done'"
    delivered_before = _count(a, done_to_peer, peer_host)
    out = a.cli(
        "domain", "block", peer_host, "--severity", "suspend", "--comment", "test", process=True
    ).stdout
    assert f"blocked {peer_host} (suspend)" in out

    peer.control("POST", "/reset")  # forget what it received before (keeps its followers)
    # Follows with the peer are severed on A, and its post is hidden there.
    assert _count(a, "SELECT count(*) FROM follows") == 0
    hidden = httpx.get(f"{a.base_url}/api/v1/statuses/{_status_id(a, before['note_id'])}", timeout=10)
    assert hidden.status_code == 404
    public = httpx.get(f"{a.base_url}/api/v1/timelines/public", timeout=10).json()
    assert before["note_id"] not in {s["uri"] for s in public}

    # peer -> A is refused (403); peer -> B still arrives.
    to_b = peer.control("POST", "/create", {"content": "<p>after, to B</p>", "to": [carol], "mention": carol})
    b.wait_until(lambda: _count(b, "SELECT count(*) FROM statuses WHERE ap_id=?", to_b["note_id"]) == 1)
    to_a = peer.control_response(
        "POST", "/create", {"content": "<p>after, to A</p>", "to": [alice], "mention": alice}
    )
    assert to_a.status_code == 502 and "403" in to_a.text and "your domain is blocked here" in to_a.text
    assert _count(a, "SELECT count(*) FROM statuses WHERE local=0 AND content LIKE '%after, to A%'") == 0

    # A -> peer: nothing, though alice addresses the peer; A -> B still goes.
    a.cli("post", "--as", "alice", "--visibility", "direct", f"hi @{peer_handle} and @carol@{b.host}")
    b.wait_until(
        lambda: _count(b, "SELECT count(*) FROM statuses WHERE content LIKE '%hi %' AND local=0") == 1,
        what="alice's post at B",
    )
    a.wait_until(
        lambda: _count(a, "SELECT count(*) FROM deliveries WHERE state IN ('queued', 'running')") == 0,
        what="A's deliveries finished",
    )
    assert [x for x in peer.received() if x.get("actor") == alice] == []
    assert _count(a, done_to_peer, peer_host) == delivered_before
    # The mention queued a delivery to the peer's inbox: dropped, never sent.
    assert _count(a, "SELECT count(*) FROM deliveries WHERE host=? AND state='cancelled'", peer_host) == 1
