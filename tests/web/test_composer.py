"""The composer: a prompt in, live progress as server-sent events, pick and post; remixes; uploads."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from storage import queue
from storage.models import GenerationJob, MediaAttachment, Remix, Status
from tests.conftest import HostRouter, Instance, make_settings, start_instance
from tests.generation.standins import png
from tests.web.conftest import browser_of, csrf_of

PROMPT = "a lighthouse on a cliff at dusk"


@pytest.fixture
async def site(tmp_path: Path, backend: str, router: HostRouter) -> AsyncIterator[Instance]:
    settings = make_settings(
        tmp_path, backend, generation={"size": "256x256", "blocked_terms": ["forbidden"]}
    )
    async with start_instance(settings, router) as inst:
        yield inst


async def _count(instance: Instance, model: Any, *where: Any) -> int:
    async with instance.services.reads() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def events_of(body: str) -> list[tuple[str, dict[str, Any]]]:
    """The (event, data) pairs of a text/event-stream body."""
    found = []
    for block in body.split("\n\n"):
        name = re.search(r"^event: (.+)$", block, re.M)
        data = re.search(r"^data: (.+)$", block, re.M)
        if name and data:
            found.append((name.group(1), json.loads(data.group(1))))
    return found


async def start_job(browser: httpx.AsyncClient, prompt: str = PROMPT, **fields: str) -> int:
    form = await browser.get("/compose")
    response = await browser.post(
        "/compose", data={"csrf_token": csrf_of(form.text), "prompt": prompt, **fields}
    )
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/compose/jobs/(\d+)", response.headers["location"])
    assert match is not None
    return int(match.group(1))


async def test_the_form_offers_the_configured_choices(site: Instance) -> None:
    alice = await browser_of(site, "alice")
    page = await alice.get("/compose")
    assert page.status_code == 200
    assert 'name="prompt"' in page.text and 'name="negative_prompt"' in page.text
    assert '<option value="256x256" selected>256x256 (default)</option>' in page.text
    assert '<option value="4">4</option>' in page.text  # up to [generation] max_images
    assert 'name="backend"' not in page.text  # only one backend is allowed here
    assert 'enctype="multipart/form-data"' in page.text  # and one's own images can be uploaded


async def test_bad_input_shows_the_form_with_the_error_and_queues_nothing(site: Instance) -> None:
    alice = await browser_of(site, "alice")
    token = csrf_of((await alice.get("/compose")).text)
    cases = [
        ({"prompt": ""}, "write what the image should show"),
        ({"prompt": "a cat", "count": "9"}, "choose between 1 and 4 images"),
        ({"prompt": "a cat", "size": "10x10"}, "choose a size"),
        ({"prompt": "a cat", "backend": "openai"}, "choose one of: procedural"),
        ({"prompt": "a forbidden cat"}, "This prompt is not allowed on this instance."),
    ]
    for fields, message in cases:
        response = await alice.post("/compose", data={"csrf_token": token, **fields})
        assert response.status_code == 422, fields
        assert message in response.text, fields
        assert 'class="form-error"' in response.text
    assert 'value="10x10"' not in response.text  # the choices are still the offered ones
    assert await _count(site, GenerationJob) == 0
    refused = await alice.post("/compose", data={"prompt": "a cat"})
    assert refused.status_code == 403 and await _count(site, GenerationJob) == 0


async def test_events_stream_progress_then_done_and_the_images_are_posted(site: Instance) -> None:
    alice = await browser_of(site, "alice")
    job_id = await start_job(alice, negative_prompt="fog")
    waiting = await alice.get(f"/compose/jobs/{job_id}")
    assert "<progress" in waiting.text and f'href="/compose/jobs/{job_id}">Check progress' in waiting.text
    assert f'data-events="/compose/jobs/{job_id}/events"' in waiting.text
    status = await alice.get(f"/compose/jobs/{job_id}/status")
    assert status.json() == {
        "id": str(job_id),
        "state": "queued",
        "progress": 0,
        "done": False,
        "finished": False,
        "error": None,
    }

    async def run_worker() -> None:
        await asyncio.sleep(0.4)  # the stream has sent its first event
        await site.drain()

    worker = asyncio.create_task(run_worker())
    stream = await alice.get(f"/compose/jobs/{job_id}/events", timeout=60)
    await worker
    assert stream.status_code == 200 and stream.headers["content-type"].startswith("text/event-stream")
    events = events_of(stream.text)
    assert events[0] == (
        "progress",
        {
            "id": str(job_id),
            "state": "queued",
            "progress": 0,
            "done": False,
            "finished": False,
            "error": None,
        },
    )
    assert [name for name, _ in events].count("done") == 1 and events[-1][0] == "done"
    assert events[-1][1]["progress"] == 100 and events[-1][1]["state"] == "done"
    assert all(name == "progress" for name, _ in events[:-1])

    # Done: pick the images, caption and alt text pre-filled from the prompt.
    page = await alice.get(f"/compose/jobs/{job_id}")
    assert "Pick the images to post" in page.text and f">{PROMPT}</textarea>" in page.text
    media_id = re.search(r'name="media" value="(\d+)"', page.text)
    assert media_id is not None
    posted = await alice.post(
        f"/compose/jobs/{job_id}/post",
        data={
            "csrf_token": csrf_of(page.text),
            "media": media_id.group(1),
            "text": "Dusk #lighthouse",
            f"alt-{media_id.group(1)}": "A white lighthouse on a dark cliff",
            "summary": "",
            "visibility": "public",
            "private_prompt": "1",
        },
    )
    assert posted.status_code == 303
    async with site.services.reads() as session:
        post = await session.scalar(select(Status).where(Status.source_text == "Dusk #lighthouse"))
    assert post is not None and posted.headers["location"] == post.url
    assert post.attachments[0]["name"] == "A white lighthouse on a dark cliff"
    assert post.extra["generation"]["private"] is True  # the prompt is kept to the author
    profile = await alice.get("/@alice")
    assert "A white lighthouse on a dark cliff" in profile.text
    # The job's page now links the post instead of offering the images again.
    assert "see the post" in (await alice.get(f"/compose/jobs/{job_id}")).text


async def test_posting_needs_a_picked_image_of_the_job(site: Instance) -> None:
    alice = await browser_of(site, "alice")
    bob = await browser_of(site, "bob")
    job_id = await start_job(alice)
    page = await alice.get(f"/compose/jobs/{job_id}")
    token = csrf_of(page.text)
    early = await alice.post(f"/compose/jobs/{job_id}/post", data={"csrf_token": token, "media": "1"})
    assert early.status_code == 422 and "not ready yet" in early.text
    await site.drain()
    none = await alice.post(f"/compose/jobs/{job_id}/post", data={"csrf_token": token, "text": "x"})
    assert none.status_code == 422 and "pick at least one of the images" in none.text
    assert await _count(site, Status) == 0
    # Someone else's job is not there for them.
    assert (await bob.get(f"/compose/jobs/{job_id}")).status_code == 404
    assert (await bob.get(f"/compose/jobs/{job_id}/events")).status_code == 404


async def test_remix_from_the_button_seeds_the_composer_and_posts_a_remix(site: Instance) -> None:
    alice = await browser_of(site, "alice")
    bob = await browser_of(site, "bob")
    job_id = await start_job(alice)
    await site.drain()
    page = await alice.get(f"/compose/jobs/{job_id}")
    media_id = re.search(r'name="media" value="(\d+)"', page.text)
    assert media_id is not None
    await alice.post(
        f"/compose/jobs/{job_id}/post",
        data={
            "csrf_token": csrf_of(page.text),
            "media": media_id.group(1),
            "text": "original",
            "visibility": "public",
        },
    )
    async with site.services.reads() as session:
        parent = await session.scalar(select(Status).where(Status.source_text == "original"))
    assert parent is not None

    feed = await bob.get("/public")
    assert f'href="/compose?remix={parent.id}"' in feed.text
    seeded = await bob.get(f"/compose?remix={parent.id}")
    assert seeded.status_code == 200 and "Remixing" in seeded.text
    assert f">{PROMPT}</textarea>" in seeded.text  # the parent's public prompt
    token = csrf_of(seeded.text)
    made = await bob.post(
        "/compose", data={"csrf_token": token, "remix": str(parent.id), "prompt": f"{PROMPT}, in snow"}
    )
    assert made.status_code == 303
    async with site.services.reads() as session:
        job = await session.scalar(select(GenerationJob).where(GenerationJob.parent_status_id == parent.id))
    assert job is not None and job.prompt == f"in snow, {PROMPT}"  # the prompt is not doubled
    assert job.purpose == "images"  # waits for bob to pick and post
    await site.drain()
    page = await bob.get(f"/compose/jobs/{job.id}")
    media_id = re.search(r'name="media" value="(\d+)"', page.text)
    assert media_id is not None and "Remix:" in page.text
    posted = await bob.post(
        f"/compose/jobs/{job.id}/post",
        data={
            "csrf_token": csrf_of(page.text),
            "media": media_id.group(1),
            "text": "snowy",
            "visibility": "public",
        },
    )
    assert posted.status_code == 303
    async with site.services.reads() as session:
        remix = await session.scalar(select(Status).where(Status.source_text == "snowy"))
        lineage = await session.scalar(select(Remix))
    assert remix is not None and remix.extra["remix_of"] == parent.ap_id
    assert lineage is not None and lineage.parent_status_id == parent.id
    assert remix.content.count("Remix of") == 1
    # In the feed, the remix says what it remixes once (its own paragraph, which every server shows).
    feed = (await bob.get("/home")).text
    card = feed[feed.index(f'id="post-{remix.id}"') :]
    card = card[: card.index("</article>")]
    assert card.count("Remix of") == 1 and parent.url in card


async def test_a_private_prompt_is_not_seeded_into_a_remix(site: Instance) -> None:
    alice = await browser_of(site, "alice")
    bob = await browser_of(site, "bob")
    job_id = await start_job(alice)
    await site.drain()
    page = await alice.get(f"/compose/jobs/{job_id}")
    media_id = re.search(r'name="media" value="(\d+)"', page.text)
    assert media_id is not None
    await alice.post(
        f"/compose/jobs/{job_id}/post",
        data={
            "csrf_token": csrf_of(page.text),
            "media": media_id.group(1),
            "text": "secret",
            "private_prompt": "1",
        },
    )
    async with site.services.reads() as session:
        parent = await session.scalar(select(Status).where(Status.source_text == "secret"))
    assert parent is not None
    seeded = await bob.get(f"/compose?remix={parent.id}")
    assert PROMPT not in seeded.text and "Its prompt is not public" in seeded.text


async def test_upload_posts_own_images_and_refuses_what_is_not_an_image(site: Instance) -> None:
    alice = await browser_of(site, "alice")
    token = csrf_of((await alice.get("/compose")).text)
    bad = await alice.post(
        "/compose/upload",
        data={"csrf_token": token, "alt": "x", "text": "nope"},
        files={"file": ("notes.txt", b"hello, not an image", "text/plain")},
    )
    assert bad.status_code == 422 and "not a JPEG, PNG, WebP or GIF image" in bad.text
    missing = await alice.post("/compose/upload", data={"csrf_token": token, "text": "nothing"})
    assert missing.status_code == 422 and "choose an image to upload" in missing.text
    assert await _count(site, Status) == 0 and await _count(site, MediaAttachment) == 0
    good = await alice.post(
        "/compose/upload",
        data={
            "csrf_token": token,
            "alt": "A red square",
            "text": "made by hand",
            "summary": "bright",
            "visibility": "unlisted",
        },
        files={"file": ("square.png", png(96, 96), "image/png")},
    )
    assert good.status_code == 303
    async with site.services.reads() as session:
        post = await session.scalar(select(Status))
    assert post is not None and post.source_text == "made by hand" and post.visibility == "unlisted"
    assert post.summary == "bright" and post.attachments[0]["name"] == "A red square"
    assert "generation" not in post.extra  # not AI-made


async def test_a_failed_job_ends_the_stream_with_its_error(site: Instance) -> None:
    alice = await browser_of(site, "alice")
    job_id = await start_job(alice)
    async with site.services.sessions() as session, session.begin():
        job = await session.get(GenerationJob, job_id)
        assert job is not None
        queue.mark_failed(job, "the generator is out of paint")
    stream = await alice.get(f"/compose/jobs/{job_id}/events")
    events = events_of(stream.text)
    # The first event is always the job's state when the page started listening; then the end.
    assert events[0] == ("progress", events[1][1])
    assert events[1:] == [
        (
            "failed",
            {
                "id": str(job_id),
                "state": "failed",
                "progress": 0,
                "done": False,
                "finished": True,
                "error": "the generator is out of paint",
            },
        )
    ]
    page = await alice.get(f"/compose/jobs/{job_id}")
    assert "the generator is out of paint" in page.text and "<progress" not in page.text


async def test_a_job_done_before_the_page_listens_still_shows_its_progress_then_done(site: Instance) -> None:
    alice = await browser_of(site, "alice")
    job_id = await start_job(alice)
    await site.drain()
    events = events_of((await alice.get(f"/compose/jobs/{job_id}/events")).text)
    assert [name for name, _ in events] == ["progress", "done"]
    assert events[0][1] == events[1][1] and events[1][1]["progress"] == 100
