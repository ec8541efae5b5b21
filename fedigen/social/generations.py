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

from fedigen.errors import ForbiddenError, NotFoundError, ValidationError
from fedigen.services import Services
from fedigen.social import posts, prompt_rules, refusals, remixes, roles
from fedigen.social.visibility import is_public
from generation.errors import PromptRefusedError
from generation.jobs import JobSpec, check_quota, submit
from storage.models import Actor, GenerationJob, MediaAttachment, Status, User

log = logging.getLogger(__name__)


async def check_prompt(svc: Services, prompt: str, negative_prompt: str = "") -> str:
    """The prompt after the instance's rules (as admins last edited them, :mod:`prompt_rules`) and
    (when configured) the moderation classifier."""
    cleaned = (await prompt_rules.current(svc)).check(prompt, negative_prompt)
    if svc.moderation is not None:
        await svc.moderation.check(" ".join(p for p in (cleaned, negative_prompt) if p))
    return cleaned


async def jobs_per_hour(svc: Services, session: AsyncSession, account: Actor) -> int:
    user = await session.scalar(select(User).where(User.actor_id == account.id))
    g = svc.settings.generation
    staff = user is not None and roles.role_of(user.role) in (roles.Role.ADMIN, roles.Role.OWNER)
    return g.jobs_per_hour_admin if staff else g.jobs_per_hour


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
    try:
        prompt = await check_prompt(svc, spec.prompt, spec.negative_prompt)
    except PromptRefusedError as exc:
        # The caller's transaction rolls back with the 422: the record for moderators is written after it.
        refusals.record_later(svc, refusals.refusal(
            refusals.PROMPT, "generation", exc.reason, account_id=account.id, prompt=spec.prompt,
        ))  # fmt: skip
        raise
    await check_quota(session, account.id, await jobs_per_hour(svc, session, account))
    try:
        if post is not None and not svc.settings.generation.public_prompts:
            post = {**post, "private_prompt": True}  # the instance keeps prompts private by default
        elif post is not None and await session.scalar(
            select(User.private_prompts).where(User.actor_id == account.id)
        ):
            post = {**post, "private_prompt": True}  # and so does this account (its preferences)
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
    language: str | None = None, literal: bool = False, mention_ids: list[int] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The ``post`` column of a job whose images become a post (see :class:`posts.PostRequest`)."""
    return {
        "text": text, "visibility": visibility, "cw": cw, "sensitive": sensitive, "alt": list(alt or []),
        "private_prompt": private_prompt, "in_reply_to_id": in_reply_to_id, "language": language,
        "literal": literal, "mention_ids": list(mention_ids or []),
    }  # fmt: skip


async def remix(
    svc: Services,
    session: AsyncSession,
    account: Actor,
    parent: Status,
    prompt: str,
    *,
    post: dict[str, Any] | None,
    count: int = 1,
    size: str | None = None,
    backend: str | None = None,
    strength: float | None = None,
) -> GenerationJob:
    """Queue a remix of ``parent``: seeded from its prompt (when known) plus the new one, image-to-image
    from its first image where the backend can; the new post links the parent as a quote. With ``post``
    the images are posted when done; without, they wait for their owner to pick and post them (the web
    composer), and any post made of them is the remix."""
    if not is_public(parent) and parent.actor_id != account.id:
        raise NotFoundError("no such post")  # private posts are not for remixing by others
    if not parent.attachments:
        raise ValidationError("status", "that post has no image to remix")
    if not remixes.may_remix(await session.get(Actor, parent.actor_id), account):
        raise ForbiddenError("the author of that post does not allow remixes")
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
    purpose = "images" if post is None else "post"
    return await request_generation(svc, session, account, spec, purpose=purpose, post=post)


async def image_post(
    svc: Services, session: AsyncSession, job: GenerationJob, media: list[MediaAttachment]
) -> Status:
    """Post a finished job's images with its caption; the post takes its provenance and remix link from
    the images (:func:`fedigen.social.posts.create_post`)."""
    author = await session.get(Actor, job.account_id)
    if author is None:
        raise NotFoundError("the job's account is gone")
    options = job.post
    request = posts.PostRequest(
        text=str(options.get("text") or ""), visibility=str(options.get("visibility") or "public"),
        summary=str(options.get("cw") or ""), sensitive=bool(options.get("sensitive")),
        language=options.get("language"), in_reply_to_id=options.get("in_reply_to_id"),
        media_ids=[m.id for m in media], private_prompt=bool(options.get("private_prompt")),
        literal=bool(options.get("literal")), mention_ids=[int(i) for i in options.get("mention_ids") or []],
    )  # fmt: skip
    status = await posts.create_post(svc, session, author, request)
    job.status_id = status.id
    return status
