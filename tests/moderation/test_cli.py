"""The moderation CLI as the operator uses it (no server running): account actions and their history,
deleting chosen posts and an account's data, the report queue's errors, and the audit log; bad input is
one `fedigen: ...` line and a non-zero exit, with nothing stored."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.support.server import FedigenServer

PASSWORD = "a long password\n"


def _rows(cli: FedigenServer, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(cli.directory / "data" / "fedigen.db") as conn:
        return list(conn.execute(sql).fetchall())


def test_account_actions_from_the_cli_are_applied_recorded_and_reversible(tmp_path: Path) -> None:
    cli = FedigenServer(tmp_path)
    cli.cli("init", "--url", cli.base_url, "--admin", "boss")
    cli.cli("account", "create", "tom", "--password-stdin", stdin=PASSWORD)
    first = cli.cli("post", "--as", "tom", "first").stdout.split()[0]
    second = cli.cli("post", "--as", "tom", "second").stdout.split()[0]

    assert cli.cli("account", "limit", "tom", "--text", "noisy").stdout.strip().endswith(": limited")
    assert cli.cli("account", "sensitive", "tom").stdout.strip().endswith(": media marked sensitive")
    assert "content warning 'moderated'" in cli.cli("account", "force-cw", "tom", "moderated").stdout
    deleted = cli.cli("account", "delete-posts", "tom", first, "--text", "off-topic").stdout
    assert f"deleted 1 posts ({first})" in deleted
    shown = cli.cli("account", "show", "tom").stdout
    assert (
        "limited since" in shown
        and "sensitive since" in shown
        and "forced content warning: moderated" in shown
    )
    assert "\tsilence\tnoisy" in shown and "\tdelete_statuses\toff-topic" in shown
    (flags,) = _rows(cli, "SELECT silenced_at IS NOT NULL, sensitized_at IS NOT NULL, forced_cw FROM actors "
                          "WHERE username = 'tom'")  # fmt: skip
    assert flags == (1, 1, "moderated")
    assert _rows(cli, f"SELECT deleted_at IS NOT NULL FROM statuses WHERE id = {first}") == [(1,)]
    assert _rows(cli, f"SELECT deleted_at IS NULL FROM statuses WHERE id = {second}") == [(1,)]

    cli.cli("account", "unlimit", "tom")
    cli.cli("account", "unsensitive", "tom")
    assert "no forced warning" in cli.cli("account", "force-cw", "tom").stdout
    assert "state: active" in cli.cli("account", "show", "tom").stdout

    # Bad input: one line, non-zero, nothing stored.
    before = _rows(cli, "SELECT count(*) FROM audit_log")
    for args, message in ((("account", "suspend", "nobody"), "no local account named 'nobody'"),
                          (("account", "delete-posts", "tom", "99999"), "Record not found"),
                          (("account", "delete-posts", "boss", second), "Record not found"),
                          (("report", "resolve", "5"), "Record not found"),
                          (("report", "note", "5", "x"), "Record not found"),
                          (("account", "disable", "ghost@nowhere.example"), "no known account")):  # fmt: skip
        failed = cli.cli(*args, check=False)
        assert failed.returncode != 0, args
        assert failed.stderr.strip().splitlines()[-1].startswith("fedigen: ") and message in failed.stderr, (
            args
        )
    assert _rows(cli, "SELECT count(*) FROM audit_log") == before
    assert cli.cli("report", "list").stdout.strip() == "no open reports"

    # Deleting an account: suspended and its data gone; it cannot be unsuspended after that.
    assert "suspended and its data deleted" in cli.cli("account", "delete-data", "tom", "--yes").stdout
    assert _rows(
        cli, "SELECT count(*) FROM statuses s JOIN actors a ON a.id = s.actor_id WHERE a.username = 'tom'"
    ) == [(0,)]
    refused = cli.cli("account", "unsuspend", "tom", check=False)
    assert refused.returncode != 0 and "cannot be unsuspended" in refused.stderr
    log = cli.cli("audit").stdout.splitlines()
    actions = [line.split("\t")[2] for line in log]
    assert actions == [
        "destroy_account_data", "suspend_account", "unforce_cw_account", "unsensitive_account",
        "unsilence_account", "delete_statuses_account", "force_cw_account", "sensitive_account",
        "silence_account",
    ]  # fmt: skip
    assert all(line.split("\t")[1] == "(operator)" for line in log)
