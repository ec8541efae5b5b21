"""The composer: a prompt in, images out with live progress, then a post; or an upload of one's own.

- ``GET /compose`` shows the form (prompt, negative prompt, and count, size and backend where the
  configuration offers a choice); ``?remix=ID`` seeds it from a post (its prompt when public, the post
  shown as a thumbnail), and the images made are a remix of it.
- ``POST /compose`` starts a generation job with the same use-case as the client API
  (:func:`fedigen.social.generations.request_generation`, or :func:`~fedigen.social.generations.remix`)
  and sends the browser to the job's page.
- ``GET /compose/jobs/ID`` is the job's page: progress while it runs (``static/js/compose.js`` follows
  ``/compose/jobs/ID/events``, server-sent events, and falls back to polling ``/compose/jobs/ID/status``;
  without JavaScript a "check progress" link reloads the page), then the images to pick from with the
  caption, alt text (both pre-filled from the prompt), content warning, visibility and "keep the prompt
  private"; ``POST /compose/jobs/ID/post`` posts them (:func:`fedigen.social.posts.create_post`).
- ``POST /compose/upload`` posts uploaded images, through the same checks and pipeline as the media API.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from activitypub.notes import MAX_ATTACHMENTS
from fedigen.api import entities
from fedigen.api.statuses import as_id
from fedigen.errors import FedigenError, NotFoundError, ValidationError
from fedigen.http import services
from fedigen.services import Services
from fedigen.social import generations, image_checks, mentions, posts
from fedigen.social.visibility import visible_status
from fedigen.web.feeds import cards
from fedigen.web.pages import PAGE_HEADERS, html_errors, render
from fedigen.web.session import Viewer, checked_form, signed_in, viewer_of
from generation.backend import MAX_SIDE, MIN_SIDE, parse_size
from generation.errors import GenerationError
from generation.jobs import JobSpec
from storage import MediaError
from storage.attachments import MAX_DESCRIPTION_CHARS, add_attachment, store_image
from storage.images import sniff_media_type
from storage.models import Actor, GenerationJob, MediaAttachment, Status
from storage.vocabulary import QueueState

# Sizes the composer offers besides the configured default (each within the backends' limits).
SIZES = ("256x256", "512x512", "768x768", "1024x1024", "1024x768", "768x1024")
VISIBILITIES = (("public", "Public"), ("unlisted", "Unlisted"), ("followers", "Followers only"),
                ("direct", "Mentioned people only"))  # fmt: skip
FINISHED = (QueueState.DONE, QueueState.FAILED, QueueState.CANCELLED)
POLL_SECONDS = 0.25  # how often the event stream looks at the job row
HEARTBEAT_SECONDS = 15.0  # a comment line keeps proxies from closing a quiet stream
STREAM_LIMIT_SECONDS = 900.0  # a stream ends after this; the script then reconnects or polls
PRIVATE_ALT = "An AI-generated image."  # the job runner's alt text when the prompt is private
SSE_HEADERS = {**PAGE_HEADERS, "Cache-Control": "no-store", "X-Accel-Buffering": "no"}


def _viewer(request: Request) -> Viewer:
    viewer = viewer_of(request)
    assert viewer is not None
    return viewer


async def _me(session: AsyncSession, viewer: Viewer) -> Actor:
    actor = await session.get(Actor, viewer.account.id)
    if actor is None:
        raise NotFoundError("no such account")
    return actor


def choices(svc: Services) -> dict[str, Any]:
    """What the form offers: counts up to the instance's limit, sizes, and the backends allowed."""
    g = svc.settings.generation
    sizes = [g.size] + [s for s in SIZES if s != g.size]
    backends = [g.backend] + [b for b in g.allowed_backends if b != g.backend]
    return {"counts": list(range(1, g.max_images + 1)), "sizes": sizes, "backends": backends,
            "default_size": g.size, "max_prompt": g.max_prompt_chars}  # fmt: skip


async def _remix_parent(svc: Services, session: AsyncSession, me: Actor, raw: str | None) -> Status | None:
    if not raw:
        return None
    found = as_id(raw)
    if found is None:
        raise NotFoundError("no such post")
    parent = await visible_status(session, found, me.id)
    if parent.reblog_of_id is not None:
        parent = await visible_status(session, parent.reblog_of_id, me.id)
    return parent


def public_prompt(parent: Status) -> str:
    """The parent's prompt, when its author shows it."""
    generation = (parent.extra or {}).get("generation") or {}
    if not isinstance(generation, dict) or generation.get("private"):
        return ""
    return str(generation.get("prompt") or "")


async def _form(request: Request, *, values: dict[str, Any] | None = None, error: str | None = None,
                status_code: int = 200, upload_error: str | None = None) -> Response:  # fmt: skip
    viewer = _viewer(request)
    svc = services(request)
    values = dict(values or {})
    remix_id = values.get("remix") or request.query_params.get("remix")
    parent_entry = None
    async with svc.reads() as session:
        me = await _me(session, viewer)
        parent = await _remix_parent(svc, session, me, str(remix_id) if remix_id else None)
        if parent is not None:
            [parent_entry] = await cards(svc, session, [parent], me, None)
            values.setdefault("prompt", public_prompt(parent))
            values["remix"] = str(parent.id)
    context = {
        "values": values, "error": error, "upload_error": upload_error, "parent": parent_entry,
        "visibilities": VISIBILITIES, **choices(svc),
    }  # fmt: skip
    return render(request, "app/compose.html", context, status_code=status_code)


async def compose_page(request: Request) -> Response:
    """GET /compose (?remix=ID)."""
    return await _form(request)


def _spec_from(svc: Services, form: FormData) -> tuple[JobSpec, dict[str, Any]]:
    g = svc.settings.generation
    values = {k: str(form.get(k) or "") for k in ("prompt", "negative_prompt", "count", "size", "backend",
                                                 "remix")}  # fmt: skip
    prompt, negative = values["prompt"].strip(), values["negative_prompt"].strip()
    if len(prompt) > g.max_prompt_chars or len(negative) > g.max_prompt_chars:
        raise ValidationError("prompt", f"a prompt is at most {g.max_prompt_chars} characters")
    count = values["count"] or "1"
    if not count.isdigit() or not 1 <= int(count) <= g.max_images:
        raise ValidationError("count", f"choose between 1 and {g.max_images} images")
    size = values["size"] or g.size
    try:
        parse_size(size)
    except ValueError:
        raise ValidationError(
            "size", f"choose a size such as 1024x1024 (sides {MIN_SIDE} to {MAX_SIDE})"
        ) from None
    backend = values["backend"] or None
    allowed = {g.backend, *g.allowed_backends}
    if backend is not None and backend not in allowed:
        raise ValidationError("backend", f"choose one of: {', '.join(sorted(allowed))}")
    spec = JobSpec(prompt=prompt, negative_prompt=negative, size=size, count=int(count), backend=backend)
    return spec, values


async def compose_submit(request: Request) -> Response:
    """POST /compose: queue the job (or the remix's job) and go to its page."""
    viewer = _viewer(request)
    form = await checked_form(request)
    svc = services(request)
    values: dict[str, Any] = {k: str(form.get(k) or "") for k in form.keys() if k != "csrf_token"}
    try:
        if viewer.refusal:
            raise ValidationError("account", viewer.refusal)
        spec, values = _spec_from(svc, form)
        async with svc.sessions() as session:
            me = await _me(session, viewer)
            parent = await _remix_parent(svc, session, me, values["remix"] or None)
            if parent is not None:
                # The parent's prompt is added by the remix itself: only what the author wrote is given.
                original = public_prompt(parent)
                given = spec.prompt.replace(original, "").strip(" ,") if original else spec.prompt
                job = await generations.remix(svc, session, me, parent, given, post=None, count=spec.count,
                                              size=spec.size, backend=spec.backend)  # fmt: skip
            else:
                if not spec.prompt:
                    raise ValidationError("prompt", "write what the image should show")
                job = await generations.request_generation(svc, session, me, spec)
            await session.commit()
    except (FedigenError, GenerationError) as exc:
        return await _form(request, values=values, error=_said(exc), status_code=422)
    request.app.state.worker.wake()
    return RedirectResponse(f"/compose/jobs/{job.id}", status_code=303)


def _said(exc: Exception) -> str:
    text = str(exc)
    return text if text else "That could not be done."


async def _own_job(session: AsyncSession, request: Request, viewer: Viewer) -> GenerationJob:
    found = as_id(str(request.path_params.get("job_id", "")))
    job = await session.get(GenerationJob, found) if found is not None else None
    if job is None or job.account_id != viewer.account.id:
        raise NotFoundError("no such job")
    return job


def job_state(job: GenerationJob) -> dict[str, Any]:
    """What the progress script reads: state, percent, and the error of a failed job."""
    return {
        "id": str(job.id), "state": str(job.state), "progress": int(job.progress or 0),
        "done": job.state == QueueState.DONE, "finished": job.state in FINISHED,
        "error": job.last_error if job.state == QueueState.FAILED else None,
    }  # fmt: skip


async def job_page(request: Request) -> Response:
    """GET /compose/jobs/ID: progress, or the images to post."""
    viewer = _viewer(request)
    svc = services(request)
    async with svc.reads() as session:
        job = await _own_job(session, request, viewer)
        media = list(await session.scalars(
            select(MediaAttachment).where(MediaAttachment.job_id == job.id).order_by(MediaAttachment.position)
        ))  # fmt: skip
        images = [entities.media_attachment(svc, m) | {"posted": m.status_id is not None} for m in media]
        parent = await session.get(Status, job.parent_status_id) if job.parent_status_id else None
        posted = await session.get(Status, job.status_id) if job.status_id else None
        if posted is None and media and media[0].status_id is not None:
            posted = await session.get(Status, media[0].status_id)
    context = {
        "job": job, "state": job_state(job), "images": images, "parent": parent, "posted": posted,
        "visibilities": VISIBILITIES, "private_default": not svc.settings.generation.public_prompts,
        "error": None, "values": {},
    }  # fmt: skip
    return render(request, "app/job.html", context)


async def job_status(request: Request) -> Response:
    """GET /compose/jobs/ID/status: the job's state as JSON (the script's polling fallback)."""
    viewer = _viewer(request)
    async with services(request).reads() as session:
        job = await _own_job(session, request, viewer)
        return JSONResponse(job_state(job), headers={"Cache-Control": "no-store"})


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


async def job_events(request: Request) -> Response:
    """GET /compose/jobs/ID/events: ``text/event-stream`` of ``progress`` events (state and percent: the
    first one the state when the page started listening, even if the job had ended; then one each time
    they change) ending with one ``done`` (or ``failed``, ``cancelled``) event."""
    viewer = _viewer(request)
    svc = services(request)
    async with svc.reads() as session:
        await _own_job(session, request, viewer)
    job_id = as_id(str(request.path_params["job_id"])) or 0

    async def stream() -> AsyncIterator[str]:
        yield "retry: 2000\n\n"
        last: tuple[str, int] | None = None
        started = quiet_since = time.monotonic()
        while time.monotonic() - started < STREAM_LIMIT_SECONDS:
            async with svc.reads() as session:
                job = await session.get(GenerationJob, job_id)
                state = job_state(job) if job is not None else None
            if state is None:
                yield _event("failed", {"error": "the job is gone"})
                return
            if state["finished"]:
                if last is None:  # finished before the page listened: its state first, as always
                    yield _event("progress", state)
                name = "done" if state["done"] else str(state["state"])
                yield _event(name if name in ("done", "failed", "cancelled") else "failed", state)
                return
            now = (state["state"], state["progress"])
            if now != last:
                last, quiet_since = now, time.monotonic()
                yield _event("progress", state)
            elif time.monotonic() - quiet_since > HEARTBEAT_SECONDS:
                quiet_since = time.monotonic()
                yield ": still working\n\n"
            if await request.is_disconnected():
                return
            await asyncio.sleep(POLL_SECONDS)

    return StreamingResponse(stream(), media_type="text/event-stream", headers=SSE_HEADERS)


async def post_job(request: Request) -> Response:
    """POST /compose/jobs/ID/post: post the picked images with caption, alt text, content warning,
    visibility and prompt privacy."""
    viewer = _viewer(request)
    form = await checked_form(request)
    svc = services(request)
    picked = [as_id(str(v)) for v in form.getlist("media")]
    text = str(form.get("text") or "")
    try:
        if viewer.refusal:
            raise ValidationError("account", viewer.refusal)
        visibility = str(form.get("visibility") or "public")
        if visibility not in dict(VISIBILITIES):
            raise ValidationError("visibility", "choose who may see the post")
        await mentions.learn_mentions(svc, text)
        async with svc.sessions() as session:
            job = await _own_job(session, request, viewer)
            if job.state != QueueState.DONE:
                raise ValidationError("job", "the images are not ready yet")
            rows = {m.id: m for m in await session.scalars(
                select(MediaAttachment).where(MediaAttachment.job_id == job.id))}  # fmt: skip
            chosen = [i for i in picked if i is not None and i in rows]
            if not chosen or len(chosen) != len(picked):
                raise ValidationError("media", "pick at least one of the images")
            private = bool(form.get("private_prompt"))
            for media_id in chosen:
                alt = str(form.get(f"alt-{media_id}") or rows[media_id].description or "").strip()
                if len(alt) > MAX_DESCRIPTION_CHARS:
                    raise ValidationError("alt", f"alt text is at most {MAX_DESCRIPTION_CHARS} characters")
                if private and alt == job.prompt.strip():
                    alt = PRIVATE_ALT  # the pre-filled prompt would give away what is kept private
                if rows[media_id].status_id is None:
                    rows[media_id].description = alt  # as PUT /api/v1/media/:id, before it is on a post
            me = await _me(session, viewer)
            status = await posts.create_post(svc, session, me, posts.PostRequest(
                text=text, visibility=visibility, summary=str(form.get("summary") or ""),
                sensitive=bool(form.get("sensitive")), media_ids=chosen,
                private_prompt=private,
            ))  # fmt: skip
            await session.commit()
    except FedigenError as exc:
        return await _job_with_error(request, _said(exc), form)
    svc.work_queued()
    return RedirectResponse(status.url or f"/@{viewer.username}", status_code=303)


async def _job_with_error(request: Request, error: str, form: FormData) -> Response:
    """The job's page again, with the message and what was typed."""
    viewer = _viewer(request)
    svc = services(request)
    async with svc.reads() as session:
        job = await _own_job(session, request, viewer)
        media = list(await session.scalars(
            select(MediaAttachment).where(MediaAttachment.job_id == job.id).order_by(MediaAttachment.position)
        ))  # fmt: skip
    images = [entities.media_attachment(svc, m) | {"posted": m.status_id is not None} for m in media]
    values: dict[str, Any] = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    values["picked"] = [str(v) for v in form.getlist("media")]
    context = {
        "job": job, "state": job_state(job), "images": images, "parent": None, "posted": None,
        "visibilities": VISIBILITIES, "private_default": bool(form.get("private_prompt")),
        "error": error, "values": values,
    }  # fmt: skip
    return render(request, "app/job.html", context, status_code=422)


async def upload_submit(request: Request) -> Response:
    """POST /compose/upload: post one's own images (multipart), through the media API's checks."""
    viewer = _viewer(request)
    form = await checked_form(request)
    svc = services(request)
    values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    files = [f for f in form.getlist("file") if isinstance(f, UploadFile) and f.filename]
    try:
        if viewer.refusal:
            raise ValidationError("account", viewer.refusal)
        if not files:
            raise ValidationError("file", "choose an image to upload")
        if len(files) > MAX_ATTACHMENTS:
            raise ValidationError("file", f"at most {MAX_ATTACHMENTS} images in a post")
        alt = str(form.get("alt") or "").strip()
        if len(alt) > MAX_DESCRIPTION_CHARS:
            raise ValidationError("alt", f"alt text is at most {MAX_DESCRIPTION_CHARS} characters")
        visibility = str(form.get("visibility") or "public")
        if visibility not in dict(VISIBILITIES):
            raise ValidationError("visibility", "choose who may see the post")
        limit = svc.settings.media.max_upload_bytes
        blobs = []
        for upload in files:
            data = await upload.read(limit + 1)
            if len(data) > limit:
                raise ValidationError("file", f"an image is over the limit of {limit} bytes")
            try:
                sniff_media_type(data)
            except MediaError:
                raise ValidationError("file", "that is not a JPEG, PNG, WebP or GIF image") from None
            outcome = await image_checks.check_upload(svc, data, viewer.account.id)  # outside transactions
            if outcome.action == image_checks.REFUSE:
                raise ValidationError("file", outcome.reason or image_checks.REFUSED_MESSAGE)
            if outcome.action == image_checks.HOLD:
                raise ValidationError("file", f"{image_checks.UNCHECKED_MESSAGE}; try again later")
            blobs.append((data, outcome))
        text = str(form.get("text") or "")
        await mentions.learn_mentions(svc, text)
        stored = []
        for data, outcome in blobs:  # into the store before the transaction opens
            try:
                stored.append((await store_image(svc.media, data), outcome))
            except MediaError as exc:
                raise ValidationError("file", str(exc)) from None
        async with svc.sessions() as session:
            rows = []
            for image, outcome in stored:
                row = await add_attachment(session, image, account_id=viewer.account.id, description=alt)
                row.meta = image_checks.with_verdict(row.meta, outcome)
                rows.append(row)
            me = await _me(session, viewer)
            status = await posts.create_post(svc, session, me, posts.PostRequest(
                text=text, visibility=visibility, summary=str(form.get("summary") or ""),
                sensitive=bool(form.get("sensitive")), media_ids=[r.id for r in rows],
            ))  # fmt: skip
            await session.commit()
    except FedigenError as exc:
        return await _form(request, values={"upload": values}, upload_error=_said(exc), status_code=422)
    svc.work_queued()
    return RedirectResponse(status.url or f"/@{viewer.username}", status_code=303)


def _page(handler: Any) -> Any:
    return html_errors(signed_in(handler))


routes: list[BaseRoute] = [
    Route("/compose", _page(compose_page), methods=["GET"]),
    Route("/compose", _page(compose_submit), methods=["POST"]),
    Route("/compose/upload", _page(upload_submit), methods=["POST"]),
    Route("/compose/jobs/{job_id}", _page(job_page), methods=["GET"]),
    Route("/compose/jobs/{job_id}/status", _page(job_status), methods=["GET"]),
    Route("/compose/jobs/{job_id}/events", _page(job_events), methods=["GET"]),
    Route("/compose/jobs/{job_id}/post", _page(post_job), methods=["POST"]),
]
