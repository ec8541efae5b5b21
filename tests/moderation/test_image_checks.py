"""Generated and uploaded images checked by the classifier stand-in (on loopback, reached through the real
address guard): marked sensitive or refused by the instance's rules, and what ``on_error`` does when the
classifier is down, slow or not allowed."""

from __future__ import annotations

import asyncio
import socket
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from fedigen.social import generations
from fedigen.social.accounts import get_local
from fedigen.social.media import resume_uploads, wait_processing
from generation.jobs import JobSpec
from storage.models import Actor, GenerationJob, MediaAttachment, Refusal, Status, utcnow
from tests.api.conftest import bearer, issue_token
from tests.conftest import Instance
from tests.generation.standins import png
from tests.moderation.classifier_standin import ClassifierStandIn
from tests.moderation.conftest import API_KEY, Moderated
from tests.remote_actor import RemoteActor, RemoteServer

BASE = "http://fedigen.test"

RED, BLUE, GREY = (220, 30, 30), (20, 40, 200), (128, 128, 128)
RULES = {"sensitive_if": ["sexual>0.5", "violence>0.7"], "refuse_if": ["violence/graphic>0.5"]}


async def upload(inst: Instance, token: str, colour: tuple[int, int, int], version: str = "v1") -> Any:
    return await inst.client.post(
        f"/api/{version}/media", files={"file": ("x.png", png(300, 200, colour), "image/png")},
        headers=bearer(token),
    )  # fmt: skip


async def post_with(inst: Instance, token: str, media_id: str) -> dict[str, Any]:
    response = await inst.client.post(
        "/api/v1/statuses", json={"status": "look", "media_ids": [media_id]}, headers=bearer(token)
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def count(inst: Instance, model: Any) -> int:
    async with inst.services.reads() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def refusals(inst: Instance) -> list[Refusal]:
    if inst.services.pending:  # refusals written after a refused request's transaction
        await asyncio.wait(list(inst.services.pending))
    async with inst.services.reads() as session:
        return list(await session.scalars(select(Refusal).order_by(Refusal.id)))


async def test_uploads_are_marked_sensitive_or_refused_by_the_rules(
    moderated: Moderated, classifier: ClassifierStandIn
) -> None:
    async with moderated(**RULES) as inst:
        alice = await inst.create_account("alice")
        token = await issue_token(inst, "alice")

        red = await upload(inst, token, RED)
        assert red.status_code == 200, red.text
        assert "moderation" not in red.json()["meta"]  # the verdict is for moderators
        assert (await post_with(inst, token, red.json()["id"]))["sensitive"] is True

        grey = await upload(inst, token, GREY)
        assert (await post_with(inst, token, grey.json()["id"]))["sensitive"] is False

        blue = await upload(inst, token, BLUE)
        assert blue.status_code == 422 and "not allowed" in blue.json()["error"]
        assert await count(inst, MediaAttachment) == 2  # nothing stored for the refused one

        # The request OpenAI's API takes: the model, the key, one small PNG without metadata as a data URL.
        body = classifier.requests[0]["json"]
        assert body["model"] == "omni-test"
        assert body["input"][0]["type"] == "image_url"
        assert body["input"][0]["image_url"]["url"].startswith("data:image/png;base64,")
        assert classifier.requests[0]["headers"]["authorization"] == f"Bearer {API_KEY}"
        assert classifier.images == [("image/png", (300, 200))] * 3

        [refused] = await refusals(inst)
        assert (refused.kind, refused.origin, refused.account_id) == ("image", "upload", alice.id)
        assert refused.details["matched"] == ["violence/graphic>0.5"]
        assert refused.details["scores"]["violence/graphic"] == 0.7


async def test_background_uploads_too(moderated: Moderated) -> None:
    async with moderated(**RULES) as inst:
        await inst.create_account("alice")
        token = await issue_token(inst, "alice")
        red, blue = await upload(inst, token, RED, "v2"), await upload(inst, token, BLUE, "v2")
        assert red.status_code == blue.status_code == 202
        await wait_processing()
        shown = await inst.client.get(f"/api/v1/media/{red.json()['id']}", headers=bearer(token))
        assert shown.status_code == 200
        assert (await post_with(inst, token, red.json()["id"]))["sensitive"] is True
        failed = await inst.client.get(f"/api/v1/media/{blue.json()['id']}", headers=bearer(token))
        assert failed.status_code == 422
        async with inst.services.reads() as session:
            row = await session.get(MediaAttachment, int(blue.json()["id"]))
        assert row is not None and row.state == "failed" and row.original_key is None
        assert [r.origin for r in await refusals(inst)] == ["upload"]


async def _generate(inst: Instance, prompt: str, name: str = "alice") -> GenerationJob:
    async with inst.services.sessions() as session, session.begin():
        account = await get_local(session, name)
        job = await generations.request_generation(
            inst.services, session, account, JobSpec(prompt=prompt), purpose="post",
            post=generations.post_options(text=prompt),
        )  # fmt: skip
    await inst.drain()
    async with inst.services.reads() as session:
        done = await session.get(GenerationJob, job.id)
    assert done is not None
    return done


async def test_generated_images_are_marked_sensitive_or_refused(moderated: Moderated) -> None:
    async with moderated(**RULES) as inst:
        alice = await inst.create_account("alice")
        red = await _generate(inst, "a red sunset")  # the procedural backend paints it red: "sexual" 0.9
        assert red.state == "done" and red.status_id is not None
        fog = await _generate(inst, "a lighthouse in fog")
        blue = await _generate(inst, "blue sky")  # "violence/graphic" 0.7: refused
        async with inst.services.reads() as session:
            red_post = await session.get(Status, red.status_id)
            fog_post = await session.get(Status, fog.status_id)
            stored = await session.scalar(select(func.count()).where(MediaAttachment.job_id == blue.id))
        assert red_post is not None and red_post.sensitive is True
        assert fog_post is not None and fog_post.sensitive is False
        assert blue.state == "failed" and blue.status_id is None and stored == 0
        assert "not allowed" in (blue.last_error or "") and blue.attempts == 1  # refused, not retried
        [refused] = await refusals(inst)
        assert (refused.kind, refused.origin, refused.account_id) == ("image", "generation", alice.id)
        assert (refused.prompt, refused.job_id) == ("blue sky", blue.id)


async def test_on_error_allow_lets_images_through_unchecked(
    moderated: Moderated, classifier: ClassifierStandIn
) -> None:
    classifier.mode = "slow"
    async with moderated(**RULES, timeout=0.5, on_error="allow") as inst:
        await inst.create_account("alice")
        token = await issue_token(inst, "alice")
        red = await upload(inst, token, RED)
        assert red.status_code == 200
        assert (await post_with(inst, token, red.json()["id"]))["sensitive"] is False
        async with inst.services.reads() as session:
            row = await session.get(MediaAttachment, int(red.json()["id"]))
        assert row is not None and row.meta["moderation"]["unchecked"] is True
        assert "no answer within 0.5 s" in row.meta["moderation"]["error"]


async def test_on_error_refuse_refuses_and_records(
    moderated: Moderated, classifier: ClassifierStandIn
) -> None:
    classifier.mode = "fail500"
    async with moderated(**RULES, on_error="refuse", check_prompts=False) as inst:
        await inst.create_account("alice")
        token = await issue_token(inst, "alice")
        grey = await upload(inst, token, GREY)
        assert grey.status_code == 422 and "could not be checked" in grey.json()["error"]
        job = await _generate(inst, "a lighthouse in fog")
        assert job.state == "failed" and job.attempts == 1
        assert [(r.kind, r.origin) for r in await refusals(inst)] == [
            ("image", "upload"),
            ("image", "generation"),
        ]
        assert await count(inst, MediaAttachment) == 0


async def test_on_error_hold_keeps_uploads_and_retries_jobs(
    moderated: Moderated, classifier: ClassifierStandIn
) -> None:
    with socket.socket() as closed:  # a port nothing listens on: the classifier is down
        closed.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{closed.getsockname()[1]}"
    async with moderated(**RULES, classifier_url=down, on_error="hold", check_prompts=False) as inst:
        await inst.create_account("alice")
        token = await issue_token(inst, "alice")
        assert (await upload(inst, token, GREY)).status_code == 503  # v1 cannot wait: try again later
        held = await upload(inst, token, RED, "v2")
        await wait_processing()
        media_id = int(held.json()["id"])
        assert (await inst.client.get(f"/api/v1/media/{media_id}", headers=bearer(token))).status_code == 206
        job = await _generate(inst, "a lighthouse in fog")
        assert (
            job.state == "queued" and job.attempts == 1 and "could not be checked" in (job.last_error or "")
        )
        assert await refusals(inst) == []

    # The classifier is back (the instance restarted with it): the worker finishes the held upload once
    # its grace period is over, from the raw upload it kept.
    async with moderated(**RULES, on_error="hold") as inst:
        async with inst.services.sessions() as session, session.begin():
            await session.execute(
                update(MediaAttachment).where(MediaAttachment.id == media_id)
                .values(created_at=utcnow() - timedelta(minutes=5))
            )  # fmt: skip
        assert await resume_uploads(inst.services) == 0  # held: not before its backoff is over
        async with inst.services.sessions() as session, session.begin():
            row = await session.get(MediaAttachment, media_id)
            assert row is not None and row.meta["held_times"] == 1
            row.meta = {**row.meta, "held_until": (utcnow() - timedelta(seconds=1)).isoformat()}
        assert await resume_uploads(inst.services) == 1
        assert (await post_with(inst, token, str(media_id)))["sensitive"] is True
        assert classifier.images == [("image/png", (300, 200))]


@pytest.mark.parametrize("on_error", ["refuse", "allow"])
async def test_a_loopback_classifier_needs_private_addresses_allowed(
    moderated: Moderated, classifier: ClassifierStandIn, on_error: str
) -> None:
    async with moderated(**RULES, on_error=on_error, federation={"allow_private_addresses": False}) as inst:
        await inst.create_account("alice")
        token = await issue_token(inst, "alice")
        response = await upload(inst, token, RED)
        assert classifier.requests == []  # never connected
        if on_error == "refuse":
            assert response.status_code == 422 and "could not be checked" in response.json()["error"]
        else:
            assert response.status_code == 200


async def test_the_bots_images_are_checked_too(
    moderated: Moderated, bob: RemoteActor, remote: RemoteServer
) -> None:
    async with moderated(**RULES) as inst:
        for prompt in ("a red sunset", "blue sky"):
            note = bob.note(
                f'<p><a href="{BASE}/@imagine">@imagine</a> {prompt}</p>', mention=f"{BASE}/users/imagine"
            )
            assert (await bob.post(inst.client, "/inbox", bob.create(note))).status_code == 202
            await inst.drain()
        replies = [
            r.json["object"]
            for r in remote.posts()
            if r.json["type"] == "Create" and r.json["actor"].endswith("/imagine")
        ]
        red, blue = replies
        assert red["sensitive"] is True and len(red["attachment"]) == 1
        assert blue["attachment"] == [] and "not allowed" in blue["content"]
        [refused] = await refusals(inst)
        assert (refused.kind, refused.origin, refused.prompt) == ("image", "bot", "blue sky")
        async with inst.services.reads() as session:
            bob_id = await session.scalar(select(Actor.id).where(Actor.ap_id == bob.ap_id))
        assert refused.account_id == bob_id
