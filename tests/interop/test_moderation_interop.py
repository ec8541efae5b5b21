"""Moderation against real components: a real `fedigen serve`, the Fedify peer, Mastodon.py and the CLI.

A member reports the peer's account and post with Mastodon.py (``report(..., forward=True)``); the
report arrives at the peer as a ``Flag`` from fedigen's instance actor, verified by Fedify. A moderator
drives the admin API with Mastodon.py (reports: list, assign, resolve, reopen; accounts: v2 list,
moderate, unsilence) while a member is refused (403); the CLI reads and resolves the queue, shows the
account, suspends and unsuspends a local account (which then cannot sign in), and prints the audit log.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from mastodon import Mastodon, MastodonAPIError

from tests.interop import test_fedify_peer as basics
from tests.interop.clients import password_token
from tests.interop.peer_process import PeerProcess
from tests.support.server import FedigenServer

pytestmark = pytest.mark.interop
peer = basics.peer  # the module-scoped Fedify peer fixture

PASSWORD = "correct horse battery"
MEMBER_SCOPES = "read write follow"
ADMIN_SCOPES = "read write follow admin:read admin:write"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FedigenServer]:
    with FedigenServer(tmp_path_factory.mktemp("fedigen")) as running:
        running.cli("account", "create", "alice", "--password-stdin", stdin=PASSWORD + "\n")
        running.cli(
            "account", "create", "mo", "--role", "moderator", "--password-stdin", stdin=PASSWORD + "\n"
        )
        yield running


def _one(server: FedigenServer, sql: str, *args: object) -> object:
    with sqlite3.connect(server.directory / "data" / "fedigen.db") as conn:
        row = conn.execute(sql, args).fetchone()
    return row[0] if row else None


def _client(server: FedigenServer, username: str, scopes: str) -> Mastodon:
    token = password_token(server.base_url, username, PASSWORD, scopes)
    return Mastodon(
        access_token=token, api_base_url=server.base_url, version_check_mode="created", request_timeout=30
    )


def test_a_report_forwarded_as_flag_arrives_at_the_peer_and_moderators_work_the_queue(
    server: FedigenServer, peer: PeerProcess
) -> None:
    alice_url = f"{server.base_url}/users/alice"
    note = peer.control(
        "POST",
        "/create",
        {"content": "<p>spam @alice</p>", "mention": alice_url, "to": [alice_url], "public": True},
    )
    server.wait_until(
        lambda: _one(server, "SELECT id FROM statuses WHERE ap_id = ?", note["note_id"]),
        what="the peer's post stored",
    )
    status_id = _one(server, "SELECT id FROM statuses WHERE ap_id = ?", note["note_id"])
    peer_id = _one(server, "SELECT id FROM actors WHERE ap_id = ?", peer.actor)

    member = _client(server, "alice", MEMBER_SCOPES)
    report = member.report(
        peer_id, status_ids=[status_id], comment="this is spam", forward=True, category="spam"
    )
    assert report.forwarded is True and report.category == "spam"
    assert [str(i) for i in report.status_ids] == [str(status_id)]

    flag = peer.wait_for("Flag", timeout=30)
    assert flag["actor"] == f"{server.base_url}/actor"
    raw = flag["raw"] if isinstance(flag["raw"], dict) else json.loads(flag["raw"])
    assert raw["object"] == [peer.actor, note["note_id"]] and raw["content"] == "this is spam"
    assert flag["signature"] in ("rfc9421", "draft-cavage")  # Fedify verified the instance actor's signature

    # A member with admin scopes on its token is still refused (its role lacks the permission).
    member_admin = _client(server, "alice", ADMIN_SCOPES)
    with pytest.raises(MastodonAPIError) as refused:
        member_admin.admin_reports()
    assert refused.value.args[1] == 403
    with pytest.raises(MastodonAPIError):
        member_admin.admin_accounts_v2()

    mod = _client(server, "mo", ADMIN_SCOPES)
    queue = mod.admin_reports()
    assert [str(r.id) for r in queue] == [str(report.id)]
    assert queue[0].target_account.account.acct.startswith("peer@") and queue[0].forwarded is True
    assert mod.admin_report_assign(report.id).assigned_account.username == "mo"
    remote = mod.admin_accounts_v2(origin="remote")
    assert [a.username for a in remote] == ["peer"]
    mod.admin_account_moderate(peer_id, action="silence", report_id=report.id, text="spam")
    assert mod.admin_account(peer_id).silenced is True
    assert mod.admin_report(report.id).action_taken is True
    assert mod.admin_report_reopen(report.id).action_taken is False
    assert mod.admin_report_resolve(report.id).action_taken is True
    assert mod.admin_account_unsilence(peer_id).silenced is False

    # The CLI reads the same queue and log.
    listed = server.cli("report", "list", "--resolved").stdout
    assert f"#{report.id}\t" in listed and "spam" in listed
    shown = server.cli("report", "show", str(report.id)).stdout
    assert "comment: this is spam" in shown and "forwarded: yes" in shown and note["note_id"] in shown
    server.cli("report", "reopen", str(report.id))
    assert server.cli("report", "resolve", str(report.id)).stdout.strip() == f"report #{report.id}: resolved"
    log = server.cli("audit").stdout.splitlines()
    assert any("\tmo\tsilence_account\taccount peer@" in line for line in log)
    assert any("(operator)\tresolve_report" in line for line in log)
    shown = server.cli("account", "show", f"peer@{urlsplit(peer.actor).netloc}").stdout
    assert "state: active" in shown and "remote" in shown and "silence\tspam" in shown


def test_a_suspended_account_cannot_sign_in_or_post_through_the_cli_until_unsuspended(
    server: FedigenServer,
) -> None:
    server.cli("account", "create", "carol", "--password-stdin", stdin=PASSWORD + "\n")
    token = password_token(server.base_url, "carol", PASSWORD, MEMBER_SCOPES)
    assert server.cli("account", "suspend", "carol", "--text", "abuse").stdout.strip().endswith(": suspended")
    shown = server.cli("account", "show", "carol").stdout
    assert "suspended since" in shown and "suspend\tabuse" in shown
    with httpx.Client(base_url=server.base_url, timeout=15) as http:
        me = http.get("/api/v1/accounts/verify_credentials", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 403
        app = http.post(
            "/api/v1/apps", data={"client_name": "x", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"}
        )
        grant = {
            "grant_type": "password",
            "username": "carol",
            "password": PASSWORD,
            "client_id": app.json()["client_id"],
            "client_secret": app.json()["client_secret"],
        }
        assert http.post("/oauth/token", data=grant).json()["error"] == "invalid_grant"
    posted = server.cli("post", "--as", "carol", "hello", check=False)
    assert posted.returncode != 0 and posted.stderr.strip() == "fedigen: Your login is currently disabled"
    for args, message in (
        (("account", "suspend", "nobody"), "no local account"),
        (("account", "show", "ghost@nowhere.example"), "no known account"),
        (("report", "show", "999"), "Record not found"),
        (("account", "limit", "carol", "--report", "999"), "Record not found"),
    ):
        failed = server.cli(*args, check=False)
        assert (
            failed.returncode != 0
            and failed.stderr.strip().startswith("fedigen: ")
            and message in failed.stderr
        )
    server.cli("account", "unsuspend", "carol")
    assert "state: active" in server.cli("account", "show", "carol").stdout
    assert server.cli("post", "--as", "carol", "back again").returncode == 0
    with httpx.Client(base_url=server.base_url, timeout=15) as http:
        me = http.get("/api/v1/accounts/verify_credentials", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200
    log = server.cli("audit").stdout
    assert "(operator)\tsuspend_account\taccount carol\tabuse" in log and "unsuspend_account" in log
