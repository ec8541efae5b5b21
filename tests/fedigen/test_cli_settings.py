"""The account settings of this work on the command line: a default posting language and ``indexable``
when an account is made or later (``account set``), and a language per post and per edit."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.support.server import FedigenServer


@pytest.fixture
def cli(tmp_path: Path) -> FedigenServer:
    server = FedigenServer(tmp_path)
    server.cli("init", "--url", server.base_url)
    return server


def rows(cli: FedigenServer, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(cli.directory / "data" / "fedigen.db") as db:
        return db.execute(query).fetchall()


def test_languages_and_indexable_from_the_command_line(cli: FedigenServer) -> None:
    cli.cli("account", "create", "dora", "--language", "DE", "--password-stdin", stdin="a long password\n")
    cli.cli("account", "create", "erik", "--indexable", "--password-stdin", stdin="a long password\n")
    accounts = rows(
        cli, "SELECT username, default_language, indexable FROM actors WHERE username IN ('dora', 'erik')"
    )
    assert sorted(accounts) == [("dora", "de", 0), ("erik", None, 1)]

    first = cli.cli("post", "--as", "dora", "in German by default").stdout.split()[0]
    second = cli.cli("post", "--as", "dora", "--language", "fr", "en français").stdout.split()[0]
    third = cli.cli("post", "--as", "erik", "in the instance's language").stdout.split()[0]
    cli.cli("edit", "--as", "dora", first, "auf Englisch jetzt", "--language", "en")
    languages = dict(rows(cli, "SELECT id, language FROM statuses"))
    assert {str(k): v for k, v in languages.items()} == {first: "en", second: "fr", third: "en"}

    bad = cli.cli("post", "--as", "dora", "--language", "klingon", "x", check=False)
    assert bad.returncode == 1 and "language" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    assert len(rows(cli, "SELECT id FROM statuses")) == 3
    bad_account = cli.cli("account", "create", "finn", "--language", "xx", check=False)
    assert bad_account.returncode == 1 and rows(cli, "SELECT id FROM actors WHERE username = 'finn'") == []

    changed = cli.cli("account", "set", "dora", "--indexable", "--language", "it").stdout
    assert "indexable" in changed and "it" in changed
    cleared = cli.cli("account", "set", "dora", "--not-indexable", "--language", "").stdout
    assert "not indexable" in cleared
    assert rows(cli, "SELECT default_language, indexable FROM actors WHERE username = 'dora'") == [(None, 0)]
