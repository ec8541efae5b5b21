"""Interop: fedigen's outgoing RFC 9421 signatures, verified by Fedify (the independent peer of
tests/interop/peer), and the double-knock memory of a real `fedigen serve`.

The peer signs with RFC 9421 first (Fedify's double-knocking), so once it has followed alice fedigen
knows the peer's host verifies RFC 9421 (activitypub.schemes, "whoever signs RFC 9421 verifies it"):
the Accept and every later delivery go out signed with RFC 9421, and Fedify takes them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

from tests.interop import test_fedify_peer as basics
from tests.interop.peer_process import PeerProcess
from tests.support.server import FedigenServer

pytestmark = pytest.mark.interop
peer = basics.peer  # the same module-scoped Fedify peer fixture (one peer for this module)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FedigenServer]:
    with FedigenServer(tmp_path_factory.mktemp("fedigen")) as running:
        running.cli("account", "create", "alice", "--password-stdin", stdin="correct horse battery\n")
        yield running


def _scheme_of(server: FedigenServer, host: str) -> str | None:
    with sqlite3.connect(server.directory / "data" / "fedigen.db") as conn:
        row = conn.execute("SELECT signature_scheme FROM hosts WHERE domain = ?", (host,)).fetchone()
    return row[0] if row else None


def test_deliveries_to_a_host_known_to_take_rfc9421_are_signed_so_and_accepted(
    server: FedigenServer, peer: PeerProcess
) -> None:
    health = peer.control("GET", "/health")
    peer_host = health["origin"].removeprefix("http://")
    peer.control("POST", "/follow", {"handle": f"alice@{server.host}"})
    follow_out = [r for r in peer.outgoing() if r["method"] == "POST" and server.host in r["url"]]
    assert follow_out and follow_out[0]["signature"] == "rfc9421" and follow_out[0]["status"] == 202
    accept = peer.wait_for(lambda a: a["type"] == "Accept", timeout=20)
    assert accept["signature"] == "rfc9421"
    assert peer.rejected() == []
    server.wait_until(lambda: _scheme_of(server, peer_host) == "rfc9421", what="the peer's host remembered")

    # A post to the new follower goes the same way, the first time round.
    server.cli("post", "--as", "alice", "signed the new way")
    create = peer.wait_for(lambda a: a["type"] == "Create", timeout=20)
    assert create["signature"] == "rfc9421"
    assert "signed the new way" in create["raw"]["object"]["content"]
    assert peer.rejected() == []
