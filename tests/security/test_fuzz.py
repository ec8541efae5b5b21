"""A bounded fuzz run: mutated activities signed by a real remote actor to the inbox (and then worked
through by the worker), and mutated bodies to the client API. Nothing may answer 5xx and nothing may
log a traceback. ``benchmarks/fuzz.py`` runs the same with as many bodies as asked."""

from __future__ import annotations

import json
import logging
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.api.conftest import bearer, issue_token
from tests.conftest import HostRouter, Instance, make_settings, start_instance
from tests.remote_actor import RemoteActor
from tests.security.fuzzing import API_SEEDS, inbox_seeds, mutate, unique_ids

INBOX_BODIES = 1200
API_BODIES = 1000
SEED = 20261202


@pytest.fixture
async def target(tmp_path: Path, router: HostRouter) -> AsyncIterator[Instance]:
    """SQLite only: the run is about our code's answers, not the database's."""
    settings = make_settings(tmp_path, "sqlite", generation={"size": "64x64"})
    async with start_instance(settings, router) as inst:
        await inst.create_account("alice")
        yield inst


def query_value(value: object) -> str:
    """A fuzzed value as a query parameter (a URL carries bytes: a lone surrogate becomes U+FFFD)."""
    text = value if isinstance(value, str) else json.dumps(value)
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_mutated_activities_never_break_the_inbox_or_the_worker(
    target: Instance, bob: RemoteActor, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    rng = random.Random(SEED)
    alice = bearer(await issue_token(target, "alice"))
    await target.client.post("/api/v1/statuses", json={"status": "a post to react to"}, headers=alice)
    seeds = inbox_seeds(bob.ap_id, "http://fedigen.test/users/alice")
    statuses: dict[int, int] = {}
    for n in range(INBOX_BODIES):
        doc = unique_ids(mutate(rng.choice(seeds), rng, keep=("actor",)), bob.ap_id, n)
        body = (
            json.dumps(doc).encode()
            if rng.random() < 0.95
            else json.dumps(doc).encode()[: rng.randint(0, 50)]
        )
        response = await bob.post(target.client, "/inbox", body)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.status_code < 500, (doc, response.text)
        if n % 100 == 99:
            await target.drain(rounds=20)
    await target.drain(rounds=20)
    assert statuses.get(202, 0) > INBOX_BODIES // 4  # most got through to the worker
    assert tracebacks(caplog) == []


async def test_mutated_bodies_never_break_the_client_api(
    target: Instance, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    rng = random.Random(SEED + 1)
    alice = bearer(await issue_token(target, "alice"))
    for _ in range(API_BODIES):
        method, path, seed = rng.choice(API_SEEDS)
        doc = mutate(seed, rng)
        if method == "GET":
            params = {k: query_value(v) for k, v in doc.items()}
            response = await target.client.get(path, params=params, headers=alice)
        else:
            # Encoded as JSON text with escapes, as a client would send a lone surrogate.
            body = json.dumps(doc).encode()
            response = await target.client.request(
                method, path, content=body, headers={**alice, "Content-Type": "application/json"}
            )
        assert response.status_code < 500, (path, doc, response.text)
    await target.drain(rounds=20)
    assert tracebacks(caplog) == []
