"""Shared pieces of the benchmarks: temp instances, subprocess servers stopped by PID, tiny peer apps.

Run as a script it serves one of the peer apps on loopback (the benchmarks start it that way):

    python benchmarks/_support.py bare PORT          # Starlette: POST /inbox -> 202, GET / -> hello
    python benchmarks/_support.py actor PORT FILE    # Starlette: serves the JSON in FILE at its id's path
    python benchmarks/_support.py sink PORT          # raw asyncio HTTP/1.1: every request -> 202

Only the standard library is imported at module level, so the bare baselines stay bare.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import types
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
SUPPORT = Path(__file__).resolve()
PASSWORD = "benchmark-password"

CONFIG = """\
[instance]
url = "http://127.0.0.1:{port}"
name = "bench"

[database]
url = "sqlite+aiosqlite:///data/fedigen.db"

[media]
dir = "data/media"

[server]
host = "127.0.0.1"
port = {port}

[federation]
allow_private_addresses = true
webfinger_scheme = "http"
"""


def fedigen_command() -> list[str]:
    """The `fedigen` console script of this venv, or the entry point called through the interpreter."""
    script = Path(sys.executable).parent / "fedigen"
    if script.exists():
        return [str(script)]
    entry = f"import sys; sys.path.insert(0, {str(ROOT)!r}); from fedigen.cli import main; sys.exit(main())"
    return [sys.executable, "-c", entry]


def free_port() -> int:
    """A TCP port nobody listens on right now (on 127.0.0.1)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(directory: Path, port: int) -> Path:
    """A config.toml for an instance at http://127.0.0.1:PORT with its data under ``directory``."""
    path = directory / "config.toml"
    path.write_text(CONFIG.format(port=port), encoding="utf-8")
    return path


def fedigen(config: Path, *args: str, stdin: str | None = None, timeout: float = 120) -> str:
    """Run one `fedigen --config CONFIG ...` command to completion; its stdout, or an error with stderr."""
    done = subprocess.run(
        [*fedigen_command(), "--config", str(config), *args],
        input=stdin, capture_output=True, text=True, timeout=timeout, cwd=config.parent,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"fedigen {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def prepare_instance(directory: Path, port: int, accounts: Sequence[str]) -> Path:
    """Config + migrated database + local accounts; returns the config path."""
    config = write_config(directory, port)
    fedigen(config, "db", "migrate")
    for name in accounts:
        fedigen(config, "account", "create", name, "--password-stdin", stdin=PASSWORD + "\n")
    return config


def wait_port(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    """Return once 127.0.0.1:PORT accepts connections; raise (with the log's tail) if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"server exited with {proc.returncode} before listening:\n{tail}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listened on port {port} within {timeout} s")


def stop(proc: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """Stop one process we started, by its PID: SIGINT (graceful for uvicorn), then SIGKILL."""
    if proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)


@contextlib.contextmanager
def server(cmd: Sequence[str], port: int | None, log: Path, cwd: Path | None = None) -> Iterator[int]:
    """Run ``cmd`` in a subprocess (output to ``log``) until the block ends; yields its PID."""
    with log.open("wb") as out:
        proc = subprocess.Popen(list(cmd), stdout=out, stderr=subprocess.STDOUT, cwd=cwd or ROOT)
    try:
        if port is not None:
            wait_port(port, proc, log)
        yield proc.pid
    finally:
        stop(proc)


def peer_command(kind: str, port: int, *args: str) -> list[str]:
    """The command that serves one of this module's peer apps."""
    return [sys.executable, str(SUPPORT), kind, str(port), *args]


def stub_sniffio() -> bool:
    """Stop httpcore's failed ``import sniffio`` on every request (sniffio is not installed here).

    httpcore calls ``current_async_library()`` for each request; without sniffio each call is a failed
    import that walks sys.path. Returns False when sniffio is installed (nothing to do).
    """
    if importlib.util.find_spec("sniffio") is not None:
        return False
    module = types.ModuleType("sniffio")
    module.current_async_library = lambda: "asyncio"  # type: ignore[attr-defined]
    sys.modules["sniffio"] = module
    return True


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process (all its threads) has used, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS (resident now) and VmHWM (peak resident) of a process, in KiB, from /proc/PID/status."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])
    if len(fields) != 2:
        raise RuntimeError(f"no memory figures for PID {pid}")
    return fields


# --- peer apps (run in their own processes) -----------------------------------------------------------


def _serve_uvicorn(app: Any, port: int) -> None:
    import uvicorn

    # The same uvicorn options `fedigen serve` uses, so the baseline differs only in the app.
    uvicorn.run(app, host="127.0.0.1", port=port, proxy_headers=True, log_level="info", server_header=False)


def serve_bare(port: int) -> None:
    """Starlette with one inbox route that reads the body and answers 202 (plus a hello page)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    async def inbox(request: Request) -> Response:
        await request.body()
        return Response(status_code=202)

    async def hello(request: Request) -> Response:
        return PlainTextResponse("hello")

    _serve_uvicorn(Starlette(routes=[Route("/inbox", inbox, methods=["POST"]), Route("/", hello)]), port)


def serve_actor(port: int, document_file: str) -> None:
    """Starlette serving one ActivityStreams document (a remote actor) at its id's path."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    body = Path(document_file).read_bytes()
    path = urlsplit(json.loads(body)["id"]).path

    async def document(request: Request) -> Response:
        return Response(body, media_type="application/activity+json")

    _serve_uvicorn(Starlette(routes=[Route(path, document)]), port)


class _Sink(asyncio.Protocol):
    """HTTP/1.1 keep-alive: read each request (Content-Length bodies) and answer 202."""

    REPLY = b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buffer = b""
        peer = transport.get_extra_info("peername")
        if not peer or not str(peer[0]).startswith("127."):
            transport.close()  # bound on 0.0.0.0 to answer all of 127/8; anything else is refused

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            length = 0
            for line in self.buffer[:end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            self.transport.write(self.REPLY)


def serve_sink(port: int) -> None:
    """Answer 202 to every request on every 127.x.y.z address (bound on 0.0.0.0, non-loopback refused)."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        srv = await loop.create_server(_Sink, "0.0.0.0", port, backlog=4096, reuse_address=True)
        async with srv:
            await asyncio.sleep(3600)  # bounded: the benchmark stops us by PID long before

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


if __name__ == "__main__":
    kind, port_arg, *rest = sys.argv[1:]
    if kind == "bare":
        serve_bare(int(port_arg))
    elif kind == "actor":
        serve_actor(int(port_arg), rest[0])
    elif kind == "sink":
        serve_sink(int(port_arg))
    else:
        raise SystemExit(f"unknown peer app {kind!r}")
