"""CLI commands for posts and images: post (text or a prompt), generate, remix, jobs, lineage.

Commands that make images run the job in this process with a progress bar; when a running worker
claims it first, they follow its progress instead. Either way the job is a durable row.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import click
from sqlalchemy import select, update

from fedigen.cli.common import fail, with_services
from fedigen.languages import checked as checked_language
from fedigen.services import Services
from fedigen.social import accounts, generations, lookup, mentions, posts, remixes
from fedigen.social.jobs import runner
from generation.backend import GenerationRequest, no_progress, parse_size
from generation.jobs import JobSpec, cancel
from storage import queue
from storage.images import process_image_async
from storage.models import GenerationJob, Status, utcnow

VISIBILITY = click.Choice(["public", "unlisted", "followers", "direct"])
TERMINAL = (queue.DONE, queue.FAILED, queue.CANCELLED)


async def _claim(svc: Services, job_id: int) -> bool:
    """Take this one job for this process, unless a worker already has it."""
    lease = timedelta(seconds=svc.job_settings.timeout + 120)
    async with svc.sessions() as session, session.begin():
        result = await session.execute(
            update(GenerationJob)
            .where(GenerationJob.id == job_id, GenerationJob.state == queue.QUEUED)
            .values(state=queue.RUNNING, locked_until=utcnow() + lease, attempts=GenerationJob.attempts + 1)
            .returning(GenerationJob.id)
        )
        return result.scalar() is not None


async def follow_job(svc: Services, job_id: int) -> GenerationJob:
    """Run (or watch) a job to its end with a progress bar; returns the finished row."""
    jobs = runner(svc)
    task = asyncio.create_task(jobs.run_job(job_id)) if await _claim(svc, job_id) else None
    with click.progressbar(length=100, label="generating", show_eta=False) as bar:
        shown = 0
        while True:
            async with svc.sessions() as session:
                job = await session.get(GenerationJob, job_id)
            assert job is not None
            if job.progress > shown:
                bar.update(job.progress - shown)
                shown = job.progress
            if job.state in TERMINAL or (task is not None and task.done() and job.state == queue.QUEUED):
                break
            await asyncio.sleep(0.2)
        if task is not None:
            await task
    if job.state == queue.QUEUED:
        fail(f"job {job_id} hit a temporary error and will be retried by the worker: {job.last_error}")
    if job.state != queue.DONE:
        fail(f"job {job_id} {job.state}: {job.last_error or 'no reason given'}")
    return job


async def _job_status(svc: Services, job: GenerationJob) -> Status | None:
    async with svc.sessions() as session:
        return await session.get(Status, job.status_id) if job.status_id else None


@click.command()
@click.option("--as", "as_name", required=True, help="Local account to post as.")
@click.option("--visibility", type=VISIBILITY, default="public", show_default=True)
@click.option("--cw", default="", help="Content warning (also hides the images).")
@click.option("--sensitive", is_flag=True, help="Hide the images behind a warning.")
@click.option("--prompt", default=None, help="Generate the post's images from this prompt.")
@click.option("--negative", default="", help="What the images should not show (with --prompt).")
@click.option("--images", "count", type=click.IntRange(1, 4), default=1, show_default=True)
@click.option("--alt", multiple=True, help="Alt text, once per image (default: the prompt).")
@click.option("--size", default=None, help="WIDTHxHEIGHT (default from config).")
@click.option("--seed", type=int, default=None)
@click.option("--backend", default=None, help="Image backend (default from config).")
@click.option(
    "--private-prompt", is_flag=True, help="Label the images as AI-made but do not show the prompt."
)
@click.option(
    "--language", default=None, help="ISO 639-1 code (default: the account's, else the instance's)."
)
@click.argument("text", default="")
@with_services
async def post(
    svc: Services, as_name: str, visibility: str, cw: str, sensitive: bool, prompt: str | None, negative: str,
    count: int, alt: tuple[str, ...], size: str | None, seed: int | None, backend: str | None,
    private_prompt: bool, language: str | None, text: str,
) -> None:  # fmt: skip
    """Publish a post, with images generated from --prompt; the worker delivers it to followers."""
    language = checked_language("language", language)
    await mentions.learn_mentions(svc, text)
    if prompt is None:
        async with svc.sessions() as session, session.begin():
            author = await accounts.get_local(session, as_name)
            request = posts.PostRequest(
                text=text, visibility=visibility, summary=cw, sensitive=sensitive, language=language
            )
            status = await posts.create_post(svc, session, author, request)
        click.echo(f"{status.id}\t{status.url}")
        return
    options = generations.post_options(text, visibility=visibility, cw=cw, sensitive=sensitive, alt=list(alt),
                                   private_prompt=private_prompt, language=language)  # fmt: skip
    spec = JobSpec(
        prompt=prompt, negative_prompt=negative, size=size, count=count, seed=seed, backend=backend
    )
    async with svc.sessions() as session, session.begin():
        author = await accounts.get_local(session, as_name)
        job = await generations.request_generation(svc, session, author, spec, purpose="post", post=options)
    done = await follow_job(svc, job.id)
    posted = await _job_status(svc, done)
    click.echo(f"{posted.id}\t{posted.url}" if posted else f"job {done.id} done")


@click.command()
@click.option("--as", "as_name", required=True, help="Local account to post the remix as.")
@click.option("--visibility", type=VISIBILITY, default="public", show_default=True)
@click.option("--images", "count", type=click.IntRange(1, 4), default=1, show_default=True)
@click.option("--strength", type=click.FloatRange(0, 1), default=None, help="How far from the original.")
@click.option("--backend", default=None)
@click.option("--private-prompt", is_flag=True)
@click.option(
    "--language", default=None, help="ISO 639-1 code (default: the account's, else the instance's)."
)
@click.argument("target")
@click.argument("prompt")
@click.argument("text", default="")
@with_services
async def remix(
    svc: Services, as_name: str, visibility: str, count: int, strength: float | None, backend: str | None,
    private_prompt: bool, language: str | None, target: str, prompt: str, text: str,
) -> None:  # fmt: skip
    """Remix an image post (ours by id or URL, or any server's by URL) with a new prompt."""
    language = checked_language("language", language)
    found = await lookup.find_status(svc, target)
    await mentions.learn_mentions(svc, text)
    async with svc.sessions() as session, session.begin():
        author = await accounts.get_local(session, as_name)
        parent = await session.get(Status, found.id) or found
        options = generations.post_options(
            text, visibility=visibility, private_prompt=private_prompt, language=language
        )
        job = await generations.remix(svc, session, author, parent, prompt, post=options, count=count,
                                  backend=backend, strength=strength)  # fmt: skip
    done = await follow_job(svc, job.id)
    status = await _job_status(svc, done)
    click.echo(f"{status.id}\t{status.url}" if status else f"job {done.id} done")


@click.command()
@click.option("--seed", type=int, default=None)
@click.option("--size", default=None, help="WIDTHxHEIGHT (default from config).")
@click.option("--backend", default=None, help="Image backend (default from config).")
@click.option("--negative", default="")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default="image.png",
              show_default=True, help="File to write (image-2.png... for more images).")  # fmt: skip
@click.option("--images", "count", type=click.IntRange(1, 4), default=1)
@click.argument("prompt")
@with_services
async def generate(
    svc: Services, seed: int | None, size: str | None, backend: str | None, negative: str, output: str,
    count: int, prompt: str,
) -> None:  # fmt: skip
    """Make images from a prompt into files (nothing is posted), labelled as AI-generated."""
    prompt = await generations.check_prompt(svc, prompt, negative)
    width, height = parse_size(size or svc.job_settings.default_size)
    name = svc.job_settings.check_backend(backend)
    generator = runner(svc).backend(name)
    request = GenerationRequest(prompt=prompt, negative_prompt=negative, width=width, height=height,
                                seed=seed, count=count)  # fmt: skip
    with click.progressbar(length=100, label="generating", show_eta=False) as bar:
        state = {"shown": 0}

        async def progress(percent: int) -> None:
            if percent > state["shown"]:
                bar.update(percent - state["shown"])
                state["shown"] = percent

        result = await generator.generate(request, progress if count else no_progress)
        await progress(100)
    target = Path(output)
    for index, image in enumerate(result.images):
        processed = await process_image_async(image.data, svc.media.limits, ai_generated=True)
        path = target if index == 0 else target.with_name(f"{target.stem}-{index + 1}{target.suffix}")
        path = path.with_suffix(f".{processed.original.ext}") if path.suffix.lstrip(".") not in (
            processed.original.ext, "jpeg") else path  # fmt: skip
        path.write_bytes(processed.original.data)
        click.echo(f"{path}\t{processed.original.width}x{processed.original.height}\tseed {image.seed}")


@click.group()
def jobs() -> None:
    """Generation jobs: list them, cancel one."""


@jobs.command("list")
@click.option("--as", "as_name", default=None, help="Only this account's jobs.")
@click.option("--limit", type=int, default=20, show_default=True)
@with_services
async def jobs_list(svc: Services, as_name: str | None, limit: int) -> None:
    """The most recent jobs: id, state, progress, purpose and prompt."""
    async with svc.sessions() as session:
        query = select(GenerationJob).order_by(GenerationJob.id.desc()).limit(limit)
        if as_name:
            account = await accounts.get_local(session, as_name)
            query = query.where(GenerationJob.requester_id == account.id)
        rows = list(await session.scalars(query))
    for job in rows:
        error = f"\t{job.last_error}" if job.last_error else ""
        click.echo(f"{job.id}\t{job.state}\t{job.progress}%\t{job.purpose}\t{job.prompt[:60]}{error}")
    if not rows:
        click.echo("no jobs")


@jobs.command("cancel")
@click.argument("job_id", type=int)
@with_services
async def jobs_cancel(svc: Services, job_id: int) -> None:
    """Cancel a queued or running job."""
    async with svc.sessions() as session, session.begin():
        job = await session.get(GenerationJob, job_id)
        if job is None:
            fail(f"no job {job_id}")
        if not await cancel(session, job):
            fail(f"job {job_id} is already {job.state}")
    click.echo(f"job {job_id} cancelled")


@click.command()
@click.argument("target")
@with_services
async def lineage(svc: Services, target: str) -> None:
    """Where a post's image comes from (its remix parents) and what remixed it (its children)."""
    status = await lookup.find_status(svc, target)
    async with svc.sessions() as session:
        parents, children = await remixes.lineage(session, status)
    for ap_id in reversed(parents):
        click.echo(f"parent\t{ap_id}")
    click.echo(f"this\t{status.ap_id}")
    for ap_id in children:
        click.echo(f"child\t{ap_id}")


COMMANDS: list[click.Command] = [post, remix, generate, jobs, lineage]
