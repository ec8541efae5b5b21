"""storage.offload: image work in processes of its own, started on first use, stopped when idle."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

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


def test_image_processes_end_when_the_process_that_started_them_is_killed() -> None:
    """A worker killed mid-run (SIGKILL, the OOM killer) never closes its pool: its image processes must
    not live on as orphans (they hold both ends of the pool's call pipe, so they never see it close)."""
    parent = subprocess.Popen(
        [sys.executable, "-c", _STARTS_AN_IMAGE_PROCESS], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
        text=True, cwd=Path(__file__).parents[2],
    )  # fmt: skip
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        os.kill(child, 0)  # running
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 15
    while _alive(child):
        assert time.monotonic() < deadline, "the image process outlived the process that started it"
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (an ended process nobody reaped yet, a zombie, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


# Starts an image process, prints its pid, then waits to be killed.
_STARTS_AN_IMAGE_PROCESS = """
import asyncio, sys, time
from storage import offload
from tests.support.offload_work import whoami
if __name__ == "__main__":
    offload.configure(1)
    print(asyncio.run(offload.run(whoami))[0], flush=True)
    time.sleep(600)
"""
