"""The signing pool: deliveries signed in worker processes verify as signatures made in place, each worker
parses a key once (the PEM crosses to a process only the first time), and the pool starts lazily."""

from __future__ import annotations

import asyncio
import os
import signal
from concurrent.futures import Executor, Future
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from activitypub.signatures import PublicKey, verify_request
from activitypub.signing import DRAFT_CAVAGE, RFC9421, SignatureAuth, SigningKey, generate_rsa_keypair
from activitypub.signing_pool import SigningPool

INBOX = "http://127.0.0.1:8000/users/alice/inbox"
AS2 = "application/activity+json"


class RecordingExecutor(Executor):
    """Passes every call on to a real executor and keeps the batches each carried."""

    def __init__(self, inner: Executor) -> None:
        self.inner = inner
        self.batches: list[tuple[dict[str, str], list[tuple[Any, ...]]]] = []

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.batches.append((dict(args[0]), list(args[1])))
        return self.inner.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.inner.shutdown(wait, cancel_futures=cancel_futures)


def keys(n: int) -> list[tuple[SigningKey, str]]:
    made = [generate_rsa_keypair() for _ in range(n)]
    return [(SigningKey(f"https://a.example/users/u{i}#main-key", private), public)
            for i, (private, public) in enumerate(made)]  # fmt: skip


async def check(headers: dict[str, str], key: SigningKey, public_pem: str, body: bytes, scheme: str) -> None:
    async def lookup(key_id: str, refresh: bool) -> PublicKey:
        assert key_id == key.key_id
        return PublicKey(key_id=key_id, owner=key_id.split("#")[0], pem=public_pem)

    verified = await verify_request(
        method="POST", url=INBOX, headers=httpx.Headers(headers), body=body, key_lookup=lookup,
        clock_window=timedelta(minutes=5), now=datetime.now(UTC),
    )  # fmt: skip
    assert verified.key_id == key.key_id and verified.scheme == scheme


async def test_process_pool_signs_verifiably_and_sends_each_pem_at_most_once_per_worker() -> None:
    pool = SigningPool(workers=2, kind="process")
    assert not pool.started  # lazily: nothing runs before the first signature
    recorder: RecordingExecutor | None = None
    real_pool = pool._pool

    def recording_pool() -> Executor:
        nonlocal recorder
        inner = real_pool()
        if recorder is None or recorder.inner is not inner:
            recorder = RecordingExecutor(inner)
        return recorder

    pool._pool = recording_pool  # type: ignore[method-assign]
    signers = keys(2)
    calls = [(signers[i % 2], f'{{"id": "https://a.example/activities/{i}"}}'.encode(), scheme)
             for i in range(30) for scheme in (DRAFT_CAVAGE, RFC9421)]  # fmt: skip
    try:
        signed = await asyncio.gather(*(
            pool.sign(key, scheme, method="POST", url=INBOX, body=body, content_type=AS2)
            for (key, _), body, scheme in calls
        ))  # fmt: skip
        assert pool.started
        for ((key, public_pem), body, scheme), headers in zip(calls, signed, strict=True):
            await check(headers, key, public_pem, body, scheme)
        assert recorder is not None
        sent = [call for _, batch in recorder.batches for call in batch]
        pems_sent = [pem for pems, _ in recorder.batches for pem in pems.values()]
        # Calls carry a handle, never a key; each key's PEM crossed to the workers a few times at most (once
        # per worker, and again only for a worker that missed it), not once per call.
        assert all(key.private_key_pem not in repr(call) for call in sent for (key, _) in signers)
        assert {pem for pem in pems_sent} == {key.private_key_pem for key, _ in signers}
        assert len(pems_sent) <= 2 * 2 * len(signers)  # two workers; a missed key is resent once
        assert len(sent) <= len(calls) * 1.5  # few calls were made twice (only those of a missed key)
        assert len(recorder.batches) < len(calls) / 4  # calls waiting for a busy worker leave together
        # A signing process killed: the calls it had are signed in place, and the pool starts again.
        assert recorder is not None
        first = recorder.inner
        os.kill(next(iter(getattr(first, "_processes", {}))), signal.SIGKILL)
        async with asyncio.timeout(10):
            while not getattr(first, "_broken", False):  # noqa: ASYNC110 - the executor's own thread notices
                await asyncio.sleep(0.01)
        ((key, public_pem),) = signers[:1]
        for _ in range(3):
            again = await asyncio.gather(*(
                pool.sign(key, DRAFT_CAVAGE, method="POST", url=INBOX, body=b"{}", content_type=AS2)
                for _ in range(8)
            ))  # fmt: skip
            for headers in again:
                await check(headers, key, public_pem, b"{}", DRAFT_CAVAGE)
        assert recorder.inner is not first and pool.started  # a new pool signs now
        calls_before = len(recorder.batches)
        await pool.sign(key, RFC9421, method="POST", url=INBOX, body=b"{}", content_type=AS2)
        assert len(recorder.batches) > calls_before
    finally:
        await pool.aclose()
    assert not pool.started


async def test_signature_auth_with_a_pool_signs_what_httpx_sends() -> None:
    ((key, public_pem),) = keys(1)
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202)

    body = b'{"type": "Create"}'
    for kind in ("thread", "inline"):
        pool = SigningPool(workers=1, kind=kind)
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
            for scheme in (DRAFT_CAVAGE, RFC9421):
                auth = SignatureAuth(key, pool=pool).using(scheme)
                response = await client.post(INBOX, content=body, headers={"content-type": AS2}, auth=auth)
                assert response.status_code == 202
                await check(dict(seen[-1].headers), key, public_pem, body, scheme)
        await pool.aclose()


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="signing pool kind"):
        SigningPool(kind="gpu")
