"""The image commands as people and scripts use them: post --prompt, generate, remix, jobs, lineage."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from storage.image_provenance import read_provenance
from tests.support.server import FedigenServer


@pytest.fixture
def cli(tmp_path: Path) -> FedigenServer:
    server = FedigenServer(tmp_path)
    server.cli("init", "--url", server.base_url, "--admin", "admin")
    with server.config.open("a", encoding="utf-8") as config:
        config.write('\n[generation]\nsize = "256x256"\nblocked_terms = ["forbidden"]\n')
    return server


def test_post_with_a_prompt_generates_and_posts(cli: FedigenServer) -> None:
    out = cli.cli("post", "--as", "admin", "--prompt", "a lighthouse in fog", "--images", "2",
                  "--alt", "first picture", "a caption")  # fmt: skip
    status_id, url = out.stdout.strip().splitlines()[-1].split()
    assert url == f"{cli.base_url}/@admin/{status_id}"
    with sqlite3.connect(cli.directory / "data" / "fedigen.db") as db:
        rows = db.execute(
            "SELECT description, width, height, ai_generated FROM media_attachments WHERE status_id = ?"
            " ORDER BY position", (int(status_id),),
        ).fetchall()  # fmt: skip
        state = db.execute("SELECT state, progress FROM generation_jobs").fetchall()
    assert rows == [("first picture", 256, 256, 1), ("a lighthouse in fog", 256, 256, 1)]
    assert state == [("done", 100)]
    jobs = cli.cli("jobs", "list").stdout
    assert "done" in jobs and "a lighthouse in fog" in jobs


def test_generate_writes_labelled_files(cli: FedigenServer, tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    out = cli.cli(
        "generate", "--seed", "7", "--size", "128x96", "--images", "2", "-o", str(target), "a red kite"
    )
    assert "seed 7" in out.stdout and "seed 8" in out.stdout
    for path in (target, tmp_path / "out-2.png"):
        data = path.read_bytes()
        assert Image.open(path).size == (128, 96)
        assert read_provenance(data) is not None
    again = tmp_path / "again.png"
    cli.cli("generate", "--seed", "7", "--size", "128x96", "-o", str(again), "a red kite")
    assert again.read_bytes() == target.read_bytes()  # same prompt, seed and size: the same image


def test_remix_and_lineage(cli: FedigenServer) -> None:
    first = cli.cli("post", "--as", "admin", "--prompt", "a lighthouse in fog", "original")
    parent_id, parent_url = first.stdout.strip().splitlines()[-1].split()
    second = cli.cli("remix", "--as", "admin", parent_url, "at sunset", "a remix")
    child_id, _ = second.stdout.strip().splitlines()[-1].split()
    lines = cli.cli("lineage", child_id).stdout.strip().splitlines()
    assert lines[0] == f"parent\t{cli.base_url}/users/admin/statuses/{parent_id}"
    assert lines[1] == f"this\t{cli.base_url}/users/admin/statuses/{child_id}"
    children = cli.cli("lineage", parent_id).stdout
    assert f"child\t{cli.base_url}/users/admin/statuses/{child_id}" in children


def test_image_command_errors_are_one_line(cli: FedigenServer) -> None:
    for args, words in [
        (["post", "--as", "admin", "--prompt", "something forbidden"], "not allowed"),
        (["post", "--as", "admin", "--prompt", "x", "--size", "huge"], "size"),
        (["generate", "--backend", "nonesuch", "a cat"], "nonesuch"),
        (["remix", "--as", "admin", "999", "more"], "no post"),
        (["jobs", "cancel", "999"], "no job"),
        (["post", "--as", "admin", "--prompt", "x", "--images", "9"], "9"),
    ]:
        proc = cli.cli(*args, check=False)
        assert proc.returncode != 0, args
        assert words in proc.stderr, (args, proc.stderr)
    with sqlite3.connect(cli.directory / "data" / "fedigen.db") as db:
        assert db.execute("SELECT count(*) FROM generation_jobs").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM statuses").fetchone() == (0,)
