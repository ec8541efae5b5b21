"""Polls with an independent server: a poll and a vote round-trip between fedigen and the Fedify peer.

fedigen (a real `fedigen serve`, alice posting with Mastodon.py, a real Mastodon client library) posts a
poll; the peer, which follows her, receives it as a Question (verified and parsed by Fedify), votes as
Mastodon does (a Create of a Note named after the option, in reply to the Question) and gets the new
counts in an Update. The other way, the peer posts a Question mentioning alice; fedigen keeps its poll,
alice votes with Mastodon.py, the peer receives and counts her vote, and its Update with the counts is
taken by fedigen as no edit.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from mastodon import Mastodon

from tests.interop import test_fedify_peer as basics
from tests.interop.clients import password_token, poll
from tests.interop.peer_process import PeerProcess
from tests.support.server import FedigenServer

pytestmark = pytest.mark.interop
peer = basics.peer  # a module-scoped Fedify peer for this module

PASSWORD = "correct horse battery"
# Counts go out as soon as a vote is in (the default batches them for a minute).
CONFIG = "[worker]\npoll_update_delay = 0"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FedigenServer]:
    with FedigenServer(tmp_path_factory.mktemp("fedigen"), extra_config=CONFIG) as running:
        running.cli("account", "create", "alice", "--password-stdin", stdin=PASSWORD + "\n")
        yield running


@pytest.fixture(scope="module")
def token(server: FedigenServer) -> str:
    return password_token(server.base_url, "alice", PASSWORD, "read write")


@pytest.fixture(scope="module")
def api(server: FedigenServer, token: str) -> Iterator[httpx.Client]:
    """alice's client API session, for reading."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=15, trust_env=False) as client:
        yield client


@pytest.fixture(scope="module")
def app(server: FedigenServer, token: str) -> Mastodon:
    """alice in Mastodon.py, which posts and votes as apps do."""
    return Mastodon(
        access_token=token, api_base_url=server.base_url, version_check_mode="none", request_timeout=30
    )


def _count(server: FedigenServer, sql: str, *args: Any) -> int:
    with sqlite3.connect(server.directory / "data" / "fedigen.db") as conn:
        return int(conn.execute(sql, args).fetchone()[0])


def test_a_fedigen_poll_gets_the_peers_vote_and_sends_the_counts(
    server: FedigenServer, peer: PeerProcess, api: httpx.Client, app: Mastodon
) -> None:
    alice = f"{server.base_url}/users/alice"
    peer.control("POST", "/follow", {"handle": f"alice@{server.host}"})
    peer.wait_for(lambda a: a["type"] == "Accept" and a["actor"] == alice, timeout=20)

    status = app.status_post("Tea or coffee?", poll=app.make_poll(["Tea", "Coffee"], expires_in=3600))
    assert [o.title for o in status.poll.options] == ["Tea", "Coffee"] and status.poll.voted is True
    create = peer.wait_for(lambda a: a["type"] == "Create" and a["object"] == status["uri"], timeout=30)
    question = create["raw"]["object"]
    assert question["type"] == "Question" and question["votersCount"] == 0
    assert [(o["name"], o["replies"]["totalItems"]) for o in question["oneOf"]] == [("Tea", 0), ("Coffee", 0)]
    # Fedify verified the Create and read the object as a Question with its options.
    assert create["activity"]["object"]["type"] == "Question"
    assert [o["name"] for o in create["activity"]["object"]["oneOf"]] == ["Tea", "Coffee"]

    peer.control("POST", "/vote", {"question": status["uri"], "choices": ["Coffee"], "actor": alice})
    counted = poll(lambda: api.get(f"/api/v1/polls/{status['poll']['id']}").json(),
                   lambda p: p["votes_count"] == 1, timeout=20, what="the peer's vote counted")  # fmt: skip
    assert [o["votes_count"] for o in counted["options"]] == [0, 1] and counted["voters_count"] == 1
    assert _count(server, "SELECT count(*) FROM statuses") == 1  # the vote is no post

    update = peer.wait_for(lambda a: a["type"] == "Update" and a["object"] == status["uri"], timeout=30)
    recounted = update["raw"]["object"]
    assert recounted["type"] == "Question" and "updated" not in recounted
    assert [o["replies"]["totalItems"] for o in recounted["oneOf"]] == [0, 1] and recounted[
        "votersCount"
    ] == 1
    assert peer.errors() == [] and peer.rejected() == []


def test_the_peers_poll_gets_a_vote_from_fedigen(
    server: FedigenServer, peer: PeerProcess, api: httpx.Client, app: Mastodon
) -> None:
    alice = f"{server.base_url}/users/alice"
    sent = peer.control("POST", "/question", {
        "content": "<p>@alice cats or dogs?</p>", "options": ["Cats", "Dogs"], "mention": alice,
        "public": True, "expires_in": 3600,
    })  # fmt: skip
    question_id = sent["question_id"]
    raw = sent["activity"]["object"]
    assert raw["type"] == "Question" and [o["name"] for o in raw["oneOf"]] == ["Cats", "Dogs"]

    def mention() -> dict[str, Any] | None:
        found = [n for n in api.get("/api/v1/notifications").json()
                 if n["type"] == "mention" and n["status"]["uri"] == question_id]  # fmt: skip
        return found[0] if found else None

    shown = poll(mention, lambda n: n is not None, timeout=20, what="the peer's Question stored")
    assert shown is not None
    entity = shown["status"]["poll"]
    assert [o["title"] for o in entity["options"]] == ["Cats", "Dogs"]
    assert entity["multiple"] is False and entity["expired"] is False and entity["voted"] is False

    voted = app.poll_vote(entity["id"], [1])
    assert voted.own_votes == [1] and voted.voted is True and voted.votes_count == 1

    vote = peer.wait_for(lambda a: a["type"] == "Create" and a["actor"] == alice
                         and (a["raw"] or {}).get("object", {}).get("inReplyTo") == question_id,
                         timeout=30)  # fmt: skip
    note = vote["raw"]["object"]
    assert note["type"] == "Note" and note["name"] == "Dogs" and note["to"] == [peer.actor]
    assert note["attributedTo"] == alice and "content" not in note
    assert vote["inbox"] == "personal" and vote["signature"] in ("rfc9421", "draft-cavage")
    [counted] = [q for q in peer.control("GET", "/questions") if q["id"] == question_id]
    assert counted["votes"] == {alice: ["Dogs"]}

    # The peer answers with an Update of its Question's counts (no updated): counts only, no edit.
    server.wait_until(
        lambda: _count(server, "SELECT count(*) FROM inbox_items WHERE ap_type='Update' AND state='done' "
                               "AND actor_ap_id=?", peer.actor) >= 1,
        what="the peer's Update with the counts",
    )  # fmt: skip
    status = api.get(f"/api/v1/statuses/{shown['status']['id']}").json()
    assert status["edited_at"] is None
    assert [o["votes_count"] for o in status["poll"]["options"]] == [0, 1] and status["poll"][
        "voters_count"
    ] == 1
    assert status["poll"]["own_votes"] == [1]
    assert peer.errors() == [] and peer.rejected() == []
