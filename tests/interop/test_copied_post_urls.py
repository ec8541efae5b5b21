"""A post URL copied from a browser resolves: Mastodon serves the Note at the page URL ``/@bob/ID``
too, but its ``id`` is ``/users/bob/statuses/ID``. `fedigen remix` of such a URL, run against a real
`fedigen serve`, fetches the page, follows it to the id on the same host, trusts the Note only as
fetched there, and remixes it; a page naming an id on another host is refused and nothing is stored.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from tests.generation.standins import png
from tests.remote_actor import RemoteServer
from tests.support.server import FedigenServer, LoopbackServer, free_port

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def fedigen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FedigenServer]:
    with FedigenServer(
        tmp_path_factory.mktemp("fedigen"), extra_config='[generation]\nsize = "64x64"'
    ) as running:
        running.cli("account", "create", "alice", "--password-stdin", stdin="correct horse battery\n")
        yield running


def _rows(server: FedigenServer, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(server.directory / "data" / "fedigen.db") as conn:
        return list(conn.execute(sql, args).fetchall())


def mastodon_with_a_post(port: int) -> tuple[RemoteServer, dict[str, Any], str]:
    remote = RemoteServer(host=f"127.0.0.1:{port}")
    bob = remote.add_actor("bob")
    image = f"{remote.base}/system/media_attachments/files/1/original/sunset.png"
    remote.files[image] = ("image/png", png(64, 64))
    note = bob.note(
        "<p>sunset over the harbour</p>",
        attachment=[{"type": "Document", "mediaType": "image/png", "url": image, "name": "a sunset"}],
    )
    page = f"{remote.base}/@bob/{note['id'].rsplit('/', 1)[-1]}"
    note["url"] = page
    remote.serve(note)
    remote.serve(note, url=page)
    return remote, note, page


def test_remix_of_a_copied_mastodon_post_url(fedigen: FedigenServer) -> None:
    port = free_port()
    remote, note, page = mastodon_with_a_post(port)
    with LoopbackServer(remote.app, port):
        out = fedigen.cli("remix", "--as", "alice", page, "in the rain").stdout
        assert remote.requests_to(page) and remote.requests_to(note["id"])
    [(parent_id,)] = _rows(fedigen, "SELECT id FROM statuses WHERE ap_id = ?", note["id"])
    [(url,)] = _rows(fedigen, "SELECT url FROM statuses WHERE id = ?", parent_id)
    assert url == page
    assert _rows(fedigen, "SELECT count(*) FROM generation_jobs WHERE parent_status_id = ?", parent_id) == [
        (1,)
    ]
    assert out.strip(), "the command says what it queued"


def test_a_copied_url_whose_id_is_on_another_host_is_refused(fedigen: FedigenServer) -> None:
    port = free_port()
    remote, note, page = mastodon_with_a_post(port)
    note["id"] = "http://127.0.0.1:1/users/bob/statuses/9"  # another origin (another port)
    remote.serve(note, url=page)
    before = _rows(fedigen, "SELECT count(*) FROM statuses")
    with LoopbackServer(remote.app, port):
        result = fedigen.cli("remix", "--as", "alice", page, "in the rain", check=False)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].startswith(f"fedigen: could not fetch {page}: ")
    assert _rows(fedigen, "SELECT count(*) FROM statuses") == before
