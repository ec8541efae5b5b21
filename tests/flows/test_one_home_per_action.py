"""Every front door reaches the same use-cases: a post made through the client API, the CLI, the C2S
outbox or received from another server gets the same mention notification and the same bot trigger;
generated images posted through the generation API carry the same AI label and generation record as
a CLI post with a prompt; a remix is recorded in the lineage whichever server made it; a follow
notifies whether the follower is local or remote."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from fedigen.cli import main as cli_main
from fedigen.social import accounts, lookup, remixes
from storage.models import Actor, GenerationJob, Notification, Status
from tests.api.conftest import issue_token
from tests.conftest import Instance
from tests.remote_actor import RemoteActor

BASE = "http://fedigen.test"
TEXT = "@carol @imagine a red boat"
ORIGINS = ["api", "cli", "c2s", "federation"]


def config_file(instance: Instance, tmp_path: Path) -> Path:
    """A config file for the CLI pointing at the instance under test's database and media."""
    s = instance.settings
    path = tmp_path / "cli.toml"
    path.write_text(
        f'[instance]\nurl = "{s.base_url}"\nname = "Test"\n[database]\nurl = "{s.database_url}"\n'
        f'[media]\ndir = "{s.media_dir}"\n[federation]\nallow_private_addresses = true\n'
        '[generation]\nsize = "64x64"\n'
    )
    return path


async def run_cli(instance: Instance, tmp_path: Path, *args: str) -> str:
    """Run a ``fedigen`` command in this process (in a thread: it runs its own event loop)."""
    runner = CliRunner()
    result = await asyncio.to_thread(
        runner.invoke, cli_main, ["--config", str(config_file(instance, tmp_path)), *args]
    )
    assert result.exit_code == 0, result.output
    return result.output


async def post_from(origin: str, instance: Instance, tmp_path: Path, bob: RemoteActor) -> str:
    """Post TEXT through one front door; returns the author's actor id."""
    if origin == "api":
        token = await issue_token(instance, "alice")
        response = await instance.client.post(
            "/api/v1/statuses", json={"status": TEXT}, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200, response.text
    elif origin == "cli":
        await run_cli(instance, tmp_path, "post", "--as", "alice", TEXT)
    elif origin == "c2s":
        token = await issue_token(instance, "alice")
        note = {
            "type": "Note",
            "content": f"<p>{TEXT}</p>",
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
        }
        response = await instance.client.post(
            "/users/alice/outbox",
            content=json.dumps(note),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/activity+json"},
        )
        assert response.status_code == 201, response.text
    else:
        note = bob.note(f"<p>{TEXT}</p>", mention=f"{BASE}/users/carol")
        note["tag"].append(
            {"type": "Mention", "href": f"{BASE}/users/imagine", "name": "@imagine@fedigen.test"}
        )
        note["cc"].append(f"{BASE}/users/imagine")
        assert (await bob.post(instance.client, "/inbox", bob.create(note))).status_code == 202
        await instance.drain(rounds=1)
        return bob.ap_id
    return f"{BASE}/users/alice"


@pytest.mark.parametrize("origin", ORIGINS)
async def test_every_origin_notifies_the_mentioned_and_triggers_the_bot(
    instance: Instance, tmp_path: Path, bob: RemoteActor, origin: str
) -> None:
    for name in ("alice", "carol"):
        await instance.create_account(name)
    author_ap_id = await post_from(origin, instance, tmp_path, bob)
    async with instance.services.sessions() as session:
        carol = await accounts.get_local(session, "carol")
        author = await session.scalar(select(Actor).where(Actor.ap_id == author_ap_id))
        assert author is not None
        notes = list(await session.scalars(select(Notification).where(Notification.recipient_id == carol.id)))
        assert [(n.type, n.from_actor_id) for n in notes] == [("mention", author.id)]
        status = await session.get(Status, notes[0].status_id)
        assert status is not None and "a red boat" in status.content
        jobs = list(await session.scalars(select(GenerationJob).where(GenerationJob.purpose == "bot_reply")))
        assert [(j.requester_id, j.prompt) for j in jobs] == [(author.id, "a red boat")]


@pytest.mark.parametrize("origin", ["local", "federation"])
async def test_a_follow_notifies_whoever_follows(instance: Instance, bob: RemoteActor, origin: str) -> None:
    for name in ("alice", "carol"):
        await instance.create_account(name)
    if origin == "local":
        token = await issue_token(instance, "alice")
        async with instance.services.sessions() as session:
            carol_id = (await accounts.get_local(session, "carol")).id
        response = await instance.client.post(
            f"/api/v1/accounts/{carol_id}/follow", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200 and response.json()["following"] is True
        follower_ap_id = f"{BASE}/users/alice"
    else:
        follow = bob.activity("Follow", f"{BASE}/users/carol")
        assert (await bob.post(instance.client, "/users/carol/inbox", follow)).status_code == 202
        await instance.drain()
        follower_ap_id = bob.ap_id
    async with instance.services.sessions() as session:
        carol = await accounts.get_local(session, "carol")
        follower = await session.scalar(select(Actor).where(Actor.ap_id == follower_ap_id))
        notes = list(await session.scalars(select(Notification).where(Notification.recipient_id == carol.id)))
    assert follower is not None
    assert [(n.type, n.from_actor_id) for n in notes] == [("follow", follower.id)]


async def generated(instance: Instance, token: dict[str, str], **fields: Any) -> list[str]:
    """Images of "a red boat" made through the generation API (the worker runs the job): their ids."""
    job = await instance.client.post(
        "/api/v1/fedigen/generations", json={"prompt": "a red boat", "size": "64x64", **fields}, headers=token
    )
    await instance.drain()
    done = await instance.client.get(f"/api/v1/fedigen/generations/{job.json()['id']}", headers=token)
    return [m["id"] for m in done.json()["media_attachments"]]


def generation_of(note: dict[str, Any]) -> dict[str, Any]:
    """What a Note says of how its image was made, and how its image is labelled."""
    return {
        "generation": {k: v for k, v in note["generation"].items() if k not in ("seed",)},
        "labelled": [a.get("digitalSourceType") for a in note["attachment"]],
    }


async def note_of(instance: Instance, status_id: int) -> dict[str, Any]:
    async with instance.services.sessions() as session:
        status = await session.get(Status, status_id)
        assert status is not None
    response = await instance.client.get(status.ap_id, headers={"Accept": "application/activity+json"})
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def test_generated_images_are_labelled_whichever_way_they_are_posted(
    instance: Instance, tmp_path: Path
) -> None:
    await instance.create_account("alice")
    token = {"Authorization": f"Bearer {await issue_token(instance, 'alice')}"}
    # 1. The generation API, then an ordinary POST /api/v1/statuses with the images.
    media_ids = await generated(instance, token, seed=7)
    posted = await instance.client.post(
        "/api/v1/statuses", json={"status": "made in an app", "media_ids": media_ids}, headers=token
    )
    assert posted.status_code == 200, posted.text
    from_api = await note_of(instance, int(posted.json()["id"]))
    # 2. The CLI, with a prompt.
    line = await run_cli(
        instance,
        tmp_path,
        "post",
        "--as",
        "alice",
        "--prompt",
        "a red boat",
        "--size",
        "64x64",
        "--seed",
        "7",
        "made in a terminal",
    )
    from_cli = await note_of(instance, int(line.strip().splitlines()[-1].split("\t")[0]))
    assert generation_of(from_api) == generation_of(from_cli)
    assert from_api["generation"]["prompt"] == "a red boat"
    assert from_api["attachment"][0]["digitalSourceType"].endswith("trainedAlgorithmicMedia")
    page = (await instance.client.get(posted.json()["url"].removeprefix(BASE))).text
    assert "a red boat" in page


async def test_remixes_are_recorded_in_the_lineage_from_the_api_and_from_afar(
    instance: Instance, bob: RemoteActor
) -> None:
    await instance.create_account("alice")
    token = {"Authorization": f"Bearer {await issue_token(instance, 'alice')}"}
    media_ids = await generated(instance, token)
    original = (
        await instance.client.post(
            "/api/v1/statuses",
            json={"status": "boat", "media_ids": [media_ids[0]]},
            headers=token,
        )
    ).json()
    remix = await instance.client.post(
        f"/api/v1/fedigen/statuses/{original['id']}/remix",
        json={"prompt": "at night", "status": "mine"},
        headers=token,
    )
    assert remix.status_code == 202, remix.text
    await instance.drain()
    parent_ap_id = f"{BASE}/users/alice/statuses/{original['id']}"
    theirs = bob.note("<p>my remix</p>", quote=parent_ap_id, generation={"prompt": "in the rain"})
    assert (await bob.post(instance.client, "/inbox", bob.create(theirs))).status_code == 202
    await instance.drain()
    parent = await lookup.find_status(instance.services, parent_ap_id)
    async with instance.services.sessions() as session:
        _, children = await remixes.lineage(session, parent)
        ours = await session.scalar(
            select(Status.ap_id).where(
                Status.id != parent.id, Status.local.is_(True), Status.reblog_of_id.is_(None)
            )
        )
    assert children == [ours, theirs["id"]]
