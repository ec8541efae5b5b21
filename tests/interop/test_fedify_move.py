"""A `Move` from one fedigen instance to another carries the followers: two real `fedigen serve`
processes and the Fedify peer on loopback (issue 12).

On instance A, alice is followed by the Fedify peer and by bob, a local account. On instance B, alice2
names alice@A as an alias (`fedigen account alias`); then A moves alice there (`fedigen account move`).
The peer receives the Move, verified by Fedify, and does what Mastodon does with it (the peer's Move
handler, tests/interop/peer/README.md): it fetches alice2, sees the alias, follows alice2 and stops
following alice. A moves bob at once: he follows alice2 on B (accepted there) and no longer follows
alice. alice's actor document on A says where she went (`movedTo`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import httpx
import pytest

from tests.interop import test_fedify_peer as basics
from tests.interop.peer_process import PeerProcess
from tests.support.server import FedigenServer

pytestmark = pytest.mark.interop
peer = basics.peer  # the same module-scoped Fedify peer fixture (one peer for this module)

PASSWORD = "correct horse battery\n"
AS_JSON = {"Accept": "application/activity+json"}


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FedigenServer, FedigenServer]]:
    with (
        FedigenServer(tmp_path_factory.mktemp("fedigen-a")) as a,
        FedigenServer(tmp_path_factory.mktemp("fedigen-b")) as b,
    ):
        yield a, b


def _rows(server: FedigenServer, sql: str, *params: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(server.directory / "data" / "fedigen.db") as db:
        return list(db.execute(sql, params).fetchall())


def _followers(server: FedigenServer, username: str) -> dict[str, str]:
    """The followers of a local account as that server stores them: follower id -> state."""
    rows = _rows(
        server,
        "SELECT f.ap_id, w.state FROM follows w JOIN actors f ON f.id = w.follower_id"
        " JOIN actors t ON t.id = w.followee_id WHERE t.username = ? AND t.domain IS NULL",
        username,
    )
    return {str(ap_id): str(state) for ap_id, state in rows}


def test_a_move_to_another_fedigen_carries_the_followers(
    servers: tuple[FedigenServer, FedigenServer], peer: PeerProcess
) -> None:
    a, b = servers
    alice, bob = f"{a.base_url}/users/alice", f"{a.base_url}/users/bob"
    alice2 = f"{b.base_url}/users/alice2"
    a.cli("account", "create", "alice", "--password-stdin", stdin=PASSWORD)
    a.cli("account", "create", "bob", "--password-stdin", stdin=PASSWORD)
    b.cli("account", "create", "alice2", "--password-stdin", stdin=PASSWORD)

    # alice's followers: the peer (another server) and bob (on A).
    peer.control("POST", "/follow", {"handle": f"alice@{a.host}"})
    peer.wait_for(lambda x: x["type"] == "Accept" and x["actor"] == alice, timeout=30)
    a.cli("follow", "--as", "bob", f"@alice@{a.host}")
    a.wait_until(lambda: _followers(a, "alice") == {peer.actor: "accepted", bob: "accepted"}, timeout=30,
                 what="alice followed by the peer and bob")  # fmt: skip

    # Refused while alice2 does not name alice: nothing moves.
    refused = a.cli("account", "move", "alice", f"@alice2@{b.host}", check=False)
    assert refused.returncode != 0 and "does not name this account as an alias" in refused.stderr
    assert _rows(a, "SELECT moved_to_ap_id FROM actors WHERE username = 'alice' AND domain IS NULL") == [
        (None,)
    ]

    assert alice in b.cli("account", "alias", "alice2", f"@alice@{a.host}").stdout
    moved = a.cli("account", "move", "alice", f"@alice2@{b.host}").stdout
    assert f"moved to {alice2}" in moved

    # The peer got the Move, verified by Fedify, and followed alice2 as Mastodon would.
    move = peer.wait_for(lambda x: x["type"] == "Move" and x["actor"] == alice, timeout=60)
    assert move["object"] == alice and move["raw"]["target"] == alice2
    assert move["signature"] in ("rfc9421", "draft-cavage")
    assert move["activity"]["target"] == alice2  # Fedify's own reading of what it verified
    peer.wait_for(lambda x: x["type"] == "Accept" and x["actor"] == alice2, timeout=60)
    [handled] = [m for m in peer.control("GET", "/moves") if m["move_id"] == move["id"]]
    assert handled["error"] is None and handled["target"] == alice2, handled
    assert handled["follow_id"] and handled["undo_id"]

    def peer_follows_only_alice2() -> bool:
        following = {f["id"]: f["accepted"] for f in peer.control("GET", "/following")}
        return following.get(alice2) is True and alice not in following

    a.wait_until(peer_follows_only_alice2, timeout=30, what="the peer following alice2, not alice")
    assert not [e for e in peer.errors() if e["activity_id"] in (move["id"], handled["follow_id"])]

    # B: alice2 is followed by the peer and by bob@A, both accepted.
    b.wait_until(lambda: _followers(b, "alice2") == {peer.actor: "accepted", bob: "accepted"}, timeout=60,
                 what="alice2 followed by the peer and bob")  # fmt: skip
    # A: bob follows alice2 (accepted by B) and neither he nor the peer follows alice any more.
    a.wait_until(lambda: _followers(a, "alice") == {}, timeout=60, what="alice's followers gone")
    bob_follows = (
        "SELECT w.state FROM follows w JOIN actors f ON f.id = w.follower_id"
        " JOIN actors t ON t.id = w.followee_id"
        " WHERE f.username = 'bob' AND f.domain IS NULL AND t.ap_id = ?"
    )
    # B's Accept reaches A after B stored the follow: wait for it.
    a.wait_until(lambda: _rows(a, bob_follows, alice2) == [("accepted",)], timeout=60,
                 what="bob's follow of alice2 accepted on A")  # fmt: skip
    # A's alice says where she went, in the database and in her actor document.
    assert _rows(a, "SELECT moved_to_ap_id FROM actors WHERE username = 'alice' AND domain IS NULL") == [
        (alice2,)
    ]
    document = httpx.get(alice, headers=AS_JSON, timeout=10).json()
    assert document["movedTo"] == alice2
    assert alice in httpx.get(alice2, headers=AS_JSON, timeout=10).json()["alsoKnownAs"]
