"""Idle memory: RSS of `fedigen serve` (web + in-process worker) after startup and a few seconds idle.

Baselines, measured in the same run: a bare interpreter (`python -c "import time; time.sleep(30)"`)
and a bare uvicorn + Starlette hello app, each in its own process. RSS is VmRSS from /proc/PID/status.
Goal: fedigen under 90 MB (10^6 bytes). Then, to show where the memory goes, a fresh interpreter
imports what `fedigen serve` loads at start group by group and reports the RSS each group adds, then
the libraries that load only on first use (a signature, an image, a page...), and whether the
interpreter that imported fedigen holds any of them (it must not: tests/fedigen/test_idle_imports.py).

    .venv/bin/python benchmarks/memory.py [--quick] [--idle SECONDS]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from _support import (  # noqa: E402
    ROOT,
    fedigen_command,
    free_port,
    memory_kib,
    peer_command,
    prepare_instance,
    server,
)

GOAL_MB = 90.0
ACCOUNTS = ["alice", "bob", "carol"]

# Cumulative import groups, in the order `fedigen serve` loads them at start.
IMPORT_GROUPS: list[tuple[str, list[str]]] = [
    ("asyncio", ["asyncio"]),
    ("web stack: starlette, uvicorn, click", ["starlette.applications", "uvicorn", "click"]),
    ("httpx (+ its CLI: rich, pygments when installed)", ["httpx"]),
    ("sqlalchemy asyncio + aiosqlite", ["sqlalchemy.ext.asyncio", "aiosqlite"]),
    ("fedigen itself (cli, app, routes, worker)", ["fedigen.cli", "fedigen.app"]),
]
# Loaded on first use only (each on top of everything above): what an idle server does not carry.
FIRST_USE_GROUPS: list[tuple[str, list[str]]] = [
    ("cryptography + http-message-signatures: first signature",
     ["cryptography.hazmat.primitives.asymmetric.rsa", "http_message_signatures"]),
    ("pyld (+ requests): first Linked Data signature", ["pyld.jsonld"]),
    ("Pillow + blurhash: first image or placeholder", ["PIL.Image", "PIL.ImageOps", "blurhash"]),
    ("jinja2: first HTML page", ["jinja2", "starlette.templating"]),
    ("nh3: first HTML cleaned", ["nh3"]),
    ("argon2: first password hashed or checked", ["argon2"]),
    ("alembic + mako: `db migrate` (a child process of serve)", ["alembic.command"]),
]  # fmt: skip

BREAKDOWN = """
import importlib, json, sys
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
groups, later = json.loads(sys.argv[1]), json.loads(sys.argv[2])
out = [["interpreter", rss()]]
for name, modules in groups:
    for module in modules:
        importlib.import_module(module)
    out.append([name, rss()])
rich = int("rich" in sys.modules and "pygments" in sys.modules)
held = sorted({module for _, modules in later for module in modules} & set(sys.modules))
first_use = []
for name, modules in later:
    for module in modules:
        importlib.import_module(module)
    first_use.append([name, rss()])
print(json.dumps({"groups": out, "rich": rich, "held": held, "first_use": first_use}))
"""


def mb(kib: int) -> float:
    """KiB (as /proc reports) to MB (10^6 bytes, the unit of the goal)."""
    return kib * 1024 / 1e6


def measure(idle: float) -> dict[str, dict[str, int]]:
    """Start the three processes, let them idle, read their memory, stop them."""
    with tempfile.TemporaryDirectory(prefix="fedigen-bench-memory-") as tmp:
        tmpdir = Path(tmp)
        fport, hport = free_port(), free_port()
        config = prepare_instance(tmpdir, fport, ACCOUNTS)
        sleeper = [sys.executable, "-c", "import time; time.sleep(30)"]
        fedigen_cmd = [*fedigen_command(), "--config", str(config), "serve"]
        with (
            server(sleeper, None, tmpdir / "sleep.log") as sleep_pid,
            server(peer_command("bare", hport), hport, tmpdir / "hello.log") as hello_pid,
            server(fedigen_cmd, fport, tmpdir / "fedigen.log", cwd=tmpdir) as fedigen_pid,
        ):
            # One request each, so both web stacks have served something, then idle.
            for port, path in ((hport, "/"), (fport, "/.well-known/nodeinfo")):
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
                    response.read()
            time.sleep(idle)
            return {
                "python -c sleep": memory_kib(sleep_pid),
                "uvicorn+Starlette hello": memory_kib(hello_pid),
                "fedigen serve (+worker)": memory_kib(fedigen_pid),
            }


def breakdown() -> dict[str, Any]:
    """RSS (KiB) after each cumulative import group, then after each first-use group, in a fresh
    interpreter; whether httpx brought rich and pygments; which first-use libraries fedigen's import held."""
    done = subprocess.run(
        [sys.executable, "-c", BREAKDOWN, json.dumps(IMPORT_GROUPS), json.dumps(FIRST_USE_GROUPS)],
        capture_output=True, text=True, timeout=120, cwd=ROOT, check=True,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="idle 2 s instead of 5 s")
    parser.add_argument("--idle", type=float, default=None, help="seconds to idle after startup")
    args = parser.parse_args()
    idle = args.idle if args.idle is not None else (2.0 if args.quick else 5.0)

    figures = measure(idle)
    print(f"idle memory after startup + {idle:.0f} s idle ({len(ACCOUNTS)} accounts, SQLite, worker on)")
    for name, values in figures.items():
        print(f"  {name:<25} RSS {mb(values['VmRSS']):6.1f} MB   peak {mb(values['VmHWM']):6.1f} MB")
    bare, hello, fedi = (v["VmRSS"] for v in figures.values())
    print(f"fedigen / uvicorn hello = {fedi / hello:.2f}x (+{mb(fedi - hello):.1f} MB);"
          f" fedigen / bare python = {fedi / bare:.2f}x")  # fmt: skip
    verdict = "meets" if mb(fedi) < GOAL_MB else "misses"
    print(f"fedigen RSS {mb(fedi):.1f} MB: {verdict} the goal of < {GOAL_MB:.0f} MB")

    parts = breakdown()
    print(
        "\nwhere it goes: RSS added by each import group serve loads at start (fresh interpreter, cumulative)"
    )
    previous = 0
    for name, kib in parts["groups"]:
        print(f"  {name:<58} +{mb(kib - previous):5.1f} MB  = {mb(kib):6.1f} MB")
        previous = kib
    print(f"  runtime after imports (engine, pools, worker, caches): {mb(fedi - previous):+.1f} MB")
    if parts["rich"]:
        print("  note: httpx imports its CLI (rich, pygments) because this venv has them (test extras)")
    print("loaded on first use only, not by an idle server (each on top of the above):")
    for name, kib in parts["first_use"]:
        print(f"  {name:<58} +{mb(kib - previous):5.1f} MB")
        previous = kib
    if parts["held"]:
        print(f"  WARNING: importing fedigen already loaded {', '.join(parts['held'])}")
    print(f"load average: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
