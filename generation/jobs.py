"""Generation jobs: durable queue rows from prompt to stored images.

A job is ``queued`` -> ``running`` (with ``progress`` 0-100) -> ``done`` / ``failed`` / ``cancelled``.
Every job gets a fixed seed when it is submitted, so a job re-run after a crash (its lease ran out)
makes the same images; the images, the media rows and whatever the job was for (a post, the bot's
reply) are committed in one transaction, so the user sees them once or not at all.

Transient backend errors (a server down or busy, a timeout) are retried with the queues' backoff up
to ``max_attempts``; any other error fails the job at once. Each backend runs at most its
``concurrency`` jobs at a time in one process.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from generation.backend import (
    Backend,
    GenerationRequest,
    GenerationResult,
    create_backend,
    parse_size,
)
from generation.errors import (
    BackendError,
    BackendTimeoutError,
    GenerationError,
    JobCancelledError,
    QuotaExceededError,
    UnknownBackendError,
)
from storage import MediaError, MediaStoreUnavailable, queue
from storage.attachments import MediaContext, add_attachment, store_image
from storage.db import SessionFactory
from storage.models import GenerationJob, MediaAttachment, utcnow
from storage.retry import backoff

log = logging.getLogger(__name__)

PURPOSES = ("images", "post", "bot_reply")
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class JobSettings:
    """The [generation] settings the runner needs."""

    default_backend: str = "procedural"
    allowed_backends: tuple[str, ...] = ()
    backend_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    default_size: str = "1024x1024"
    max_images: int = 4
    timeout: float = 300.0
    max_attempts: int = 3
    # Seconds a claimed job stays its worker's after the worker last renewed it (every third of this
    # while the job runs); then (the worker died) another worker takes it over.
    lease: float = 120.0

    def check_backend(self, name: str | None) -> str:
        """The backend to use for a request naming ``name`` (or none)."""
        chosen = name or self.default_backend
        if chosen != self.default_backend and chosen not in self.allowed_backends:
            allowed = ", ".join([self.default_backend, *self.allowed_backends])
            raise UnknownBackendError(f"backend {chosen!r} is not offered here (choose from: {allowed})")
        return chosen


@dataclass(frozen=True)
class JobSpec:
    """What a caller asks to generate."""

    prompt: str
    negative_prompt: str = ""
    size: str | None = None
    count: int = 1
    seed: int | None = None
    backend: str | None = None
    strength: float | None = None
    parent_status_id: int | None = None
    parent_ap_id: str | None = None


async def jobs_in_last_hour(
    session: AsyncSession, *, requester_id: int | None = None, domain: str | None = None
) -> int:
    """Jobs asked for in the last rolling hour by one requester, or from one remote domain."""
    query = select(func.count(GenerationJob.id)).where(GenerationJob.created_at > utcnow() - HOUR)
    if requester_id is not None:
        query = query.where(GenerationJob.requester_id == requester_id)
    if domain is not None:
        query = query.where(GenerationJob.requester_domain == domain)
    return int(await session.scalar(query) or 0)


async def check_quota(session: AsyncSession, requester_id: int, per_hour: int, what: str = "you") -> None:
    """Raise QuotaExceededError once ``requester_id`` asked for ``per_hour`` jobs (0: no limit)."""
    if per_hour > 0 and await jobs_in_last_hour(session, requester_id=requester_id) >= per_hour:
        raise QuotaExceededError(f"{what} made {per_hour} images in the last hour; try again later")


async def submit(
    session: AsyncSession,
    settings: JobSettings,
    spec: JobSpec,
    *,
    account_id: int,
    requester_id: int | None = None,
    requester_domain: str | None = None,
    purpose: str = "images",
    post: Mapping[str, Any] | None = None,
    idempotency_key: str | None = None,
) -> GenerationJob:
    """Validate ``spec`` and queue a job (caller checks prompt rules and quotas first, and commits)."""
    if purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {', '.join(PURPOSES)}")
    width, height = parse_size(spec.size or settings.default_size)
    if not 1 <= spec.count <= settings.max_images:
        raise ValueError(f"count must be between 1 and {settings.max_images}")
    if spec.seed is not None and not 0 <= spec.seed < 2**63:
        raise ValueError("seed must be a non-negative integer")
    job = GenerationJob(
        account_id=account_id,
        requester_id=requester_id if requester_id is not None else account_id,
        requester_domain=requester_domain,
        purpose=purpose,
        prompt=spec.prompt,
        negative_prompt=spec.negative_prompt,
        backend=settings.check_backend(spec.backend),
        width=width,
        height=height,
        count=spec.count,
        # Fixed now, so a job re-run after a crash makes the same images.
        seed=spec.seed if spec.seed is not None else secrets.randbelow(2**32),
        strength=spec.strength,
        parent_status_id=spec.parent_status_id,
        parent_ap_id=spec.parent_ap_id,
        post=dict(post or {}),
        idempotency_key=idempotency_key,
    )
    session.add(job)
    await session.flush()
    return job


async def cancel(session: AsyncSession, job: GenerationJob) -> bool:
    """Cancel a queued or running job (a running one stops at its next progress report)."""
    if job.state in (queue.DONE, queue.FAILED, queue.CANCELLED):
        return False
    job.state = queue.CANCELLED
    job.locked_until = None
    job.finished_at = utcnow()
    return True


class JobHooks(Protocol):
    """What the composition root does around a job: the remix source image and the job's purpose."""

    async def init_image(self, job: GenerationJob) -> bytes | None:
        """Encoded bytes to start image-to-image from (a remix's parent), or None."""
        ...

    async def check_images(self, job: GenerationJob, result: GenerationResult) -> list[dict[str, Any]] | None:
        """Outside any transaction, before the images are stored: what to add to each image's ``meta``
        (None: nothing); raises GenerationError to refuse them, a transient BackendError to hold them."""
        ...

    async def on_done(self, session: AsyncSession, job: GenerationJob, media: list[MediaAttachment]) -> None:
        """Inside the job's final transaction: post, reply, or nothing."""
        ...

    async def on_failed(self, session: AsyncSession, job: GenerationJob, reason: str) -> None:
        """Inside the transaction that marks the job failed for good."""
        ...


class NoHooks:
    """Hooks for plain image jobs: no init image, nothing to post."""

    async def init_image(self, job: GenerationJob) -> bytes | None:
        return None

    async def check_images(self, job: GenerationJob, result: GenerationResult) -> list[dict[str, Any]] | None:
        return None

    async def on_done(self, session: AsyncSession, job: GenerationJob, media: list[MediaAttachment]) -> None:
        return None

    async def on_failed(self, session: AsyncSession, job: GenerationJob, reason: str) -> None:
        return None


def provenance(job: GenerationJob, result: GenerationResult, seed: int | None) -> dict[str, Any]:
    """The provenance recorded on each generated image (and published on its Note)."""
    record: dict[str, Any] = {
        "prompt": job.prompt,
        "negative_prompt": job.negative_prompt,
        "backend": result.backend or job.backend,
        "model": result.model,
        "seed": seed,
        "width": job.width,
        "height": job.height,
    }
    if job.parent_ap_id:
        record["parent"] = job.parent_ap_id
    if isinstance(result.extra.get("scene"), dict):
        record["scene"] = result.extra["scene"]  # what the procedural backend read from the prompt
    return record


def alt_text(job: GenerationJob, position: int) -> str:
    """Alt text of a job's image: the one given for it, else the prompt (unless kept private)."""
    given = job.post.get("alt")
    if isinstance(given, list) and position < len(given):
        text = given[position]
        if isinstance(text, str) and text.strip():
            return text.strip()
    if job.post.get("private_prompt"):
        return "An AI-generated image."
    return job.prompt


class JobRunner:
    """Claims due generation jobs and runs them on their backends."""

    def __init__(
        self,
        sessions: SessionFactory,
        settings: JobSettings,
        http: httpx.AsyncClient,
        media: MediaContext,
        hooks: JobHooks | None = None,
        backend_factory: Callable[[str, Mapping[str, Any], httpx.AsyncClient], Backend] = create_backend,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.http = http
        self.media = media
        self.hooks: JobHooks = hooks or NoHooks()
        self._factory = backend_factory
        self._backends: dict[str, Backend] = {}
        self._slots: dict[str, asyncio.Semaphore] = {}

    def backend(self, name: str) -> Backend:
        """The backend named ``name``, built on first use (so unused ones never load)."""
        if name not in self._backends:
            backend = self._factory(name, self.settings.backend_options.get(name, {}), self.http)
            self._backends[name] = backend
            self._slots[name] = asyncio.Semaphore(max(1, backend.concurrency))
        return self._backends[name]

    async def aclose(self) -> None:
        """Close every backend that was built."""
        for backend in self._backends.values():
            await backend.aclose()
        self._backends.clear()

    async def run_once(self, limit: int = 4) -> int:
        """Claim up to ``limit`` due jobs and run them concurrently; returns how many were claimed."""
        lease = timedelta(seconds=self.settings.lease)
        async with self.sessions() as session, session.begin():
            columns = (GenerationJob.id, GenerationJob.attempts)
            rows = await queue.claim(session, GenerationJob, limit=limit, lease=lease, columns=columns)
            claimed = [(job_id, attempts) for job_id, attempts in rows]
        if claimed:
            async with queue.held(self.sessions, GenerationJob, dict(claimed), lease):
                await asyncio.gather(*(self.run_job(job_id, attempt) for job_id, attempt in claimed))
        return len(claimed)

    async def run_job(self, job_id: int, attempt: int | None = None) -> None:
        """Run one claimed job to its end: done, retried, failed or cancelled.

        ``attempt`` is the job's attempt count when this worker claimed it: its result is recorded only
        if nobody claimed the job since (its lease ran out and another worker took it over).
        """
        async with self.sessions() as session:
            job = await session.get(GenerationJob, job_id)
            if job is None or not _still_ours(job, attempt):
                return
            session.expunge(job)
            attempt = job.attempts
        try:
            backend = self.backend(job.backend)
            async with self._slots[job.backend]:
                result = await self._generate(job, backend)
            extra_meta = await self.hooks.check_images(job, result)
            await self._finish(job_id, result, extra_meta, attempt)
        except JobCancelledError:
            log.info("generation job %s was cancelled", job_id)
        except BackendError as exc:
            await self._failed(job_id, f"{exc}", transient=exc.transient, attempt=attempt)
        except MediaStoreUnavailable as exc:  # the media store is down, not the job's fault: later
            await self._failed(job_id, f"{exc}", transient=True, attempt=attempt)
        except (GenerationError, MediaError, ValueError) as exc:
            await self._failed(job_id, f"{exc}", transient=False, attempt=attempt)
        except Exception as exc:  # a backend bug must not stop the worker
            log.exception("generation job %s crashed", job_id)
            await self._failed(
                job_id, f"internal error: {type(exc).__name__}", transient=False, attempt=attempt
            )

    async def _generate(self, job: GenerationJob, backend: Backend) -> GenerationResult:
        init_image = None
        if job.parent_status_id is not None or job.parent_ap_id:
            init_image = await self.hooks.init_image(job) if backend.supports_img2img else None
        request = GenerationRequest(
            prompt=job.prompt,
            negative_prompt=job.negative_prompt,
            width=job.width,
            height=job.height,
            seed=job.seed,
            count=job.count,
            init_image=init_image,
            strength=job.strength if job.strength is not None else 0.65,
        )
        reporter = _ProgressReporter(self.sessions, job.id)
        try:
            async with asyncio.timeout(self.settings.timeout):
                await reporter(0)
                result = await backend.generate(request, reporter)
        except TimeoutError:
            raise BackendTimeoutError(f"the backend took over {self.settings.timeout:g} s") from None
        if not result.images:
            raise BackendError("the backend returned no image")
        return result

    async def _finish(
        self, job_id: int, result: GenerationResult, extra_meta: list[dict[str, Any]] | None = None,
        attempt: int | None = None,
    ) -> None:  # fmt: skip
        # The images go through the pipeline and into the store before the transaction opens: a slow
        # store (an S3 bucket) must not hold the database's write lock. Kept images a dropped result
        # leaves unreferenced are swept by `fedigen media prune`.
        async with self.sessions() as session:
            count = (await session.scalar(select(GenerationJob.count).where(GenerationJob.id == job_id))) or 0
        stored = [
            await store_image(self.media, image.data, ai_generated=True) for image in result.images[:count]
        ]
        async with self.sessions() as session, session.begin():
            # Locked (PostgreSQL): two workers finishing the same job one after the other, the second
            # sees it done. Cancelled, or taken over by another worker: store nothing.
            job = await session.get(GenerationJob, job_id, with_for_update=True)
            if job is None or not _still_ours(job, attempt):
                log.info("generation job %s is no longer this worker's: its result is dropped", job_id)
                return
            rows = []
            for position, (image, kept) in enumerate(zip(result.images, stored, strict=False)):
                seed = image.seed if image.seed is not None else job.seed
                rows.append(
                    await add_attachment(
                        session, kept, account_id=job.account_id,
                        description=alt_text(job, position),
                        ai_generated=True, generation=provenance(job, result, seed),
                        job_id=job.id, position=position,
                    )
                )  # fmt: skip
                if extra_meta and position < len(extra_meta) and extra_meta[position]:
                    rows[-1].meta = {**rows[-1].meta, **extra_meta[position]}
            job.model = result.model or None
            job.progress = 100
            await self.hooks.on_done(session, job, rows)
            queue.mark_done(job)

    async def _failed(
        self, job_id: int, message: str, *, transient: bool, attempt: int | None = None
    ) -> None:
        async with self.sessions() as session, session.begin():
            job = await session.get(GenerationJob, job_id, with_for_update=True)
            if job is None or not _still_ours(job, attempt):
                return
            if transient and job.attempts < self.settings.max_attempts:
                queue.mark_retry(job, utcnow() + backoff(job.attempts), message)
                log.info("generation job %s will be retried: %s", job_id, message)
                return
            queue.mark_failed(job, message)
            log.info("generation job %s failed: %s", job_id, message)
            await self.hooks.on_failed(session, job, message)


def _still_ours(job: GenerationJob, attempt: int | None) -> bool:
    """The job is running under the claim that counted ``attempt`` (any claim when None)."""
    return job.state == queue.RUNNING and (attempt is None or job.attempts == attempt)


class _ProgressReporter:
    """Records progress on the job row (at most every half second) and notices cancellation."""

    def __init__(self, sessions: SessionFactory, job_id: int) -> None:
        self.sessions = sessions
        self.job_id = job_id
        self.last_percent = -1
        self.last_at = 0.0

    async def __call__(self, percent: int) -> None:
        percent = max(0, min(100, int(percent)))
        now = time.monotonic()
        if percent == self.last_percent or (now - self.last_at < 0.5 and percent < 100):
            return
        self.last_percent, self.last_at = percent, now
        async with self.sessions() as session, session.begin():
            job = await session.get(GenerationJob, self.job_id)
            if job is None or job.state == queue.CANCELLED:
                raise JobCancelledError(f"job {self.job_id} was cancelled")
            job.progress = max(job.progress, min(percent, 99))
