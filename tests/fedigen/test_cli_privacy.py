"""The privacy commands (docs/privacy.md): ``account set`` with the AI-training and remix flags,
``account export``, ``account import``, ``account delete``, and their refusals."""

from __future__ import annotations

import csv
import io
import sqlite3
import zipfile
from pathlib import Path

import pytest

from tests.support.server import FedigenServer


@pytest.fixture
def cli(tmp_path: Path) -> FedigenServer:
    server = FedigenServer(tmp_path)
    server.cli("init", "--url", server.base_url)
    for name in ("dora", "erik"):
        server.cli("account", "create", name, "--password-stdin", stdin="a long password\n")
    return server


def rows(cli: FedigenServer, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(cli.directory / "data" / "fedigen.db") as db:
        return db.execute(query).fetchall()


def test_privacy_flags_export_import_and_delete(cli: FedigenServer, tmp_path: Path) -> None:
    assert rows(cli, "SELECT ai_training_opt_out, allow_remixes FROM actors WHERE username = 'dora'") == [
        (1, 1)
    ]
    changed = cli.cli("account", "set", "dora", "--no-ai-opt-out", "--no-allow-remixes").stdout
    assert "not opted out of AI training" in changed and "remixes refused" in changed
    assert rows(cli, "SELECT ai_training_opt_out, allow_remixes FROM actors WHERE username = 'dora'") == [
        (0, 0)
    ]

    cli.cli("follow", "--as", "dora", "erik")
    cli.cli("post", "--as", "dora", "a post to keep")
    out = tmp_path / "dora.zip"
    assert "wrote" in cli.cli("account", "export", "dora", "-o", str(out)).stdout
    with zipfile.ZipFile(out) as archive:
        following = list(csv.reader(io.StringIO(archive.read("following_accounts.csv").decode())))
        assert following[0] == ["Account address", "Show boosts", "Notify on new posts", "Languages"]
        assert following[1][0] == f"erik@{cli.base_url.split('//')[1]}"
        (tmp_path / "following.csv").write_bytes(archive.read("following_accounts.csv"))

    # erik imports dora's follows: erik cannot follow himself (reported, not fatal); nothing else fails.
    imported = cli.cli("account", "import", "erik", "following", str(tmp_path / "following.csv"))
    assert "imported 0 following rows" in imported.stdout and "yourself" in imported.stderr
    bad = cli.cli("account", "import", "erik", "lists", str(tmp_path / "following.csv"), check=False)
    assert bad.returncode == 1 and bad.stderr.startswith("fedigen: ")

    # Lists and domain blocks from the command line: dora lists erik (whom she follows); a bad row is
    # reported and the others land; --overwrite replaces.
    host = cli.base_url.split("//")[1]
    (tmp_path / "lists.csv").write_text(f"Pals,erik@{host}\nPals,nobody@{host}\n")
    imported = cli.cli("account", "import", "dora", "lists", str(tmp_path / "lists.csv"))
    assert "imported 1 lists rows" in imported.stdout and "nobody" in imported.stderr
    assert rows(cli, "SELECT l.title, a.username FROM lists l JOIN list_accounts m ON m.list_id = l.id "
                     "JOIN actors a ON a.id = m.account_id") == [("Pals", "erik")]  # fmt: skip
    (tmp_path / "domains.csv").write_text("spam.example\nbad domain!\nother.example\n")
    imported = cli.cli("account", "import", "dora", "domain_blocking", str(tmp_path / "domains.csv"))
    assert "imported 2 domain_blocking rows" in imported.stdout and "bad domain!" in imported.stderr
    (tmp_path / "domains.csv").write_text("other.example\n")
    cli.cli("account", "import", "dora", "domain_blocking", str(tmp_path / "domains.csv"), "--overwrite")
    assert rows(cli, "SELECT domain FROM account_domain_blocks") == [("other.example",)]
    out = tmp_path / "dora2.zip"
    cli.cli("account", "export", "dora", "-o", str(out))
    with zipfile.ZipFile(out) as archive:
        assert archive.read("lists.csv") == f"Pals,erik@{host}\n".encode()
        assert archive.read("blocked_domains.csv") == b"other.example\n"

    refused = cli.cli("account", "delete", "dora", check=False)
    assert refused.returncode == 1 and "--yes" in refused.stderr
    assert rows(cli, "SELECT deleted_at IS NULL FROM actors WHERE username = 'dora'") == [(1,)]
    deleted = cli.cli("account", "delete", "dora", "--yes")
    assert "deleted @dora" in deleted.stdout
    assert rows(cli, "SELECT deleted_at IS NOT NULL, display_name FROM actors WHERE username = 'dora'") == [
        (1, "")
    ]
    assert rows(cli, "SELECT count(*) FROM statuses") == [(0,)]
    assert rows(
        cli, "SELECT count(*) FROM users WHERE actor_id = (SELECT id FROM actors WHERE username = 'dora')"
    ) == [(0,)]
    again = cli.cli("account", "delete", "dora", "--yes", check=False)
    assert again.returncode == 1 and again.stderr.startswith("fedigen: ")
    taken = cli.cli("account", "create", "dora", "--password-stdin", stdin="a long password\n", check=False)
    assert taken.returncode == 1 and "taken" in taken.stderr
