"""Image posts: the use-cases every front door calls to turn a prompt into images, a post, or a remix.

``request_generation`` checks the prompt rules, the moderation hook and the quotas, then queues a
generation job; the job runner (:mod:`generation.jobs`) makes and stores the images, and the hooks
here turn a finished job into what it was for: nothing more, an image post, or the bot's reply.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.errors import ActivityPubError
from activitypub.notes import quote_link
from activitypub.outbox import publish, quote_request_of
from activitypub.posts import fetch_public_note
from fedigen.errors import NotFoundError, ValidationError
from fedigen.posting import PostRequest, create_post
from fedigen.services import Services
from generation.jobs import JobSpec, check_quota, submit
from storage import MediaError
from storage.images import sniff_media_type
from storage.models import Actor, GenerationJob, MediaAttachment, Remix, Status, User

log = logging.getLogger(__name__)

MAX_REMOTE_IMAGE_BYTES = 16_000_000


async def check_prompt(svc: Services, prompt: str, negative_prompt: str = "") -> str:
    """The prompt after the instance's rules and (when configured) the moderation classifier."""
    cleaned = svc.rules.check(prompt, negative_prompt)
    if svc.moderation is not None:
        await svc.moderation.check(" ".join(p for p in (cleaned, negative_prompt) if p))
    return cleaned


async def jobs_per_hour(svc: Services, session: AsyncSession, account: Actor) -> int:
    user = await session.scalar(select(User).where(User.actor_id == account.id))
    g = svc.settings.generation
    return g.jobs_per_hour_admin if user is not None and user.is_admin else g.jobs_per_hour


async def request_generation(
    svc: Services,
    session: AsyncSession,
    account: Actor,
    spec: JobSpec,
    *,
    purpose: str = "images",
    post: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
) -> GenerationJob:
    """Check and queue a generation job for a local account (caller commits)."""
    if account.domain is not None:
        raise ValidationError("account", "only local accounts generate images")
    if idempotency_key:
        earlier = await session.scalar(
            select(GenerationJob).where(
                GenerationJob.account_id == account.id, GenerationJob.idempotency_key == idempotency_key
            )
        )
        if earlier is not None:
            return earlier
    prompt = await check_prompt(svc, spec.prompt, spec.negative_prompt)
    await check_quota(session, account.id, await jobs_per_hour(svc, session, account))
    try:
        return await submit(
            session, svc.job_settings, replace(spec, prompt=prompt), account_id=account.id,
            purpose=purpose, post=post, idempotency_key=idempotency_key,
        )  # fmt: skip
    except ValueError as exc:
        field = "size" if "size" in str(exc) else "count" if "count" in str(exc) else "seed"
        raise ValidationError(field, str(exc)) from None


def post_options(
    text: str = "", *, visibility: str = "public", cw: str = "", sensitive: bool = False,
    alt: list[str] | None = None, private_prompt: bool = False, in_reply_to_id: int | None = None,
    language: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The ``post`` column of a job whose images become a post."""
    return {
        "text": text, "visibility": visibility, "cw": cw, "sensitive": sensitive, "alt": list(alt or []),
        "private_prompt": private_prompt, "in_reply_to_id": in_reply_to_id, "language": language,
    }  # fmt: skip


async def find_status(svc: Services, session: AsyncSession, ref: str) -> Status:
    """A status by our id, our URL / ActivityPub id, or a remote URL (fetched and stored)."""
    ref = ref.strip()
    status: Status | None = None
    if ref.isdigit():
        status = await session.get(Status, int(ref))
    else:
        status = await session.scalar(select(Status).where((Status.ap_id == ref) | (Status.url == ref)))
        if status is None and not svc.urls.is_local(ref):
            try:
                status = await fetch_public_note(session, svc.resolver, svc.urls, ref)
            except (ActivityPubError, ValueError) as exc:
                raise NotFoundError(f"could not fetch {ref}: {exc}") from None
    if status is None or status.deleted_at is not None or status.reblog_of_id is not None:
        raise NotFoundError(f"no post {ref}")
    return status


async def remix(
    svc: Services,
    session: AsyncSession,
    account: Actor,
    parent: Status,
    prompt: str,
    *,
    post: dict[str, Any],
    count: int = 1,
    size: str | None = None,
    backend: str | None = None,
    strength: float | None = None,
) -> GenerationJob:
    """Queue a remix of ``parent``: seeded from its prompt (when known) plus the new one, image-to-image
    from its first image where the backend can; the new post links the parent as a quote."""
    if parent.visibility not in ("public", "unlisted") and parent.actor_id != account.id:
        raise NotFoundError("no such post")  # private posts are not for remixing by others
    if not parent.attachments:
        raise ValidationError("status", "that post has no image to remix")
    generation = (parent.extra or {}).get("generation") or {}
    original = generation.get("prompt") if not generation.get("private") else None
    combined = f"{prompt.strip()}, {original}" if original and prompt.strip() else (prompt or original or "")
    seed = generation.get("seed") if isinstance(generation.get("seed"), int) else None
    width, height = generation.get("width"), generation.get("height")
    spec = JobSpec(
        prompt=combined[: svc.settings.generation.max_prompt_chars],
        negative_prompt=str(generation.get("negative_prompt") or ""),
        size=size or (f"{width}x{height}" if isinstance(width, int) and isinstance(height, int) else None),
        count=count, seed=seed, backend=backend, strength=strength,
        parent_status_id=parent.id, parent_ap_id=parent.ap_id,
    )  # fmt: skip
    return await request_generation(svc, session, account, spec, purpose="post", post=post)


MAX_LINEAGE_DEPTH = 50


async def lineage(session: AsyncSession, status: Status) -> tuple[list[str], list[str]]:
    """A post's remix ancestors (nearest first) and its direct remixes, as ActivityPub ids."""
    parents: list[str] = []
    current = status.ap_id
    while len(parents) < MAX_LINEAGE_DEPTH:
        parent = await session.scalar(select(Remix.parent_ap_id).where(Remix.child_ap_id == current))
        if parent is None or parent in parents or parent == status.ap_id:
            break
        parents.append(parent)
        current = parent
    children = list(
        await session.scalars(
            select(Remix.child_ap_id).where(Remix.parent_ap_id == status.ap_id).order_by(Remix.id)
        )
    )
    return parents, children


async def image_post(
    svc: Services, session: AsyncSession, job: GenerationJob, media: list[MediaAttachment]
) -> Status:
    """Post a finished job's images with its caption, provenance and remix link."""
    author = await session.get(Actor, job.account_id)
    if author is None:
        raise NotFoundError("the job's account is gone")
    options = job.post
    generation = dict(media[0].generation) if media else {}
    generation["private"] = bool(options.get("private_prompt"))
    extra: dict[str, Any] = {"generation": generation}
    tags: list[dict[str, Any]] = []
    parent = await session.get(Status, job.parent_status_id) if job.parent_status_id else None
    if job.parent_ap_id:
        extra["remix_of"] = job.parent_ap_id
        extra["remix_url"] = parent.url if parent is not None and parent.url else job.parent_ap_id
        tags.append(quote_link(job.parent_ap_id))
    remote_parent = parent is not None and not parent.local and parent.actor_id != author.id
    request = PostRequest(
        text=str(options.get("text") or ""), visibility=str(options.get("visibility") or "public"),
        summary=str(options.get("cw") or ""), sensitive=bool(options.get("sensitive")),
        language=options.get("language"), in_reply_to_id=options.get("in_reply_to_id"),
        media_ids=[m.id for m in media], extra=extra, extra_tags=tags,
        also_deliver_to=[parent.actor_id] if parent is not None and remote_parent else [],
    )  # fmt: skip
    status = await create_post(svc, session, author, request)
    job.status_id = status.id
    if parent is not None and remote_parent and status.visibility in ("public", "unlisted"):
        # FEP-044f: ask the parent's author to authorise the quote; their Accept carries the stamp.
        parent_author = await session.get(Actor, parent.actor_id)
        if parent_author is not None:
            request_doc = quote_request_of(svc.urls.new_activity(), author, parent.ap_id, status.ap_id,
                                           parent_author.ap_id)  # fmt: skip
            await publish(session, author, request_doc)
    return status


async def fetch_image(svc: Services, url: str) -> bytes | None:
    """A remote image's bytes through the guarded federation client, if it is an allowed image type."""
    try:
        async with svc.http.stream("GET", url, follow_redirects=True) as response:
            if response.status_code != 200:
                return None
            data = bytearray()
            async for chunk in response.aiter_bytes():
                data += chunk
                if len(data) > MAX_REMOTE_IMAGE_BYTES:
                    return None
    except Exception as exc:  # network errors of every kind: remix from the prompt alone
        log.info("could not fetch %s for a remix: %s", url, exc)
        return None
    try:
        sniff_media_type(bytes(data))
    except MediaError:
        return None
    return bytes(data)
