"""Against a real `fedigen serve` (its worker, its one pooled client reaching the classifier stand-in on
loopback): prompt rules edited with the CLI apply to the running server without a restart; images are
marked sensitive or refused; moderators read the refusals from the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.generation.standins import png
from tests.moderation.classifier_standin import ClassifierStandIn
from tests.support.server import FedigenServer

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def classifier() -> Iterator[ClassifierStandIn]:
    with ClassifierStandIn() as server:
        yield server


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, classifier: ClassifierStandIn
) -> Iterator[FedigenServer]:
    config = f"""
[generation]
size = "64x64"
blocked_terms = ["forbidden"]

[moderation]
classifier_url = "{classifier.url}"
check_prompts = false
sensitive_if = ["sexual>0.5"]
refuse_if = ["violence/graphic>0.5"]
"""
    with FedigenServer(tmp_path_factory.mktemp("fedigen"), extra_config=config) as running:
        running.cli("account", "create", "alice", "--password-stdin", stdin=PASSWORD + "\n")
        yield running


@pytest.fixture(scope="module")
def alice(server: FedigenServer) -> dict[str, str]:
    app = httpx.post(f"{server.base_url}/api/v1/apps", data={
        "client_name": "test", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read write",
    }).json()  # fmt: skip
    token = httpx.post(f"{server.base_url}/oauth/token", data={
        "grant_type": "password", "client_id": app["client_id"], "client_secret": app["client_secret"],
        "username": "alice", "password": PASSWORD, "scope": "read write",
    })  # fmt: skip
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def generate(server: FedigenServer, alice: dict[str, str], prompt: str) -> httpx.Response:
    return httpx.post(f"{server.base_url}/api/v1/fedigen/generations", json={"prompt": prompt}, headers=alice)


def test_rules_edited_with_the_cli_apply_to_the_running_server(
    server: FedigenServer, alice: dict[str, str]
) -> None:
    assert generate(server, alice, "a dragon in the clouds").status_code == 202
    assert generate(server, alice, "something forbidden").status_code == 422

    added = server.cli("rules", "add", "dragon", process=True)  # another process than the server's
    assert added.stdout.startswith("added term ")
    server.wait_until(lambda: generate(server, alice, "a Dragon in the clouds").status_code == 422,
                      timeout=10, what="the new rule in force")  # fmt: skip
    listed = server.cli("rules", "list").stdout.splitlines()
    assert [line.split("\t")[1:] for line in listed] == [
        ["term", "config", "forbidden"],
        ["term", "admin", "dragon"],
    ]

    server.cli("rules", "remove", "forbidden")
    server.wait_until(lambda: generate(server, alice, "something forbidden").status_code == 202,
                      timeout=10, what="the removed rule gone")  # fmt: skip
    server.cli("rules", "add", "--pattern", r"^\s*draw me")

    for args, words in [
        (["rules", "add", "--pattern", "(unclosed"], "regular expression"),
        (["rules", "add", "  "], "blank"),
        (["rules", "add", "DRAGON"], "already"),
        (["rules", "remove", "nonesuch"], "no prompt rule"),
        (["rules", "remove"], "name the rule"),
        (["refusals", "--since", "last tuesday"], "--since"),
    ]:
        proc = server.cli(*args, check=False)
        assert proc.returncode != 0, args
        assert proc.stderr.startswith("fedigen: ") and words in proc.stderr, (args, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr

    lines = server.cli("refusals", "--kind", "prompt", "--since", "1h").stdout.splitlines()
    fields = [line.split("\t") for line in lines]
    # (The waits above asked again while the old rules were in force: each refusal is one line.)
    assert {(f[2], f[3], f[4], f[6]) for f in fields} == {
        ("prompt", "generation", "@alice", "a Dragon in the clouds"),
        ("prompt", "generation", "@alice", "something forbidden"),
    }
    assert [int(f[0]) for f in fields] == sorted((int(f[0]) for f in fields), reverse=True)  # newest first
    assert all("not allowed" in f[5] for f in fields)
    assert server.cli("refusals", "--since", "2999-01-01").stdout.strip() == "no refusals"


def _upload(server: FedigenServer, alice: dict[str, str], colour: tuple[int, int, int]) -> httpx.Response:
    upload = {"file": ("x.png", png(96, 64, colour), "image/png")}
    return httpx.post(f"{server.base_url}/api/v1/media", files=upload, headers=alice, timeout=30)


def test_images_are_checked_by_the_running_server(
    server: FedigenServer, alice: dict[str, str], classifier: ClassifierStandIn
) -> None:
    red = _upload(server, alice, (220, 30, 30))
    assert red.status_code == 200, red.text
    body = {"status": "red", "media_ids": [red.json()["id"]]}
    status = httpx.post(f"{server.base_url}/api/v1/statuses", json=body, headers=alice).json()
    assert status["sensitive"] is True
    blue = _upload(server, alice, (20, 40, 200))
    assert blue.status_code == 422 and "not allowed" in blue.json()["error"]

    job = generate(server, alice, "blue sky").json()  # painted blue: refused by the rules

    def finished() -> Any:
        shown = httpx.get(f"{server.base_url}/api/v1/fedigen/generations/{job['id']}", headers=alice).json()
        return shown if shown["state"] in ("done", "failed") else None

    server.wait_until(finished, timeout=30, what="the job to finish")
    shown = finished()
    assert shown["state"] == "failed" and shown["media_attachments"] == []
    images = server.cli("refusals", "--kind", "image").stdout.splitlines()
    assert [line.split("\t")[3:5] for line in images] == [["generation", "@alice"], ["upload", "@alice"]]
    assert len(classifier.images) >= 3
