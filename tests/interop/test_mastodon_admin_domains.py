"""Mastodon.py's admin calls for domains against a real `fedigen serve`: an admin blocks, changes, lists
and lifts domain blocks and allows; a moderator's token is refused; members see the public list."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from mastodon import Mastodon
from mastodon.errors import MastodonAPIError

from tests.interop.clients import password_token
from tests.support.server import FedigenServer

pytestmark = pytest.mark.interop

PASSWORD = "correct horse battery"
ADMIN_SCOPES = "read write admin:read admin:write"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FedigenServer]:
    with FedigenServer(tmp_path_factory.mktemp("fedigen")) as running:
        for name, role in (("boss", "admin"), ("mo", "moderator"), ("member", "member")):
            running.cli("account", "create", name, "--role", role, "--password-stdin", stdin=PASSWORD + "\n")
        yield running


def _api(server: FedigenServer, name: str) -> Mastodon:
    token = password_token(server.base_url, name, PASSWORD, ADMIN_SCOPES)
    return Mastodon(access_token=token, api_base_url=server.base_url, version_check_mode="none",
                    request_timeout=30)  # fmt: skip


def test_mastodon_py_manages_domain_blocks_and_allows(server: FedigenServer) -> None:
    boss = _api(server, "boss")
    made = boss.admin_create_domain_block(
        "spam.example", severity="suspend", reject_media=True, private_comment="p", public_comment="spam"
    )
    assert (made.domain, made.severity, made.reject_media, made.private_comment) == (
        "spam.example", "suspend", True, "p",
    )  # fmt: skip
    assert [b.domain for b in boss.admin_domain_blocks()] == ["spam.example"]
    assert boss.admin_domain_blocks(id=made.id).public_comment == "spam"
    changed = boss.admin_update_domain_block(made.id, severity="silence", reject_media=False)
    assert (changed.severity, changed.reject_media) == ("silence", False)
    with sqlite3.connect(server.directory / "data" / "fedigen.db") as db:
        assert db.execute("SELECT domain, severity, reject_media FROM domain_blocks").fetchall() == [
            ("spam.example", "silence", 0)
        ]
    shown = _api(server, "member").instance_domain_blocks()
    assert [(b.domain, b.severity, b.comment) for b in shown] == [("spam.example", "silence", "spam")]

    mod = _api(server, "mo")
    with pytest.raises(MastodonAPIError) as refused:
        mod.admin_create_domain_block("other.example", severity="suspend")
    assert refused.value.args[1] == 403
    with pytest.raises(MastodonAPIError):
        mod.admin_domain_blocks()

    boss.admin_delete_domain_block(made.id)
    assert boss.admin_domain_blocks() == []

    allowed = boss.admin_create_domain_allow("friend.example")
    assert allowed.domain == "friend.example"
    assert [a.domain for a in boss.admin_domain_allows()] == ["friend.example"]
    assert boss.admin_domain_allow(allowed.id).domain == "friend.example"
    boss.admin_delete_domain_allow(allowed.id)
    assert boss.admin_domain_allows() == []
