"""Fuzz the inbox and the client API with as many mutated bodies as you like (the suite runs a bounded
number in tests/security/test_fuzz.py).

    .venv/bin/python benchmarks/fuzz.py --bodies 20000 --seed 7

Mutated activities are signed by a real remote actor (so they pass the signature check and reach the
handlers) and then worked through by the worker; mutated JSON goes to the client API. The run fails
(exit 1) on any 5xx answer or any error logged, printing the body that caused it. It is not a speed
benchmark: it prints how many bodies it sent per second only to say how long a run will take.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from tests.api.conftest import bearer, issue_token  # noqa: E402
from tests.conftest import HostRouter, make_settings, start_instance  # noqa: E402
from tests.remote_actor import RemoteServer  # noqa: E402
from tests.security.fuzzing import API_SEEDS, inbox_seeds, mutate, unique_ids  # noqa: E402


class Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def run(bodies: int, seed: int) -> int:
    errors = Errors()
    logging.getLogger().addHandler(errors)
    rng = random.Random(seed)
    router = HostRouter()
    remote = RemoteServer("remote.test")
    router.add(remote.host, remote.app)
    bob = remote.add_actor("bob")
    with tempfile.TemporaryDirectory(prefix="fedigen-fuzz-") as tmp:
        settings = make_settings(Path(tmp), "sqlite", generation={"size": "64x64"})
        async with start_instance(settings, router) as inst:
            await inst.create_account("alice")
            alice = bearer(await issue_token(inst, "alice"))
            await inst.client.post("/api/v1/statuses", json={"status": "a post to react to"}, headers=alice)
            seeds = inbox_seeds(bob.ap_id, "http://fedigen.test/users/alice")
            started = time.perf_counter()
            for n in range(bodies):
                if rng.random() < 0.6:
                    doc = unique_ids(mutate(rng.choice(seeds), rng, keep=("actor",)), bob.ap_id, n)
                    response = await bob.post(inst.client, "/inbox", json.dumps(doc).encode())
                else:
                    method, path, base = rng.choice(API_SEEDS)
                    doc = mutate(base, rng)
                    body = json.dumps(doc).encode()
                    response = await inst.client.request(
                        "POST" if method == "GET" else method, path, content=body,
                        headers={**alice, "Content-Type": "application/json"},
                    )  # fmt: skip
                if response.status_code >= 500:
                    print(f"5xx for {json.dumps(doc)[:2000]}: {response.text[:500]}")
                    return 1
                if n % 200 == 199:
                    await inst.drain(rounds=20)
                    print(f"{n + 1} bodies, {(n + 1) / (time.perf_counter() - started):.0f}/s", flush=True)
            await inst.drain(rounds=20)
    if errors.records:
        for record in errors.records[:10]:
            print(f"logged: {record.getMessage()}")
        return 1
    print(f"{bodies} bodies, no 5xx, nothing logged as an error (seed {seed})")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bodies", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    return asyncio.run(run(args.bodies, args.seed))


if __name__ == "__main__":
    sys.exit(main())
