"""Image work (drawing, decoding, resizing, blurhash) in a small pool of processes of its own.

Pillow holds Python's global interpreter lock through much of its work, and blurhash is pure Python, so
image work in a thread of the process that serves requests stalls its event loop: measured on the
development machine (2 cores), drawing one procedural picture in a thread stalled the loop for up to
32 ms at a time (p99 of 1 ms ticks: 9 ms), and processing the result (variants, blurhash) for up to
14 ms. A home timeline read while a job ran took those stalls on top of its own time.

So :func:`run` sends such work to child processes (``[media] image_processes``, 2 by default; 0 = a
thread of this process, as before), which:

- are started on first use (``spawn``: nothing of this process's threads or connections is copied),
  so an idle server has none, and stop after ``IDLE_SECONDS`` without work, giving their memory back;
- lower their CPU priority to at least ``NICENESS``, so the processes answering requests get the CPU
  first;
- are replaced when one dies (killed, out of memory): the call that was running in it fails with
  :class:`OffloadError` (its job is retried as any failed job is), the next call starts a new pool;
- end themselves within a second of the process that started them ending without closing the pool
  (killed): a pool's children hold both ends of its call pipe, so they would never see it close, and
  would wait forever (:func:`watch_parent`).

Functions and arguments cross to the children by pickling: module-level functions, plain data.
Exceptions raised there are raised here as themselves.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import ParamSpec, TypeVar

from storage import StorageError

P = ParamSpec("P")
T = TypeVar("T")

IDLE_SECONDS = 60.0
NICENESS = 10


class OffloadError(StorageError):
    """The process doing the work died before it finished (the work may be tried again)."""


class _Pool:
    """The process-wide pool: created on first use, shut down when idle."""

    def __init__(self) -> None:
        self.processes = 2
        self.idle_seconds = IDLE_SECONDS
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._busy = 0
        self._last_done = 0.0

    def configure(self, processes: int, idle_seconds: float = IDLE_SECONDS) -> None:
        with self._lock:
            if (processes, idle_seconds) == (self.processes, self.idle_seconds):
                return
            self.processes, self.idle_seconds = processes, idle_seconds
            self._drop()  # a different size: the next call starts a pool of the new size

    def submit(
        self, fn: Callable[..., T], *args: object, **kwargs: object
    ) -> tuple[asyncio.Future[T], ProcessPoolExecutor]:
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    self.processes,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_child_start,
                    initargs=(os.getpid(),),
                )
            executor = self._executor
            self._busy += 1
        try:
            return asyncio.wrap_future(executor.submit(fn, *args, **kwargs)), executor
        except BaseException:
            self.done(executor, broken=True)
            raise

    def done(self, executor: ProcessPoolExecutor | None, *, broken: bool = False) -> None:
        with self._lock:
            self._busy -= 1
            self._last_done = time.monotonic()
            if broken and executor is self._executor:
                self._drop()
            elif self._busy == 0 and self._executor is not None:
                timer = threading.Timer(self.idle_seconds, self._stop_if_idle)
                timer.daemon = True
                timer.start()

    def executor(self) -> ProcessPoolExecutor | None:
        return self._executor

    def _stop_if_idle(self) -> None:
        with self._lock:
            if self._busy == 0 and time.monotonic() - self._last_done >= self.idle_seconds - 0.01:
                self._drop()

    def _drop(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def shutdown(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)


_POOL = _Pool()


def configure(processes: int, idle_seconds: float = IDLE_SECONDS) -> None:
    """Set the number of image processes (``[media] image_processes``; 0: threads of this process)."""
    if processes < 0:
        raise ValueError("processes must not be negative")
    _POOL.configure(processes, idle_seconds)


async def run(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``fn(*args, **kwargs)`` in an image process (or a thread, with no processes configured)."""
    if _POOL.processes == 0:
        return await asyncio.to_thread(fn, *args, **kwargs)
    future, executor = _POOL.submit(fn, *args, **kwargs)
    try:
        result = await future
    except BrokenProcessPool as exc:
        _POOL.done(executor, broken=True)
        raise OffloadError(f"the image process running {fn.__name__} stopped: {exc}") from exc
    except BaseException:
        _POOL.done(executor)
        raise
    _POOL.done(executor)
    return result


def running_processes() -> list[int]:
    """The process ids of the pool's children now (none while it is idle)."""
    executor = _POOL.executor()
    processes = getattr(executor, "_processes", None) or {}
    return [p.pid for p in processes.values() if p.pid is not None and p.is_alive()]


def shutdown() -> None:
    """Stop the pool now, waiting for work under way (it starts again on the next call)."""
    _POOL.shutdown()


def lower_priority(niceness: int) -> None:
    """Lower this process's CPU priority to ``niceness`` (never raises it, which would need privileges).
    Its threads and the processes it starts inherit it. Where the system has no niceness (Windows),
    nothing."""
    if hasattr(os, "getpriority"):
        current = os.getpriority(os.PRIO_PROCESS, 0)
        if niceness > current:
            os.nice(niceness - current)


def watch_parent(parent: int) -> None:
    """In a pool's child process: end it when ``parent`` (the process that started it) is gone, killed
    without closing its pool. Checked every second by a daemon thread."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _child_start(parent: int) -> None:
    lower_priority(NICENESS)
    watch_parent(parent)
