"""The generation job runner of this process, with the hooks that turn finished jobs into posts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fedigen.services import Services
from fedigen.social import bot, image_checks
from fedigen.social.generations import image_post
from fedigen.social.media import fetch_image
from generation.backend import GenerationResult
from generation.errors import BackendError
from generation.image_rules import REFUSE, ImageRefusedError
from generation.jobs import JobRunner
from storage.models import GenerationJob, MediaAttachment, Status


def runner(svc: Services) -> JobRunner:
    """The process's job runner, built on first use (so a process that never generates loads nothing)."""
    if svc.jobs is None:
        svc.jobs = JobRunner(svc.sessions, svc.job_settings, svc.backend_http, svc.media, ImagingHooks(svc))
    return svc.jobs


class ImagingHooks:
    """What happens around a job: the remix's source image, and the post or reply it was for."""

    def __init__(self, svc: Services) -> None:
        self.svc = svc

    async def init_image(self, job: GenerationJob) -> bytes | None:
        """The parent's first image: our stored original, or the remote file (fetched safely)."""
        async with self.svc.sessions() as session:
            parent = await session.get(Status, job.parent_status_id) if job.parent_status_id else None
            if parent is None:
                return None
            local = await session.scalar(
                select(MediaAttachment)
                .where(MediaAttachment.status_id == parent.id)
                .order_by(MediaAttachment.position)
                .limit(1)
            )
            urls = [a.get("url") for a in parent.attachments if isinstance(a, dict)]
        if local is not None and local.original_key:
            return await self.svc.media.store.aread(local.original_key)
        url = next((u for u in urls if isinstance(u, str)), None)
        return await fetch_image(self.svc, url) if url else None

    async def check_images(self, job: GenerationJob, result: GenerationResult) -> list[dict[str, Any]] | None:
        """The image classifier's verdict on each image (:mod:`fedigen.social.image_checks`): one the
        rules refuse fails the job (recorded for moderators); one it cannot check is held (retried)."""
        if not image_checks.checks(self.svc, "generated"):
            return None
        records = []
        for image in result.images[: job.count]:
            outcome = await image_checks.check_image(self.svc, image.data)
            if outcome.action == REFUSE:
                origin = "bot" if job.purpose == "bot_reply" else "generation"
                await image_checks.refused(self.svc, outcome, origin, account_id=job.requester_id,
                                           prompt=job.prompt, job_id=job.id)  # fmt: skip
                raise ImageRefusedError(outcome.reason)
            if outcome.action == image_checks.HOLD:
                raise BackendError(outcome.reason, transient=True)
            records.append({"moderation": outcome.record} if outcome.record else {})
        return records

    async def on_done(self, session: AsyncSession, job: GenerationJob, media: list[MediaAttachment]) -> None:
        """Post the images, or reply with them, as the job asked."""
        if job.purpose == "post":
            await image_post(self.svc, session, job, media)
        elif job.purpose == "bot_reply":
            reply = await bot.reply_with_images(self.svc, session, job, media)
            job.status_id = reply.id

    async def on_failed(self, session: AsyncSession, job: GenerationJob, reason: str) -> None:
        """Tell whoever asked the bot that it could not be done."""
        if job.purpose == "bot_reply":
            await bot.reply_failed(self.svc, session, job, reason)
