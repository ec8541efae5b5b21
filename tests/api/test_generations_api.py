"""Generation from apps: a job queued by the API, driven to done by the worker, its images posted by
media_ids; cancelling; remixing a post; refused prompts, bad parameters and someone else's job."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from storage.models import GenerationJob, Status
from tests.api.conftest import bearer, issue_token
from tests.conftest import HostRouter, Instance, make_settings, start_instance

JOB_KEYS = {"id", "state", "progress", "prompt", "negative_prompt", "count", "size", "seed", "backend",
            "created_at", "media_attachments"}  # fmt: skip


@pytest.fixture
async def gen(tmp_path: Path, backend: str, router: HostRouter) -> AsyncIterator[Instance]:
    settings = make_settings(
        tmp_path, backend, generation={"size": "64x64", "blocked_terms": ["forbidden"], "max_images": 2}
    )
    async with start_instance(settings, router) as inst:
        await inst.create_account("alice")
        await inst.create_account("bob")
        yield inst


async def jobs(instance: Instance) -> int:
    async with instance.services.sessions() as session:
        return int(await session.scalar(select(func.count(GenerationJob.id))) or 0)


async def test_generate_then_post_the_images(gen: Instance) -> None:
    alice = bearer(await issue_token(gen, "alice"))
    asked = await gen.client.post(
        "/api/v1/fedigen/generations",
        json={"prompt": "a lighthouse in fog", "count": 2, "seed": 7},
        headers=alice,
    )
    assert asked.status_code == 202, asked.text
    job = asked.json()
    assert JOB_KEYS <= set(job)
    assert job["state"] == "queued" and job["media_attachments"] == [] and job["size"] == "64x64"
    assert job["seed"] == 7
    await gen.drain()
    done = (await gen.client.get(f"/api/v1/fedigen/generations/{job['id']}", headers=alice)).json()
    assert done["state"] == "done" and done["progress"] == 100
    media = done["media_attachments"]
    assert len(media) == 2 and all(m["url"] and m["description"] == "a lighthouse in fog" for m in media)
    posted = await gen.client.post(
        "/api/v1/statuses", json={"status": "made here", "media_ids": [m["id"] for m in media]}, headers=alice
    )
    assert posted.status_code == 200, posted.text
    assert [m["id"] for m in posted.json()["media_attachments"]] == [m["id"] for m in media]
    # Someone else's job is not there for them.
    bob = bearer(await issue_token(gen, "bob"))
    assert (await gen.client.get(f"/api/v1/fedigen/generations/{job['id']}", headers=bob)).status_code == 404
    assert (
        await gen.client.delete(f"/api/v1/fedigen/generations/{job['id']}", headers=bob)
    ).status_code == 404


async def test_cancel_a_queued_job(gen: Instance) -> None:
    alice = bearer(await issue_token(gen, "alice"))
    job = (
        await gen.client.post("/api/v1/fedigen/generations", data={"prompt": "stars"}, headers=alice)
    ).json()
    cancelled = await gen.client.delete(f"/api/v1/fedigen/generations/{job['id']}", headers=alice)
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    await gen.drain()
    again = (await gen.client.get(f"/api/v1/fedigen/generations/{job['id']}", headers=alice)).json()
    assert again["state"] == "cancelled" and again["media_attachments"] == []


async def test_idempotency_key_queues_one_job(gen: Instance) -> None:
    headers = {**bearer(await issue_token(gen, "alice")), "Idempotency-Key": "gen-1"}
    first = await gen.client.post("/api/v1/fedigen/generations", data={"prompt": "moon"}, headers=headers)
    second = await gen.client.post("/api/v1/fedigen/generations", data={"prompt": "moon"}, headers=headers)
    assert first.json()["id"] == second.json()["id"] and await jobs(gen) == 1


@pytest.mark.parametrize(
    ("fields", "status", "word"),
    [
        ({}, 422, "prompt"),
        ({"prompt": "a forbidden thing"}, 422, "not allowed"),
        ({"prompt": "ok", "count": 3}, 422, "count"),
        ({"prompt": "ok", "count": "many"}, 422, "count"),
        ({"prompt": "ok", "size": "huge"}, 422, "size"),
        ({"prompt": "ok", "backend": "nope"}, 422, "backend"),
        ({"prompt": "ok", "seed": -1}, 422, "seed"),
    ],
)
async def test_bad_requests_queue_nothing(
    gen: Instance, fields: dict[str, Any], status: int, word: str
) -> None:
    alice = bearer(await issue_token(gen, "alice"))
    response = await gen.client.post("/api/v1/fedigen/generations", json=fields, headers=alice)
    assert response.status_code == status, response.text
    assert word in response.json()["error"]
    assert await jobs(gen) == 0


async def test_scopes(gen: Instance) -> None:
    read_only = bearer(await issue_token(gen, "alice", "read"))
    granular = bearer(await issue_token(gen, "alice", "write:media"))
    url = "/api/v1/fedigen/generations"
    assert (await gen.client.post(url, data={"prompt": "x"})).status_code == 401
    assert (await gen.client.post(url, data={"prompt": "x"}, headers=read_only)).status_code == 403
    assert (await gen.client.post(url, data={"prompt": "x"}, headers=granular)).status_code == 202


async def test_remix_a_post_through_the_api(gen: Instance) -> None:
    alice, bob = bearer(await issue_token(gen, "alice")), bearer(await issue_token(gen, "bob"))
    job = (
        await gen.client.post("/api/v1/fedigen/generations", data={"prompt": "a red fox"}, headers=alice)
    ).json()
    await gen.drain()
    media = (await gen.client.get(f"/api/v1/fedigen/generations/{job['id']}", headers=alice)).json()
    original = await gen.client.post(
        "/api/v1/statuses",
        json={"status": "fox", "media_ids": [media["media_attachments"][0]["id"]]},
        headers=alice,
    )
    parent_id = original.json()["id"]
    remix = await gen.client.post(
        f"/api/v1/fedigen/statuses/{parent_id}/remix",
        json={"prompt": "in snow", "status": "my remix", "visibility": "unlisted"},
        headers=bob,
    )
    assert remix.status_code == 202, remix.text
    assert remix.json()["remix_of_id"] == parent_id
    await gen.drain()
    finished = (await gen.client.get(f"/api/v1/fedigen/generations/{remix.json()['id']}", headers=bob)).json()
    assert finished["state"] == "done" and finished["status_id"]
    posted = (await gen.client.get(f"/api/v1/statuses/{finished['status_id']}")).json()
    assert posted["account"]["username"] == "bob" and posted["visibility"] == "unlisted"
    assert "my remix" in posted["content"] and len(posted["media_attachments"]) == 1
    # Not a post of text only, a bad visibility, nor a post that is not there.
    text_only = await gen.client.post("/api/v1/statuses", json={"status": "words"}, headers=alice)
    no_image = await gen.client.post(f"/api/v1/fedigen/statuses/{text_only.json()['id']}/remix", headers=bob)
    assert no_image.status_code == 422
    bad = await gen.client.post(
        f"/api/v1/fedigen/statuses/{parent_id}/remix", json={"visibility": "everyone"}, headers=bob
    )
    assert bad.status_code == 422 and "visibility" in bad.json()["error"]
    assert (await gen.client.post("/api/v1/fedigen/statuses/999999/remix", headers=bob)).status_code == 404
    async with gen.services.sessions() as session:
        assert await session.scalar(select(func.count(Status.id))) == 3
