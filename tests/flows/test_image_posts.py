"""Image posts end to end: a prompt in, a federated image Note out; remixes; media URLs; quotas.

The procedural backend (the embedded default) makes real images; the fake remote server receives
the deliveries and verifies their signatures as a peer would.
"""

from __future__ import annotations

import io
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select

from fedigen.social import accounts, generations, lookup, remixes
from fedigen.social.jobs import runner
from fedigen.social.media import avatar_url
from generation.errors import PromptRefusedError, QuotaExceededError
from generation.jobs import JobSpec, cancel
from storage import queue
from storage.image_provenance import read_provenance
from storage.models import GenerationJob, MediaAttachment, Remix, Status
from tests.conftest import HostRouter, Instance, make_settings, start_instance
from tests.flows.conftest import SMALL
from tests.remote_actor import PUBLIC, RemoteActor, RemoteServer, verify_delivery

BASE = "http://fedigen.test"
ALICE = f"{BASE}/users/alice"


async def bob_follows_alice(inst: Instance, bob: RemoteActor) -> None:
    response = await bob.post(inst.client, "/users/alice/inbox", bob.activity("Follow", ALICE, to=[ALICE]))
    assert response.status_code == 202
    await inst.drain()


async def alice_prompts(inst: Instance, prompt: str, **post: Any) -> Status:
    """alice posts images made from ``prompt``; the worker runs the job and delivers the Create."""
    svc = inst.services
    count = post.pop("count", 1)
    async with svc.sessions() as session, session.begin():
        alice = await accounts.get_local(session, "alice")
        job = await generations.request_generation(
            svc, session, alice, JobSpec(prompt=prompt, count=count), purpose="post",
            post=generations.post_options(post.pop("text", "made here"), **post),
        )  # fmt: skip
    return await posted_by_job(inst, job.id)


async def posted_by_job(inst: Instance, job_id: int) -> Status:
    """Run the worker until the queues are empty; the post that generation job made."""
    await inst.drain()
    async with inst.services.sessions() as session:
        done = await session.get(GenerationJob, job_id)
        assert done is not None and done.state == queue.DONE, done and done.last_error
        status = await session.get(Status, done.status_id)
    assert status is not None
    return status


async def remix_as(
    inst: Instance, name: str, parent_ref: str, prompt: str = "in the rain", text: str = "!"
) -> Status:
    """``name`` remixes the post ``parent_ref`` (fetched when remote); the worker runs the job."""
    svc = inst.services
    parent = await lookup.find_status(svc, parent_ref)
    async with svc.sessions() as session, session.begin():
        author = await accounts.get_local(session, name)
        row = await session.get(Status, parent.id)
        assert row is not None
        job = await generations.remix(svc, session, author, row, prompt, post=generations.post_options(text))
    return await posted_by_job(inst, job.id)


async def creates_to(inst: Instance, remote: RemoteServer, inbox: str) -> list[dict[str, Any]]:
    docs = []
    for request in remote.posts():
        await verify_delivery(request, inst.client)
        if request.json["type"] == "Create":
            docs.append(request.json)
    return docs


async def test_prompt_becomes_an_image_note_followers_receive(
    imagery: Instance, remote: RemoteServer, bob: RemoteActor
) -> None:
    await bob_follows_alice(imagery, bob)
    status = await alice_prompts(imagery, "a lighthouse in fog", count=2, sensitive=True)
    [create] = await creates_to(imagery, remote, bob.inbox)
    note = create["object"]
    assert note["id"] == status.ap_id and note["sensitive"] is True
    assert len(note["attachment"]) == 2
    for item in note["attachment"]:
        assert item["type"] == "Image" and item["mediaType"] in ("image/jpeg", "image/webp")
        assert item["name"] == item["summary"] == "a lighthouse in fog"  # alt defaults to the prompt
        assert (item["width"], item["height"]) == (256, 256)
        assert 6 <= len(item["blurhash"]) <= 40 and item["focalPoint"] == [0.0, 0.0]
        assert item["digitalSourceType"].endswith("trainedAlgorithmicMedia")
    generation = note["generation"]
    assert generation["prompt"] == "a lighthouse in fog" and generation["backend"] == "procedural"
    assert isinstance(generation["seed"], int) and generation["width"] == 256
    assert note["interactionPolicy"]["canQuote"]["automaticApproval"] == [PUBLIC]
    # The images are served unsigned, with their real type, and carry the AI label in XMP.
    for item in note["attachment"]:
        response = await imagery.client.get(item["url"])
        assert response.status_code == 200
        assert response.headers["content-type"] == item["mediaType"]
        assert "immutable" in response.headers["cache-control"]
        assert len(response.content) <= 2_000_000
        assert Image.open(io.BytesIO(response.content)).size == (256, 256)
        assert read_provenance(response.content) is not None


async def test_private_prompt_keeps_the_label_but_not_the_words(
    imagery: Instance, remote: RemoteServer, bob: RemoteActor
) -> None:
    await bob_follows_alice(imagery, bob)
    await alice_prompts(imagery, "my secret garden", private_prompt=True)
    [create] = await creates_to(imagery, remote, bob.inbox)
    note = create["object"]
    assert "secret" not in str(note)
    assert note["generation"]["promptPrivate"] is True
    assert note["attachment"][0]["digitalSourceType"].endswith("trainedAlgorithmicMedia")


async def test_an_instance_that_keeps_prompts_private_keeps_them_out_of_notes_and_alt_text(
    tmp_path: Path, backend: str, router: HostRouter, remote: RemoteServer, bob: RemoteActor
) -> None:
    settings = make_settings(tmp_path, backend, generation={**SMALL, "public_prompts": False})
    async with start_instance(settings, router) as inst:
        await inst.create_account("alice")
        await bob_follows_alice(inst, bob)
        await alice_prompts(inst, "my secret garden")
        [create] = await creates_to(inst, remote, bob.inbox)
    note = create["object"]
    assert "secret" not in str(note)
    assert note["generation"]["promptPrivate"] is True
    assert note["attachment"][0]["digitalSourceType"].endswith("trainedAlgorithmicMedia")


async def test_blocked_prompt_and_quota_are_refused_before_anything_is_stored(imagery: Instance) -> None:
    svc = imagery.services
    async with svc.sessions() as session, session.begin():
        alice = await accounts.get_local(session, "alice")
        with pytest.raises(PromptRefusedError, match="not allowed"):
            await generations.request_generation(svc, session, alice, JobSpec(prompt="a FORBIDDEN thing"))
        for _ in range(5):
            await generations.request_generation(svc, session, alice, JobSpec(prompt="a cat"))
        with pytest.raises(QuotaExceededError):
            await generations.request_generation(svc, session, alice, JobSpec(prompt="a cat"))
    async with svc.sessions() as session:
        assert await session.scalar(select(func.count(GenerationJob.id))) == 5


async def test_a_job_whose_worker_died_is_finished_once(imagery: Instance) -> None:
    svc = imagery.services
    async with svc.sessions() as session, session.begin():
        alice = await accounts.get_local(session, "alice")
        job = await generations.request_generation(
            svc,
            session,
            alice,
            JobSpec(prompt="a red kite"),
            purpose="post",
            post=generations.post_options("kite"),
        )
        job_id = job.id
    # A worker claims it and dies: the lease is left behind and nothing was stored.
    async with svc.sessions() as session, session.begin():
        [claimed] = await queue.claim(session, GenerationJob, limit=1, lease=timedelta(0))
        assert claimed.id == job_id
    await imagery.drain()
    async with svc.sessions() as session:
        done = await session.get(GenerationJob, job_id)
        assert done is not None and done.state == queue.DONE and done.attempts == 2
        assert await session.scalar(select(func.count(Status.id)).where(Status.local)) == 1
        assert await session.scalar(select(func.count(MediaAttachment.id))) == 1


async def test_remix_links_its_parent_and_lineage_is_queryable(
    imagery: Instance, remote: RemoteServer, bob: RemoteActor
) -> None:
    await bob_follows_alice(imagery, bob)
    original = await alice_prompts(imagery, "a lighthouse in fog")
    svc = imagery.services
    parent = await lookup.find_status(svc, original.url or "")
    async with svc.sessions() as session, session.begin():
        alice = await accounts.get_local(session, "alice")
        job = await generations.remix(
            svc, session, alice, parent, "at sunset", post=generations.post_options("again")
        )
        assert job.prompt == "at sunset, a lighthouse in fog"
        assert job.seed == original.extra["generation"]["seed"]
    await imagery.drain()
    creates = await creates_to(imagery, remote, bob.inbox)
    assert len(creates) == 2
    note = creates[1]["object"]
    assert note["quote"] == note["quoteUrl"] == note["_misskey_quote"] == original.ap_id
    assert note["generation"]["remixOf"] == original.ap_id
    assert {"type": "Link", "href": original.ap_id}.items() <= next(
        t for t in note["tag"] if t["type"] == "Link"
    ).items()
    assert "Remix of" in note["content"] and original.url in note["content"]
    remix, parent = await lookup.find_status(svc, note["id"]), await lookup.find_status(svc, original.ap_id)
    async with svc.sessions() as session:
        parents, children = await remixes.lineage(session, remix)
        assert parents == [original.ap_id] and children == []
        _, children = await remixes.lineage(session, parent)
        assert children == [note["id"]]
    page = (await imagery.client.get(note["url"])).text
    assert "<strong>AI-generated</strong>" in page and "at sunset, a lighthouse in fog" in page
    # The remix family, as thumbnails linking to the posts' pages ("Remix of" once: not the content's too).
    family = page.split('aria-label="Remix family"')[1].split("</section>")[0]
    assert page.count("Remix of") == 1 and "<h2>Remix of</h2>" in family
    assert f'<a href="{original.url}">' in family
    original_page = (await imagery.client.get(original.url or "")).text
    assert "Remixed 1 time<" in original_page and f'<a href="{note["url"]}">' in original_page


async def test_a_remote_fedigen_remix_of_our_post_is_recognised_as_a_child(
    tmp_path: Path, router: HostRouter, make_instance: Any
) -> None:
    async with AsyncExitStack() as stack:
        ours = await stack.enter_async_context(
            start_instance(make_settings(tmp_path, "sqlite", generation=SMALL), router)
        )
        theirs = await make_instance(stack, "http://other.test", generation=SMALL)
        await ours.create_account("alice")
        await theirs.create_account("dora")
        original = await alice_prompts(ours, "a lighthouse in fog")
        svc = theirs.services
        parent = await lookup.find_status(svc, original.ap_id)  # fetched from fedigen.test
        async with svc.sessions() as session, session.begin():
            dora = await accounts.get_local(session, "dora")
            assert parent.extra["generation"]["prompt"] == "a lighthouse in fog"
            job = await generations.remix(
                svc, session, dora, parent, "in winter", post=generations.post_options("!")
            )
        await theirs.drain()
        async with svc.sessions() as session:
            remixed = await session.get(GenerationJob, job.id)
            assert remixed is not None and remixed.state == queue.DONE
            child = await session.get(Status, remixed.status_id)
            assert child is not None
        await ours.drain()
        async with ours.services.sessions() as session:
            row = await session.scalar(select(Remix).where(Remix.parent_ap_id == original.ap_id))
            assert row is not None and row.child_ap_id == child.ap_id
            stored = await session.scalar(select(Status).where(Status.ap_id == child.ap_id))
            assert stored is not None and stored.attachments and stored.attachments[0]["blurhash"]
        # The remix asked for a FEP-044f authorisation; ours granted it, and theirs now carries the stamp.
        await theirs.drain()
        async with svc.sessions() as session:
            child = await session.get(Status, child.id)
            assert child is not None
            stamp_id = child.extra["quote_authorization"]
        stamp = await ours.client.get(stamp_id, headers={"Accept": "application/activity+json"})
        assert stamp.status_code == 200
        assert stamp.json()["type"] == "QuoteAuthorization"
        assert stamp.json()["interactingObject"] == child.ap_id
        assert stamp.json()["interactionTarget"] == original.ap_id
        note = await theirs.client.get(child.ap_id, headers={"Accept": "application/activity+json"})
        assert note.json()["quoteAuthorization"] == stamp_id


async def test_quote_requests_for_private_posts_are_rejected(
    imagery: Instance, remote: RemoteServer, bob: RemoteActor
) -> None:
    status = await alice_prompts(imagery, "a hidden lake", visibility="followers")
    request = bob.activity("QuoteRequest", status.ap_id, instrument=bob.new_id("statuses"), to=[ALICE])
    response = await bob.post(imagery.client, "/users/alice/inbox", request)
    assert response.status_code == 202
    await imagery.drain()
    answers = [r.json for r in remote.posts() if r.json["type"] in ("Accept", "Reject")]
    assert [a["type"] for a in answers] == ["Reject"] and answers[0]["object"]["id"] == request["id"]
    async with imagery.services.sessions() as session:
        assert await session.scalar(select(func.count(Remix.id))) == 0


async def test_remote_image_notes_keep_alt_blurhash_and_sizes(
    imagery: Instance, remote: RemoteServer, bob: RemoteActor
) -> None:
    image = {"type": "Document", "mediaType": "image/jpeg", "url": f"{remote.base}/media/1.jpg",
             "name": "a heron", "blurhash": "UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH", "width": 1200,
             "height": 800, "focalPoint": [0.5, -0.2]}  # fmt: skip
    note = bob.note("<p>look</p>", mention=ALICE, attachment=[image], sensitive=True)
    response = await bob.post(imagery.client, "/users/alice/inbox", bob.create(note))
    assert response.status_code == 202
    await imagery.drain()
    async with imagery.services.sessions() as session:
        stored = await session.scalar(select(Status).where(Status.ap_id == note["id"]))
    assert stored is not None and stored.sensitive
    [kept] = stored.attachments
    assert kept["name"] == "a heron" and kept["blurhash"] == image["blurhash"]
    assert (kept["width"], kept["height"], kept["focalPoint"]) == (1200, 800, [0.5, -0.2])


async def test_jobs_run_by_the_runner_report_progress_and_can_be_cancelled(imagery: Instance) -> None:
    svc = imagery.services
    async with svc.sessions() as session, session.begin():
        alice = await accounts.get_local(session, "alice")
        first = await generations.request_generation(svc, session, alice, JobSpec(prompt="one"))
        second = await generations.request_generation(svc, session, alice, JobSpec(prompt="two"))
        assert await cancel(session, second) is True
    assert await runner(svc).run_once() == 1
    async with svc.sessions() as session:
        done = await session.get(GenerationJob, first.id)
        assert done is not None and done.state == queue.DONE and done.progress == 100
        cancelled = await session.get(GenerationJob, second.id)
        assert cancelled is not None and cancelled.state == queue.CANCELLED
        media = list(await session.scalars(select(MediaAttachment)))
        assert [m.job_id for m in media] == [first.id] and media[0].status_id is None


async def test_remote_avatars_are_copied_through_the_pipeline_once(
    tmp_path: Path, router: HostRouter, make_instance: Any, remote: RemoteServer, bob: RemoteActor
) -> None:
    async with AsyncExitStack() as stack:
        ours = await stack.enter_async_context(start_instance(make_settings(tmp_path, "sqlite"), router))
        theirs = await make_instance(stack, "http://other.test")
        await theirs.create_account("dora")
        svc = ours.services
        async with svc.sessions() as session, session.begin():
            dora = await svc.resolver.get_actor("http://other.test/users/dora", session=session)
            await svc.resolver.get_actor(bob.ap_id, session=session)  # its avatar URL answers 404
        await ours.drain()
        async with svc.sessions() as session:
            rows = {m.remote_url: m for m in await session.scalars(select(MediaAttachment))}
            assert rows[dora.icon_url].state == "ready" and rows[dora.icon_url].width
            assert rows[f"{remote.base}/avatars/bob.png"].state == "failed"
            dora = await session.get(type(dora), dora.id)
            assert dora is not None
            url = await avatar_url(svc, session, dora)
        assert url.startswith(f"{BASE}/media/")
        served = await ours.client.get(url)
        assert served.status_code == 200 and served.headers["content-type"].startswith("image/")
        fetched = len(remote.received)
        await ours.drain()  # nothing is fetched again
        assert len(remote.received) == fetched
