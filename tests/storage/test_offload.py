"""storage.offload: image work in processes of its own, started on first use, stopped when idle."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator

import pytest

from storage import UnsupportedMediaError, offload
from storage.images import process_image_async
from tests.generation.standins import png
from tests.support.offload_work import die, whoami

pytestmark = pytest.mark.skipif(not hasattr(os, "getpriority"), reason="no process niceness here")


@pytest.fixture
def pool() -> Iterator[None]:
    offload.configure(1)
    yield
    offload.shutdown()
    offload.configure(2)


def test_work_runs_in_a_lower_priority_process_and_errors_come_back_as_themselves(pool: None) -> None:
    async def main() -> None:
        pid, niceness = await offload.run(whoami)
        assert pid != os.getpid() and pid in offload.running_processes()
        assert niceness == max(offload.NICENESS, os.getpriority(os.PRIO_PROCESS, 0))
        assert (await offload.run(whoami))[0] == pid  # the same process, kept for the next piece of work
        processed = await process_image_async(png(64, 48))
        assert processed.original.width == 64 and processed.blurhash
        with pytest.raises(UnsupportedMediaError):
            await process_image_async(b"not an image at all")

    asyncio.run(main())


def test_a_process_that_dies_fails_its_work_and_the_next_call_gets_a_new_one(pool: None) -> None:
    async def main() -> None:
        first, _ = await offload.run(whoami)
        with pytest.raises(offload.OffloadError, match="die"):
            await offload.run(die)
        second, _ = await offload.run(whoami)
        assert second != first and second in offload.running_processes()

    asyncio.run(main())


def test_idle_processes_stop_and_start_again_on_the_next_call() -> None:
    offload.configure(1, idle_seconds=0.3)
    try:
        pid, _ = asyncio.run(offload.run(whoami))
        deadline = time.monotonic() + 30
        while offload.running_processes():
            assert time.monotonic() < deadline, "the idle image process was never stopped"
            time.sleep(0.05)
        with pytest.raises(ProcessLookupError):  # gone, not only forgotten
            for _ in range(200):
                os.kill(pid, 0)
                time.sleep(0.05)
        assert asyncio.run(offload.run(whoami))[0] != pid
    finally:
        offload.shutdown()
        offload.configure(2)


def test_no_processes_means_a_thread_of_this_process() -> None:
    offload.configure(0)
    try:
        assert asyncio.run(offload.run(whoami))[0] == os.getpid()
        assert offload.running_processes() == []
    finally:
        offload.configure(2)
