"""The generation job runner of this process, with the hooks that turn finished jobs into posts."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fedigen.services import Services
from fedigen.social import bot
from fedigen.social.generations import image_post
from fedigen.social.media import fetch_image
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
