"""A deleted account's Delete reaches an independent server: a Fedify peer on loopback, which verifies
the signature with Fedify's own code (fetching the key from what stays of the deleted actor)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

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


def test_a_deleted_accounts_delete_reaches_the_peer(tmp_path: Path, peer: PeerProcess) -> None:
    with FedigenServer(tmp_path) as server:
        server.cli("account", "create", "leaving", "--password-stdin", stdin="correct horse battery\n")
        leaving = f"{server.base_url}/users/leaving"
        result = peer.control("POST", "/follow", {"handle": f"leaving@{server.host}"})
        assert result["target"] == leaving
        peer.wait_for(lambda a: a["type"] == "Accept" and a["actor"] == leaving, timeout=20)

        out = server.cli("account", "delete", "leaving", "--yes").stdout
        assert "deleted @leaving" in out and "queued for 1 inboxes" in out
        delete = peer.wait_for(lambda a: a["type"] == "Delete" and a["actor"] == leaving, timeout=30)
        # Mastodon's shape: the object is the actor itself; the peer verified the signature to record it.
        assert delete["raw"]["object"] == leaving and delete["raw"]["id"] == f"{leaving}#delete"
        assert delete["signature"] in ("rfc9421", "draft-cavage")
        with sqlite3.connect(server.directory / "data" / "fedigen.db") as db:
            assert db.execute("SELECT count(*) FROM follows").fetchone() == (0,)
            assert db.execute(
                "SELECT deleted_at IS NOT NULL FROM actors WHERE username='leaving'"
            ).fetchone() == (1,)
        assert not [e for e in peer.control("GET", "/errors") if "Delete" in str(e)]
