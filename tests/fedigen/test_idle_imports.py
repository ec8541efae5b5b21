"""What an idle server carries: the app built, its lifespan started with the worker running, one
discovery request served, and none of the heavy libraries that only some requests or jobs need is
imported (they load on first use; benchmarks/memory.py measures what each one costs in RSS).

The app runs in a fresh interpreter, since the test process itself has imported everything."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import make_settings, prepare_database

ROOT = Path(__file__).resolve().parents[2]

# Each of these loads only with the first request or job that needs it, not at start.
HEAVY = {
    "cryptography": "the first signature made or checked, or key made",
    "http_message_signatures": "the first RFC 9421 signature made or checked",
    "PIL": "the first image processed, placeholder or identicon drawn",
    "blurhash": "the first image processed or placeholder drawn",
    "jinja2": "the first HTML page rendered",
    "nh3": "the first HTML cleaned",
    "argon2": "the first password hashed or checked",
    "alembic": "`fedigen db migrate` (serve runs it in a child process)",
    "mako": "alembic's templates",
    "pyld": "the first Linked Data signature checked",
    "feedgen": "the first RSS or Atom feed",
    "lxml": "feedgen",
    "boto3": "the S3 media store only",
    "botocore": "the S3 media store only",
    "numpy": "generation backends only",
    "torch": "the diffusers backend only",
}

# As `fedigen serve` does after its migration child: the CLI and the app imported, the app built with
# its worker, the lifespan started; then the worker's loops get a moment to make their first passes.
IDLE_SERVER = """
import asyncio, json, sys

import httpx

import fedigen.cli  # noqa: F401 - `fedigen serve` runs from the CLI module
from fedigen.app import create_app
from fedigen.config import settings_from_mapping

async def main() -> None:
    settings = settings_from_mapping(json.loads(sys.argv[1]), {}, base_dir=sys.argv[2])
    app = create_app(settings, run_worker=True)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=settings.base_url) as client:
            response = await client.get("/.well-known/nodeinfo")
            assert response.status_code == 200, response.text
        await asyncio.sleep(1.0)
        await app.state.worker.run_once()
    print(json.dumps(sorted(sys.modules)))

asyncio.run(main())
"""


async def test_idle_server_imports_no_heavy_library(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "sqlite")
    await prepare_database(settings)
    mapping = {
        "instance": {"url": settings.base_url, "name": "Test"},
        "database": {"url": settings.database_url},
        "media": {"dir": str(tmp_path / "media")},
        "federation": {"allow_private_addresses": True, "webfinger_scheme": "http"},
    }
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", IDLE_SERVER, json.dumps(mapping), str(tmp_path)],
        capture_output=True, text=True, timeout=120, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = {name.split(".")[0] for name in json.loads(done.stdout.splitlines()[-1])}
    assert "fedigen" in loaded and "starlette" in loaded  # the app really was built here
    imported = {name: why for name, why in HEAVY.items() if name in loaded}
    assert not imported, (
        f"an idle server imported libraries it does not need yet (each loads with): {imported}"
    )
