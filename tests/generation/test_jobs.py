"""The job runner against backends that fail on purpose (unit tests: the backend is a fake, the
database and the media pipeline are real)."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import sqlite3
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from fedigen.social import accounts
from generation.backend import Backend, GeneratedImage, GenerationRequest, GenerationResult, ProgressCallback
from generation.errors import BackendError
from generation.jobs import JobRunner, JobSettings, JobSpec, cancel, submit
from storage import queue
from storage.models import GenerationJob, MediaAttachment
from tests.conftest import HostRouter, Instance, make_settings, start_instance


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 80, 40)).save(out, "PNG")
    return out.getvalue()


class FakeBackend:
    """Fails as told, then succeeds; counts calls and the most jobs it saw at once."""

    name = "fake"
    supports_img2img = False

    def __init__(self, failures: list[BaseException] | None = None, delay: float = 0.0, concurrency: int = 1):
        self.failures = list(failures or [])
        self.delay = delay
        self.concurrency = concurrency
        self.calls = 0
        self.running = 0
        self.most = 0

    async def generate(self, request: GenerationRequest, progress: ProgressCallback) -> GenerationResult:
        self.calls += 1
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await progress(50)
            await asyncio.sleep(self.delay)
            if self.failures:
                raise self.failures.pop(0)
            return GenerationResult(
                [GeneratedImage(png(), seed=request.seed)], backend="fake", model="fake-1"
            )
        finally:
            self.running -= 1

    async def aclose(self) -> None:
        return None


@pytest.fixture
async def inst(tmp_path: Path, backend: str, router: HostRouter) -> AsyncIterator[Instance]:
    async with start_instance(make_settings(tmp_path, backend), router) as instance:
        await instance.create_account("alice")
        yield instance


def make_runner(inst: Instance, fake: Backend, **settings: Any) -> JobRunner:
    def factory(name: str, options: Mapping[str, Any], http: httpx.AsyncClient) -> Backend:
        return fake

    job_settings = JobSettings(default_backend="fake", default_size="64x64", **settings)
    svc = inst.services
    return JobRunner(svc.sessions, job_settings, svc.backend_http, svc.media, backend_factory=factory)


async def queue_jobs(inst: Instance, runner: JobRunner, n: int = 1) -> list[int]:
    async with inst.services.sessions() as session, session.begin():
        alice = await accounts.get_local(session, "alice")
        jobs = [await submit(session, runner.settings, JobSpec(prompt=f"p{i}"), account_id=alice.id)
                for i in range(n)]  # fmt: skip
        return [j.id for j in jobs]


async def job(inst: Instance, job_id: int) -> GenerationJob:
    async with inst.services.sessions() as session:
        row = await session.get(GenerationJob, job_id)
    assert row is not None
    return row


async def test_transient_errors_are_retried_and_then_succeed(inst: Instance) -> None:
    fake = FakeBackend([BackendError("busy", transient=True)])
    runner = make_runner(inst, fake, max_attempts=3)
    [job_id] = await queue_jobs(inst, runner)
    await runner.run_once()
    failed_once = await job(inst, job_id)
    assert failed_once.state == queue.QUEUED and failed_once.last_error == "busy"
    assert failed_once.next_attempt_at > failed_once.created_at
    await runner.run_job(job_id)  # not claimed: nothing happens before its time
    assert fake.calls == 1
    async with inst.services.sessions() as session, session.begin():
        row = await session.get(GenerationJob, job_id)
        assert row is not None
        row.next_attempt_at = row.created_at  # its backoff has passed
    await runner.run_once()
    done = await job(inst, job_id)
    assert done.state == queue.DONE and done.attempts == 2 and done.model == "fake-1"


async def test_permanent_errors_fail_at_once_and_store_nothing(inst: Instance) -> None:
    fake = FakeBackend([BackendError("content policy", transient=False)])
    runner = make_runner(inst, fake)
    [job_id] = await queue_jobs(inst, runner)
    await runner.run_once()
    failed = await job(inst, job_id)
    assert failed.state == queue.FAILED and failed.last_error == "content policy" and fake.calls == 1
    async with inst.services.sessions() as session:
        assert await session.scalar(select(func.count(MediaAttachment.id))) == 0


async def test_attempts_run_out_and_a_timeout_counts_as_transient(inst: Instance) -> None:
    fake = FakeBackend(delay=5.0)
    runner = make_runner(inst, fake, timeout=0.2, max_attempts=1)
    [job_id] = await queue_jobs(inst, runner)
    await runner.run_once()
    failed = await job(inst, job_id)
    assert failed.state == queue.FAILED and "0.2 s" in (failed.last_error or "")


async def test_a_backend_runs_at_most_its_concurrency(inst: Instance) -> None:
    fake = FakeBackend(delay=0.1, concurrency=2)
    runner = make_runner(inst, fake)
    ids = await queue_jobs(inst, runner, 5)
    assert await runner.run_once(limit=5) == 5
    assert fake.most == 2
    assert [(await job(inst, i)).state for i in ids] == [queue.DONE] * 5


class SlowProgressBackend(FakeBackend):
    """Reports progress every few milliseconds for a while, as a real backend does."""

    async def generate(self, request: GenerationRequest, progress: ProgressCallback) -> GenerationResult:
        self.calls += 1
        for percent in range(0, 100, 4):
            await progress(percent)
            await asyncio.sleep(0.08)
        return GenerationResult([GeneratedImage(png(), seed=request.seed)], backend="fake")


async def test_a_running_job_cancelled_stops_at_its_next_report_and_stores_nothing(inst: Instance) -> None:
    fake = SlowProgressBackend()
    runner = make_runner(inst, fake)
    [job_id] = await queue_jobs(inst, runner)
    running = asyncio.create_task(runner.run_once())
    await asyncio.sleep(0.8)  # progress is written at most every half second
    async with inst.services.sessions() as session, session.begin():
        row = await session.get(GenerationJob, job_id)
        assert row is not None and row.state == queue.RUNNING and 0 < row.progress < 100
        assert await cancel(session, row)
    await running
    cancelled = await job(inst, job_id)
    assert cancelled.state == queue.CANCELLED
    async with inst.services.sessions() as session:
        assert await session.scalar(select(func.count(MediaAttachment.id))) == 0


class LockProbingStore:
    """The real media store, which on every write checks from another connection whether the job's row
    (PostgreSQL) or the database's write lock (SQLite) is free: a slow store must hold neither."""

    def __init__(self, inner: Any, inst: Instance, backend: str) -> None:
        self.inner, self.inst, self.backend = inner, inst, backend
        self.job_id = 0
        self.probes: list[bool] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def aput(self, data: bytes, ext: str) -> str:
        self.probes.append(await self._free())
        return str(await self.inner.aput(data, ext))

    async def _free(self) -> bool:
        if self.backend == "sqlite":
            path = str(self.inst.services.settings.database.url).split("///", 1)[1]
            probe = sqlite3.connect(path, timeout=0)
            try:
                probe.execute("BEGIN IMMEDIATE")
                probe.rollback()
                return True
            except sqlite3.OperationalError:
                return False
            finally:
                probe.close()
        async with self.inst.services.sessions() as session, session.begin():
            try:
                await session.get(GenerationJob, self.job_id, with_for_update={"nowait": True})
                return True
            except DBAPIError:
                return False


async def test_images_go_into_the_store_before_the_result_transaction_opens(
    inst: Instance, backend: str
) -> None:
    svc = inst.services
    probing = LockProbingStore(svc.media.store, inst, backend)
    runner = make_runner(inst, FakeBackend())
    runner.media = dataclasses.replace(svc.media, store=probing)
    [probing.job_id] = await queue_jobs(inst, runner)
    await runner.run_once()
    assert (await job(inst, probing.job_id)).state == queue.DONE
    assert probing.probes == [True, True, True]  # original, federation size and thumbnail, each lock-free
    async with svc.sessions() as session:
        assert await session.scalar(select(func.count(MediaAttachment.id))) == 1
