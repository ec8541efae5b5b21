"""Signing deliveries off the event loop: a pool of worker processes, each holding our keys loaded.

An RSA-2048 signature costs a fraction of a millisecond of CPU; a fan-out to thousands of inboxes
makes that the largest single cost after HTTP itself. Signed on the event loop, it also stalls every
other request the process serves. The pool moves it to ``workers`` processes (default: one per core).

Each worker process parses a key once and keeps it: a call carries a short handle of the key (a hash
of its PEM), never the PEM. A key's PEM goes with the first batches that use it (once per batch, in
as many batches as there are workers); a worker that still does not know it answers None for those
calls, which are sent again with the PEM. Parsing an RSA key costs about 70 ms, so a worker that had
to parse on every call would be far slower than signing in place.

Kinds (``[federation] signing_pool``):

- ``process`` (the default). Measured on the 2-core development machine with ``cryptography`` 50
  (load average 0.4): RSA-2048 PKCS#1 v1.5 signing ran at ~4,200/s on one thread and ~5,600/s on two,
  so the library releases the GIL for only part of the work and threads give about 1.35x, not 2x.
  Through the pools themselves (2,000 signatures, 32 at a time, busier machine): the event-loop
  process spent 0.28 ms of CPU per signature signing in place, 0.33 ms with a thread pool (the
  threads' own CPU is this process's, and they hold the GIL part of the time) and 0.12 ms with a
  process pool (hand-off only). In a fan-out the event-loop process is the limit (HTTP costs it
  more than signing does), so processes, which take the most off it, are the default;
  ``benchmarks/fanout.py --signing-pool`` compares the three end to end.
- ``thread``: the same in threads of this process (no process start; less parallelism).
- ``inline``: sign on the event loop, as requests were signed before the pool existed.

The pool starts on first use and is closed with the deliverer that owns it; a worker process that
dies breaks the pool, which is then built again on the next call (that call is signed in place).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import multiprocessing
import os
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from activitypub.signing import SigningKey, load_private_key, sign_with_key
from storage.offload import watch_parent

log = logging.getLogger(__name__)

PROCESS = "process"
THREAD = "thread"
INLINE = "inline"
KINDS = (PROCESS, THREAD, INLINE)
#: Most calls one batch to a worker process carries.
MAX_BATCH = 64

# In each worker process: key handle -> the parsed key.
_KEYS: dict[str, object] = {}


def key_handle(pem: str) -> str:
    """A short name for a private key that says nothing about it (what a call carries instead of the PEM)."""
    return hashlib.sha256(pem.encode("ascii")).hexdigest()[:32]


_Call = tuple[str, str, str, str, str, "bytes | None", "str | None"]  # handle, scheme, keyId, request


def _sign_batch(pems: dict[str, str], calls: list[_Call]) -> list[dict[str, str] | None]:
    """Runs in a worker process: sign each call with the key of its handle, parsing a PEM of ``pems`` the
    first time a handle is seen only; None for a call whose key this process was never given."""
    for handle, pem in pems.items():
        if handle not in _KEYS:
            _KEYS[handle] = load_private_key(pem)
    signed: list[dict[str, str] | None] = []
    for handle, scheme, key_id, method, url, body, content_type in calls:
        key = _KEYS.get(handle)
        signed.append(
            None if key is None else sign_with_key(
                scheme, method=method, url=url, key_id=key_id, private_key=key,  # type: ignore[arg-type]
                body=body, content_type=content_type,
            )
        )  # fmt: skip
    return signed


def _sign_here(
    key: SigningKey, scheme: str, method: str, url: str, body: bytes | None, content_type: str | None
) -> dict[str, str]:
    return sign_with_key(
        scheme, method=method, url=url, key_id=key.key_id, private_key=load_private_key(key.private_key_pem),
        body=body, content_type=content_type,
    )  # fmt: skip


class SigningPool:
    """Signs requests in ``workers`` processes (or threads); see the module's documentation.

    Calls to processes go in batches: at most one batch per worker is out at a time, and the calls that
    arrive meanwhile wait and leave together as the next batch, so the hand-off cost is paid per batch
    when the pool is busy and per call only when it is not.
    """

    def __init__(self, *, workers: int = 0, kind: str = PROCESS) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown signing pool kind {kind!r}: one of {', '.join(KINDS)}")
        self.kind = kind
        self.workers = workers if workers > 0 else (os.cpu_count() or 1)
        self._executor: Executor | None = None
        self._handles: dict[str, str] = {}
        self._pem_sent: dict[str, int] = {}  # handle -> batches that carried its PEM
        self._waiting: list[tuple[_Call, SigningKey, asyncio.Future[dict[str, str]]]] = []
        self._out = 0  # batches sent and not answered
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def started(self) -> bool:
        """Whether worker processes or threads are running."""
        return self._executor is not None

    def _pool(self) -> Executor:
        if self._executor is None:
            if self.kind == PROCESS:
                # spawn, not fork: this process runs threads (the database driver's, the resolver's), and
                # a forked child could inherit a lock one of them held.
                self._executor = ProcessPoolExecutor(
                    max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                    initializer=watch_parent, initargs=(os.getpid(),),
                )  # fmt: skip
            else:
                self._executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="signing")
            log.info("signing pool started: %d %s worker(s)", self.workers, self.kind)
        return self._executor

    async def sign(
        self, key: SigningKey, scheme: str, *, method: str, url: str, body: bytes | None,
        content_type: str | None,
    ) -> dict[str, str]:  # fmt: skip
        """The signing headers of one request, made by a worker (or in place for ``inline``)."""
        if self.kind == INLINE:
            return _sign_here(key, scheme, method, url, body, content_type)
        loop = asyncio.get_running_loop()
        if self.kind == THREAD:
            here = functools.partial(_sign_here, key, scheme, method, url, body, content_type)
            return await loop.run_in_executor(self._pool(), here)
        handle = self._handles.get(key.private_key_pem)
        if handle is None:
            handle = self._handles[key.private_key_pem] = key_handle(key.private_key_pem)
        future: asyncio.Future[dict[str, str]] = loop.create_future()
        call: _Call = (handle, scheme, key.key_id, method, url, body, content_type)
        self._waiting.append((call, key, future))
        self._send()
        return await future

    def _send(self) -> None:
        """Send what waits, in up to one batch per idle worker."""
        while self._waiting and self._out < self.workers:
            size = min(MAX_BATCH, -(-len(self._waiting) // (self.workers - self._out)))
            batch, self._waiting = self._waiting[:size], self._waiting[size:]
            self._out += 1
            task = asyncio.get_running_loop().create_task(self._run(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, batch: list[tuple[_Call, SigningKey, asyncio.Future[dict[str, str]]]]) -> None:
        loop = asyncio.get_running_loop()
        executor = self._pool()
        current = self._executor  # what a broken pool is told apart by (the same as executor)
        try:
            # A key's PEM rides along (once per batch) until as many batches as there are workers carried
            # it; after that only a worker that answers None for it gets it again.
            pems: dict[str, str] = {}
            for call, key, _ in batch:
                if call[0] not in pems and self._pem_sent.get(call[0], 0) < self.workers:
                    pems[call[0]] = key.private_key_pem
                    self._pem_sent[call[0]] = self._pem_sent.get(call[0], 0) + 1
            calls = [call for call, _, _ in batch]
            signed = await loop.run_in_executor(executor, _sign_batch, pems, calls)
            missing = [i for i, headers in enumerate(signed) if headers is None]
            if missing:  # a worker new to a key: the same calls with the PEMs, parsed there once
                again = [calls[i] for i in missing]
                pems = {batch[i][0][0]: batch[i][1].private_key_pem for i in missing}
                answers = await loop.run_in_executor(executor, _sign_batch, pems, again)
                for i, headers in zip(missing, answers, strict=True):
                    signed[i] = headers
        except BrokenProcessPool:
            if current is not None and self._executor is current:  # not yet replaced for another batch
                log.warning("a signing process died: the pool starts again")
                self._executor = None
                self._pem_sent.clear()  # the new processes know no key
                current.shutdown(wait=False, cancel_futures=True)
            signed = [_sign_here(key, call[1], *call[3:]) for call, key, _ in batch]
        except BaseException as exc:
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        finally:
            self._out -= 1
            self._send()
        for (_, _, future), headers in zip(batch, signed, strict=True):
            if not future.done():
                assert headers is not None
                future.set_result(headers)

    async def aclose(self) -> None:
        """Stop the workers (waiting for them in a thread, not on the event loop)."""
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, True, cancel_futures=True)
