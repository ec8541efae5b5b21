"""Interop with an independent server: a Fedify peer on loopback follows, reads and talks to fedigen.

The peer verifies every activity with Fedify's own signature code (never switched off); fedigen runs
as a real `fedigen serve` process, driven through its command line.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from tests.interop.peer_process import PeerProcess, ensure_installed
from tests.support.server import FedigenServer

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def peer() -> Iterator[PeerProcess]:
    reason = ensure_installed()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the Fedify peer must run in CI: {reason}")
        pytest.skip(reason)
    with PeerProcess() as running:
        yield running


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FedigenServer]:
    with FedigenServer(tmp_path_factory.mktemp("fedigen")) as running:
        running.cli("account", "create", "alice", "--password-stdin", stdin="correct horse battery\n")
        yield running


def _db(server: FedigenServer) -> sqlite3.Connection:
    return sqlite3.connect(server.directory / "data" / "fedigen.db")


def _count(server: FedigenServer, sql: str, *args: Any) -> int:
    with _db(server) as conn:
        return int(conn.execute(sql, args).fetchone()[0])


def test_peer_follows_by_handle_and_gets_accept(server: FedigenServer, peer: PeerProcess) -> None:
    result = peer.control("POST", "/follow", {"handle": f"alice@{server.host}"})
    assert result["target"] == f"{server.base_url}/users/alice"
    accept = peer.wait_for(lambda a: a["type"] == "Accept", timeout=20)
    assert accept["actor"] == f"{server.base_url}/users/alice"
    assert accept["activity"]["object"]["id"] == result["id"] or accept["activity"]["object"] == result["id"]
    assert _count(server, "SELECT count(*) FROM follows WHERE state='accepted'") == 1


def test_post_update_delete_reach_the_peer_verified(server: FedigenServer, peer: PeerProcess) -> None:
    out = server.cli("post", "--as", "alice", "hello from fedigen #interop").stdout
    status_id = out.split()[0]
    create = peer.wait_for(lambda a: a["type"] == "Create", timeout=20)
    note = create["raw"]["object"]
    assert "hello from fedigen" in note["content"]
    assert any(t["type"] == "Hashtag" and t["name"] == "#interop" for t in note["tag"])
    assert "https://www.w3.org/ns/activitystreams#Public" in note["to"]
    # The peer can dereference the Note at its id with a signed GET.
    fetched = peer.control("POST", "/fetch", {"url": note["id"]})
    assert fetched["status"] == 200 and fetched["document"]["id"] == note["id"]

    server.cli("edit", "--as", "alice", status_id, "edited from fedigen")
    update = peer.wait_for(lambda a: a["type"] == "Update", timeout=20)
    assert "edited from fedigen" in update["raw"]["object"]["content"]
    assert update["raw"]["object"]["updated"]

    server.cli("delete", "--as", "alice", status_id)
    delete = peer.wait_for(lambda a: a["type"] == "Delete", timeout=20)
    assert delete["raw"]["object"]["id"] == note["id"]
    assert delete["raw"]["object"]["type"] == "Tombstone"


def test_peer_mentions_likes_boosts_and_undoes(server: FedigenServer, peer: PeerProcess) -> None:
    alice = f"{server.base_url}/users/alice"
    sent = peer.control(
        "POST", "/create", {"content": "<p>hi @alice</p>", "mention": alice, "to": [alice], "public": True}
    )
    server.wait_until(
        lambda: _count(server, "SELECT count(*) FROM statuses WHERE ap_id=?", sent["note_id"]) == 1,
        what="the peer's mention stored",
    )
    assert "mention" in server.cli("notifications", "--as", "alice").stdout

    out = server.cli("post", "--as", "alice", "something to like").stdout
    status_id = out.split()[0]
    note_id = f"{alice}/statuses/{status_id}"
    like = peer.control("POST", "/like", {"object": note_id, "actor": alice})
    boost = peer.control("POST", "/announce", {"object": note_id, "actor": alice})
    server.wait_until(lambda: _count(server, "SELECT count(*) FROM favourites") == 1, what="the like")
    server.wait_until(
        lambda: _count(server, "SELECT count(*) FROM statuses WHERE reblog_of_id IS NOT NULL") == 1,
        what="the boost",
    )
    notes = server.cli("notifications", "--as", "alice").stdout
    assert "favourite" in notes and "reblog" in notes

    peer.control("POST", "/undo", {"activity_id": like["activity_id"]})
    peer.control("POST", "/undo", {"activity_id": boost["activity_id"]})
    server.wait_until(lambda: _count(server, "SELECT count(*) FROM favourites") == 0, what="the undone like")
    server.wait_until(
        lambda: _count(server, "SELECT count(*) FROM statuses WHERE reblog_of_id IS NOT NULL") == 0,
        what="the undone boost",
    )


def test_fedigen_follows_the_peer(server: FedigenServer, peer: PeerProcess) -> None:
    handle = peer.control("GET", "/health")["handle"]
    out = server.cli("follow", "--as", "alice", handle).stdout
    assert "requested" in out or "following" in out
    follow = peer.wait_for(lambda a: a["type"] == "Follow", timeout=20)
    assert follow["actor"] == f"{server.base_url}/users/alice"
    server.wait_until(
        lambda: _count(server, "SELECT count(*) FROM follows WHERE state='accepted'") == 2,
        what="the peer's Accept processed",
    )
    # A post from the followed peer now lands in fedigen (stored for the home timeline).
    sent = peer.control("POST", "/create", {"content": "<p>post for followers</p>", "public": True})
    server.wait_until(
        lambda: _count(server, "SELECT count(*) FROM statuses WHERE ap_id=?", sent["note_id"]) == 1,
        what="the followed peer's post",
    )


def test_unfollow_by_peer_removes_follower(server: FedigenServer, peer: PeerProcess) -> None:
    peer.control("POST", "/unfollow", {"actor": f"{server.base_url}/users/alice"})
    server.wait_until(
        lambda: (
            _count(
                server,
                "SELECT count(*) FROM follows f JOIN actors a ON a.id=f.followee_id WHERE a.domain IS NULL",
            )
            == 0
        ),
        what="the Undo{Follow}",
    )
