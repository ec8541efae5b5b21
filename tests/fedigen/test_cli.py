"""The command line as scripts use it: no prompts without a terminal, one-line errors, non-zero exits."""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import websockets

from tests.support.server import FedigenServer

# `fedigen init` and `fedigen db migrate` run every migration here (elsewhere a new database is a copy).
pytestmark = pytest.mark.real_migrations


@pytest.fixture
def cli(tmp_path: Path) -> FedigenServer:
    server = FedigenServer(tmp_path)
    server.cli("init", "--url", server.base_url, "--admin", "admin")
    return server


def test_init_writes_config_and_database_and_admin(cli: FedigenServer) -> None:
    assert cli.config.exists()
    assert "allow_private_addresses = true" in cli.config.read_text()
    with sqlite3.connect(cli.directory / "data" / "fedigen.db") as db:
        rows = db.execute("SELECT username, domain FROM actors ORDER BY id").fetchall()
    assert ("admin", None) in rows
    # Running init again keeps the config and the account.
    again = cli.cli("init", "--url", cli.base_url, "--admin", "admin")
    assert "keeping it" in again.stdout and "already exists" in again.stdout


def test_account_create_list_and_errors(cli: FedigenServer) -> None:
    made = cli.cli("account", "create", "carol", "--locked", "--password-stdin", stdin="a long password\n")
    assert "created @carol@" in made.stdout
    listed = cli.cli("account", "list").stdout
    assert "@carol@" in listed and "locked" in listed and "admin" in listed
    # A process whose stdin is not a terminal: no prompt, a password is made.
    generated = cli.cli("account", "create", "dave", process=True)
    assert "password:" in generated.stdout
    dup = cli.cli("account", "create", "carol", "--password-stdin", stdin="another password\n", check=False)
    assert dup.returncode != 0 and "taken" in dup.stderr and len(dup.stderr.strip().splitlines()) == 1
    bad = cli.cli("account", "create", "_bad_", check=False)
    assert bad.returncode != 0 and "username" in bad.stderr
    short = cli.cli("account", "create", "erin", "--password-stdin", stdin="short\n", check=False)
    assert short.returncode != 0 and "password" in short.stderr


def test_post_and_follow_errors_are_one_line(cli: FedigenServer) -> None:
    out = cli.cli("post", "--as", "admin", "--visibility", "unlisted", "hello #world")
    status_id, url = out.stdout.split()
    assert url == f"{cli.base_url}/@admin/{status_id}"
    missing = cli.cli("post", "--as", "nobody", "hi", check=False)
    assert missing.returncode == 1 and "no local account" in missing.stderr
    bad_vis = cli.cli("post", "--as", "admin", "--visibility", "secret", "hi", check=False)
    assert bad_vis.returncode != 0
    handle = cli.cli("follow", "--as", "admin", "not a handle@", check=False)
    assert handle.returncode == 1 and handle.stderr.startswith("fedigen:")


def test_bad_config_is_refused_naming_the_key(cli: FedigenServer) -> None:
    cli.config.write_text(cli.config.read_text().replace("port = ", "port = -"))
    proc = cli.cli("account", "list", check=False)
    assert proc.returncode == 1 and "server.port" in proc.stderr


def test_db_migrate_is_idempotent(cli: FedigenServer) -> None:
    assert "up to date" in cli.cli("db", "migrate").stdout
    assert "up to date" in cli.cli("db", "migrate").stdout


def test_serve_migrates_first_unless_told_not_to(cli: FedigenServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """`fedigen serve` runs `fedigen db migrate` as a child process before serving; --no-migrate
    (the schema brought up to date once, for several processes) serves at once. What it starts is
    recorded here instead of run."""
    started: list[list[str]] = []

    def run(args: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        started.append(args[-2:])
        return subprocess.CompletedProcess(args, 0)

    monkeypatch.setattr(subprocess, "run", run)
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: started.append(["serve", options["port"]]))
    cli.cli("serve", "--port", "8123")
    assert started == [["db", "migrate"], ["serve", 8123]]
    started.clear()
    cli.cli("serve", "--port", "8123", "--no-migrate")
    assert started == [["serve", 8123]]


def test_domain_blocks(cli: FedigenServer) -> None:
    assert "blocked spam.example" in cli.cli("domain", "block", "spam.example", "--reason", "spam").stdout
    assert "spam.example\tspam" in cli.cli("domain", "list").stdout
    assert "unblocked" in cli.cli("domain", "unblock", "spam.example").stdout
    assert "no blocked domains" in cli.cli("domain", "list").stdout
    missing = cli.cli("domain", "unblock", "spam.example", check=False)
    assert missing.returncode == 1 and "not blocked" in missing.stderr
    bad = cli.cli("domain", "block", "not a domain", check=False)
    assert bad.returncode == 1 and "domain" in bad.stderr


def test_serve_answers_the_streaming_api_over_websocket(tmp_path: Path) -> None:
    """`fedigen serve` itself (not only the app) speaks WebSocket: a posted status reaches the stream.
    The server starts as a user starts it, running `fedigen db migrate` first."""
    server = FedigenServer(tmp_path, serve_migrates=True)
    server.cli("init", "--url", server.base_url, "--admin", "admin")
    raw = secrets.token_urlsafe(16)
    with server, sqlite3.connect(server.directory / "data" / "fedigen.db") as db:
        db.execute(
            "INSERT INTO oauth_apps (client_id, client_secret_hash, name, redirect_uris, scopes, created_at)"
            " VALUES ('c', 'x', 't', 'urn:ietf:wg:oauth:2.0:oob', 'read write', datetime('now'))"
        )
        app_id = db.execute("SELECT id FROM oauth_apps").fetchone()[0]
        account_id = db.execute("SELECT id FROM actors WHERE username = 'admin'").fetchone()[0]
        db.execute("INSERT INTO oauth_tokens (token_hash, app_id, account_id, scopes, created_at)"
                   " VALUES (?, ?, ?, 'read write', datetime('now'))",
                   (hashlib.sha256(raw.encode()).hexdigest(), app_id, account_id))  # fmt: skip
        db.commit()

        async def stream_one_post() -> str:
            url = (
                server.base_url.replace("http", "ws", 1) + f"/api/v1/streaming?access_token={raw}&stream=user"
            )
            async with websockets.connect(url) as ws, httpx.AsyncClient(base_url=server.base_url) as client:
                posted = await client.post(
                    "/api/v1/statuses", data={"status": "live"}, headers={"Authorization": f"Bearer {raw}"}
                )
                assert posted.status_code == 200, posted.text
                event = json.loads(await asyncio.wait_for(ws.recv(), 15))
                return str(json.loads(event["payload"])["content"])

        assert "live" in asyncio.run(stream_one_post())
