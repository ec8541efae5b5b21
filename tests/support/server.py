"""Run a real `fedigen serve` process on loopback for interop tests, driven through the CLI; run CLI
commands in this process (as the `fedigen` executable would) or as processes; free ports."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import random
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import uvicorn
from click.testing import CliRunner

from fedigen.cli import main as fedigen_main

FEDIGEN = [sys.executable, "-m", "fedigen"]

# Ports are handed out below the kernel's ephemeral range (32768 and up on Linux), in a block of their
# own per xdist worker: neither another bind(0) nor an outgoing connection can take a port between the
# probe here and the server binding it, and two workers never pick the same one.
_PORT_BLOCK = 200
_PORT_BASE = 20000
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
_ports = itertools.count(random.randrange(_PORT_BLOCK))  # another session on the machine starts elsewhere


def free_port() -> int:
    """An unused TCP port on 127.0.0.1, from this worker's block."""
    first = _PORT_BASE + (_WORKER * _PORT_BLOCK) % (32768 - _PORT_BASE - _PORT_BLOCK)
    for _ in range(_PORT_BLOCK):
        port = first + next(_ports) % _PORT_BLOCK
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {first}-{first + _PORT_BLOCK - 1}")


def run_cli(args: list[str], *, config: Path, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run a fedigen command in this process as the `fedigen` executable would run it: same environment
    (no other FEDIGEN_ variables), working directory, stdin that is not a terminal, logging set up by the
    command itself onto its stderr, a traceback on stderr and exit status 1 for an uncaught exception.

    Commands run their own event loop, so from inside a running loop this runs in a thread (and
    blocks the caller, as waiting for a process does)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _run_cli(args, config, cwd, stdin)
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(_run_cli, args, config, cwd, stdin).result()


def _run_cli(args: list[str], config: Path, cwd: Path, stdin: str) -> subprocess.CompletedProcess[str]:
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("FEDIGEN_")}
    env["FEDIGEN_CONFIG"] = str(config)
    root, alembic = logging.getLogger(), logging.getLogger("alembic")
    saved = (root.handlers[:], root.level, alembic.level)
    root.handlers.clear()  # so that the command's logging.basicConfig() takes effect, as in a new process
    previous_cwd = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(fedigen_main, args, input=stdin, env=env, prog_name="fedigen")
    finally:
        os.chdir(previous_cwd)
        for handler in root.handlers:
            handler.close()
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        alembic.setLevel(saved[2])
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    return subprocess.CompletedProcess(["fedigen", *args], result.exit_code, result.stdout, stderr)


class FedigenServer:
    """`fedigen init` + `fedigen serve` in a temp directory; CLI commands run against the same config."""

    def __init__(
        self,
        directory: Path,
        *,
        extra_config: str = "",
        serve_args: Sequence[str] = (),
        serve_migrates: bool = False,
    ) -> None:
        self.directory = directory
        self.serve_args = list(serve_args)  # e.g. ["--no-worker"]
        # `fedigen serve` first runs `fedigen db migrate` in a child process (an interpreter start, the
        # imports and alembic: ~2 s of CPU). The database is brought up to date here, in this process, so
        # by default the server starts with --no-migrate; serve_migrates=True keeps serve's own step.
        self.serve_migrates = serve_migrates
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.host = f"127.0.0.1:{self.port}"
        self.config = directory / "config.toml"
        self.extra_config = extra_config
        self.process: subprocess.Popen[bytes] | None = None
        self.log = directory / "serve.log"

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FEDIGEN_")}
        env["FEDIGEN_CONFIG"] = str(self.config)
        return env

    def cli(
        self, *args: str, stdin: str | None = None, check: bool = True, process: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """Run a fedigen command against this instance: in this process (see run_cli), or with
        ``process=True`` as a new `fedigen` process (a second of start-up)."""
        if process:
            proc = subprocess.run(
                [*FEDIGEN, *args], env=self.env, cwd=self.directory, input=stdin or "",
                capture_output=True, text=True, timeout=120,
            )  # fmt: skip
        else:
            proc = run_cli(list(args), config=self.config, cwd=self.directory, stdin=stdin or "")
        if check and proc.returncode != 0:
            raise AssertionError(f"fedigen {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
        return proc

    def __enter__(self) -> FedigenServer:
        self.cli("init", "--url", self.base_url)
        if self.extra_config:
            with self.config.open("a", encoding="utf-8") as fh:
                fh.write("\n" + self.extra_config + "\n")
            if not self.serve_migrates:  # what serve's step does (the bot, ...) under the final config
                self.cli("db", "migrate")
        migrate = [] if self.serve_migrates else ["--no-migrate"]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [*FEDIGEN, "serve", "--port", str(self.port), *migrate, *self.serve_args], env=self.env,
                cwd=self.directory, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"fedigen serve exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.base_url}/.well-known/nodeinfo", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        self.__exit__(None, None, None)
        raise RuntimeError(f"fedigen serve did not start: {self.log.read_text()[-3000:]}")

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def wait_until(self, predicate: object, timeout: float = 20.0, what: str = "condition") -> None:
        """Poll a callable until it returns truthy."""
        assert callable(predicate)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.2)
        raise AssertionError(
            f"timed out waiting for {what}; server log tail:\n{self.log.read_text()[-3000:]}"
        )


class LoopbackServer:
    """Serves an ASGI app on 127.0.0.1 from a background thread; a context manager.

    The socket is bound at once (``port`` 0: any free one), so ``port`` and ``url`` are known before the
    app is served and no other process can take the port in between.
    """

    def __init__(self, app: Any, port: int = 0) -> None:
        self.app = app
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", port))
        self.port = int(self._sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", lifespan="off", ws="websockets-sansio")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the loopback server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        # force_exit: do not wait for slow handlers; their tasks are cancelled with the loop.
        self._server.should_exit = self._server.force_exit = True
        self._thread.join(10)
        self._sock.close()

    def __enter__(self) -> LoopbackServer:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
