"""`fedigen domain`: block modes, the allow list, CSV import and export, as scripts use them; and a change
made at the command line refused by a running `fedigen serve` at once (two processes)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import httpx
import pytest

from tests.remote_actor import RemoteServer
from tests.support.server import FedigenServer, LoopbackServer, free_port

HEADER = "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate"


@pytest.fixture
def cli(tmp_path: Path) -> FedigenServer:
    server = FedigenServer(tmp_path)
    server.cli("init", "--url", server.base_url, "--admin", "admin")
    return server


def _blocks(server: FedigenServer) -> list[tuple[object, ...]]:
    with sqlite3.connect(server.directory / "data" / "fedigen.db") as db:
        return db.execute(
            "SELECT domain, severity, reject_media, reject_reports, reason, public_comment, obfuscate"
            " FROM domain_blocks ORDER BY domain"
        ).fetchall()


def test_block_modes_list_and_allow(cli: FedigenServer) -> None:
    out = cli.cli("domain", "block", "loud.example", "--severity", "silence", "--reject-media",
                  "--comment", "too loud").stdout  # fmt: skip
    assert "blocked loud.example (silence, reject media)" in out
    cli.cli("domain", "block", "spam.example")
    cli.cli("domain", "block", "127.0.0.1:8001", "--severity", "noop", "--reject-reports")
    assert _blocks(cli) == [
        ("127.0.0.1:8001", "noop", 0, 1, "", "", 0),
        ("loud.example", "silence", 1, 0, "too loud", "", 0),
        ("spam.example", "suspend", 0, 0, "", "", 0),
    ]
    listed = cli.cli("domain", "list").stdout
    assert "loud.example\ttoo loud\tsilence, reject media" in listed
    # Blocking again sets the severity and options given; a comment not given is kept.
    cli.cli("domain", "block", "loud.example", "--severity", "suspend")
    assert _blocks(cli)[1][:5] == ("loud.example", "suspend", 0, 0, "too loud")

    bad = cli.cli("domain", "block", "x.example", "--severity", "obliterate", check=False)
    assert bad.returncode != 0 and "severity" in bad.stderr
    assert "allowed friend.example" in cli.cli("domain", "allow", "friend.example").stdout
    assert (
        'mode = "allowlist"' in cli.cli("domain", "allow", "friend.example").stdout
    )  # a reminder, once more
    assert "friend.example\tallowed" in cli.cli("domain", "list").stdout
    assert "disallowed" in cli.cli("domain", "disallow", "friend.example").stdout
    missing = cli.cli("domain", "disallow", "friend.example", check=False)
    assert (
        missing.returncode == 1 and missing.stderr.startswith("fedigen:") and "not allowed" in missing.stderr
    )


def test_export_then_import_on_another_instance(cli: FedigenServer, tmp_path: Path) -> None:
    cli.cli("domain", "block", "spam.example", "--public-comment", "spam, lots", "--obfuscate")
    cli.cli("domain", "block", "loud.example", "--severity", "silence", "--reject-media")
    exported = cli.cli("domain", "export").stdout
    assert exported.splitlines() == [
        HEADER,
        "loud.example,silence,true,false,,false",
        'spam.example,suspend,false,false,"spam, lots",true',
    ]
    file = tmp_path / "blocks.csv"
    assert "exported 2 domain blocks" in cli.cli("domain", "export", str(file)).stdout

    other = FedigenServer(tmp_path / "other")
    (tmp_path / "other").mkdir()
    other.cli("init", "--url", other.base_url)
    dry = other.cli("domain", "import", str(file), "--dry-run").stdout
    assert "would add loud.example" in dry and "dry run, nothing stored: 2 added" in dry
    assert _blocks(other) == []
    assert "2 added, 0 updated, 0 unchanged" in other.cli("domain", "import", str(file)).stdout
    assert [b[:4] + b[5:] for b in _blocks(other)] == [b[:4] + b[5:] for b in _blocks(cli)]
    assert "0 added, 0 updated, 2 unchanged" in other.cli("domain", "import", str(file)).stdout


def test_malformed_import_names_the_line_and_stores_nothing(cli: FedigenServer, tmp_path: Path) -> None:
    file = tmp_path / "bad.csv"
    file.write_text(f"{HEADER}\nok.example,suspend,false,false,,false\nbad.example,nuke,false,false,,false\n")
    proc = cli.cli("domain", "import", str(file), check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()] and "line 3: severity" in proc.stderr
    assert _blocks(cli) == []
    missing = cli.cli("domain", "import", str(tmp_path / "nope.csv"), check=False)
    assert missing.returncode == 1 and "cannot read" in missing.stderr


def test_a_block_made_at_the_command_line_is_refused_by_a_running_server_at_once(tmp_path: Path) -> None:
    """Two processes: `fedigen serve` accepts a signed POST; the CLI blocks the sender's host:port; the
    very next POST is refused with 403, with no wait."""
    port = free_port()
    remote = RemoteServer(f"127.0.0.1:{port}")
    bob = remote.add_actor("bob")
    (tmp_path / "a").mkdir()
    with LoopbackServer(remote.app, port), FedigenServer(tmp_path / "a") as server:
        server.cli("account", "create", "alice", "--password-stdin", stdin="correct horse battery\n")
        alice = f"{server.base_url}/users/alice"

        async def send() -> httpx.Response:
            async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
                return await bob.post(client, "/users/alice/inbox", bob.create(bob.note(mention=alice)))

        assert asyncio.run(send()).status_code == 202
        server.cli("domain", "block", remote.host, "--severity", "suspend", process=True)
        refused = asyncio.run(send())
        assert refused.status_code == 403 and refused.json()["error"]
        server.cli("domain", "unblock", remote.host, process=True)
        assert asyncio.run(send()).status_code == 202
