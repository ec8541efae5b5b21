"""fedigen's own API for apps: generate images, follow a job's progress, cancel it, remix a post.

``POST /api/v1/fedigen/generations`` queues a job (202); ``GET`` it until ``state`` is ``done``, when
``media_attachments`` are MediaAttachments of the caller's, ready for ``media_ids`` of a new status.
``POST /api/v1/fedigen/statuses/:id/remix`` queues a job whose images are posted as a remix.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from activitypub.vocab import VISIBILITIES
from fedigen.api import entities
from fedigen.api.auth import authenticate
from fedigen.api.idempotency import key_of
from fedigen.api.params import Params, read_params
from fedigen.api.statuses import account_of, path_id, visibility_param
from fedigen.errors import NotFoundError, ValidationError
from fedigen.http import services
from fedigen.languages import checked as checked_language
from fedigen.services import Services
from fedigen.social import mentions
from fedigen.social.generations import post_options, remix, request_generation
from fedigen.social.visibility import visible_status
from generation.jobs import JobSpec, cancel
from storage.models import GenerationJob, MediaAttachment
from storage.vocabulary import QueueState


async def job_entity(svc: Services, session: AsyncSession, job: GenerationJob) -> dict[str, Any]:
    """A generation job as the API shows it, with its images once done."""
    media = await session.scalars(
        select(MediaAttachment).where(MediaAttachment.job_id == job.id).order_by(MediaAttachment.position)
    )
    done = job.state == QueueState.DONE
    return {
        "id": str(job.id), "state": job.state, "progress": job.progress, "purpose": job.purpose,
        "prompt": job.prompt, "negative_prompt": job.negative_prompt, "count": job.count,
        "size": f"{job.width}x{job.height}", "seed": job.seed, "backend": job.backend, "model": job.model,
        "created_at": entities.iso(job.created_at), "finished_at": entities.iso(job.finished_at),
        "error": job.last_error if job.state == QueueState.FAILED else None,
        "remix_of_id": str(job.parent_status_id) if job.parent_status_id else None,
        "status_id": str(job.status_id) if job.status_id else None,
        "media_attachments": [entities.media_attachment(svc, m) for m in media if done],
    }  # fmt: skip


def _spec(svc: Services, params: Params, *, prompt_required: bool = True) -> JobSpec:
    max_chars = svc.settings.generation.max_prompt_chars
    prompt = params.required("prompt", max_chars=max_chars) if prompt_required else (
        params.get_str("prompt", "", max_chars=max_chars) or "")  # fmt: skip
    return JobSpec(
        prompt=prompt, negative_prompt=params.get_str("negative_prompt", "", max_chars=max_chars) or "",
        size=params.get_str("size", max_chars=16), count=params.get_int("count", 1) or 1,
        seed=params.get_int("seed"), backend=params.get_str("backend", max_chars=64),
    )  # fmt: skip


async def create(request: Request) -> Response:
    """POST /api/v1/fedigen/generations: 202 with the queued job."""
    auth = await authenticate(request, "write:media")
    svc = services(request)
    spec = _spec(svc, await read_params(request))
    async with svc.sessions() as session:
        owner = await account_of(session, auth)
        job = await request_generation(svc, session, owner, spec, idempotency_key=key_of(request))
        body = await job_entity(svc, session, job)
        await session.commit()
    request.app.state.worker.wake()
    return JSONResponse(body, status_code=202)


async def _own_job(session: AsyncSession, request: Request, owner_id: int) -> GenerationJob:
    job = await session.get(GenerationJob, path_id(request))
    if job is None or job.account_id != owner_id:
        raise NotFoundError("Record not found")
    return job


async def show(request: Request) -> Response:
    """GET /api/v1/fedigen/generations/:id: state, progress and (when done) the images."""
    auth = await authenticate(request, "write:media")
    svc = services(request)
    async with svc.reads() as session:
        job = await _own_job(session, request, (await account_of(session, auth)).id)
        return JSONResponse(await job_entity(svc, session, job))


async def destroy(request: Request) -> Response:
    """DELETE /api/v1/fedigen/generations/:id: cancel a queued or running job."""
    auth = await authenticate(request, "write:media")
    svc = services(request)
    async with svc.sessions() as session:
        job = await _own_job(session, request, (await account_of(session, auth)).id)
        await cancel(session, job)
        body = await job_entity(svc, session, job)
        await session.commit()
    return JSONResponse(body)


async def remix_status(request: Request) -> Response:
    """POST /api/v1/fedigen/statuses/:id/remix: 202 with a job whose images are posted as a remix."""
    auth = await authenticate(request, "write:statuses")
    params = await read_params(request)
    svc = services(request)
    spec = _spec(svc, params, prompt_required=False)
    visibility = visibility_param(params)
    if visibility not in VISIBILITIES:
        raise ValidationError("visibility", f"must be one of {', '.join(VISIBILITIES)}")
    post = post_options(
        params.get_str("status", "") or "", visibility=visibility,
        cw=params.get_str("spoiler_text", "") or "", sensitive=params.get_bool("sensitive"),
        # Checked now: the post is made when the images are, too late to refuse it.
        language=checked_language("language", params.get_str("language", max_chars=16)),
    )  # fmt: skip
    await mentions.learn_mentions(svc, str(post["text"]))
    async with svc.sessions() as session:
        owner = await account_of(session, auth)
        parent = await visible_status(session, path_id(request), owner.id)
        if parent.reblog_of_id is not None:
            parent = await visible_status(session, parent.reblog_of_id, owner.id)
        job = await remix(svc, session, owner, parent, spec.prompt, post=post, count=spec.count,
                          size=spec.size, backend=spec.backend)  # fmt: skip
        body = await job_entity(svc, session, job)
        await session.commit()
    request.app.state.worker.wake()
    return JSONResponse(body, status_code=202)


routes: list[BaseRoute] = [
    Route("/api/v1/fedigen/generations", create, methods=["POST"]),
    Route("/api/v1/fedigen/generations/{id}", show, methods=["GET"]),
    Route("/api/v1/fedigen/generations/{id}", destroy, methods=["DELETE"]),
    Route("/api/v1/fedigen/statuses/{id}/remix", remix_status, methods=["POST"]),
]
