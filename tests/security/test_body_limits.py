"""Request bodies are limited while they stream in: a body over its limit gets 413 before it is all
read, chunked or declared, on every endpoint that reads one, and nothing of it is stored; a real
server's memory stays flat under hostile sizes."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.api.conftest import bearer, issue_token
from tests.conftest import HostRouter, Instance, make_settings, start_instance
from tests.support.server import FedigenServer

MB = 1_000_000


FILE_PART = (
    b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n'
)


class Stream:
    """A request body of ``size`` bytes sent in 64 KiB chunks (after ``head``), counting what was taken."""

    def __init__(self, size: int, chunk: bytes = b"a" * 65536, head: bytes = b"") -> None:
        self.size = size
        self.chunk = chunk
        self.head = head
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self.head:
            yield self.head
        while self.sent < self.size:
            self.sent += len(self.chunk)
            yield self.chunk


@pytest.fixture
async def small(tmp_path: Path, backend: str, router: HostRouter) -> AsyncIterator[Instance]:
    settings = make_settings(tmp_path, backend, api={"max_body_bytes": 100_000},
                             media={"max_upload_bytes": 200_000})  # fmt: skip
    async with start_instance(settings, router) as inst:
        await inst.create_account("alice")
        yield inst


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/oauth/revoke", "application/x-www-form-urlencoded"),
        ("/oauth/token", "application/json"),
        ("/api/v1/statuses", "application/json"),
        ("/api/v1/apps", "application/x-www-form-urlencoded"),
        ("/api/v1/media", "multipart/form-data; boundary=x"),
        ("/api/v2/media", "multipart/form-data; boundary=x"),
        ("/users/alice/outbox", "application/activity+json"),
        ("/inbox", "application/activity+json"),
    ],
)
async def test_a_chunked_body_over_the_limit_is_refused_before_it_is_read(
    small: Instance, path: str, content_type: str
) -> None:
    token = bearer(await issue_token(small, "alice"))
    body = Stream(20 * MB, head=FILE_PART if content_type.startswith("multipart/") else b"")
    response = await small.client.post(path, content=body, headers={**token, "Content-Type": content_type})
    assert response.status_code == 413, response.text
    assert "over the limit" in response.json()["error"]
    assert body.sent < 3 * MB  # refused after the limit, not after the whole body


async def test_a_declared_length_over_the_limit_is_refused_before_reading(small: Instance) -> None:
    body = Stream(2 * MB)
    response = await small.client.post(
        "/oauth/revoke",
        content=body,
        headers={"Content-Length": str(2 * MB), "Content-Type": "application/json"},
    )
    assert response.status_code == 413 and body.sent == 0
    got = await small.client.request("GET", "/api/v1/timelines/public", content=b"x" * 200_000)
    assert got.status_code == 413  # a GET carrying a body is limited too


def files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def test_an_oversized_upload_stores_nothing(small: Instance) -> None:
    token = bearer(await issue_token(small, "alice"))
    body = Stream(3 * MB, chunk=b"\x89PNG" + b"\0" * 65532, head=FILE_PART)
    response = await small.client.post(
        "/api/v2/media",
        content=body,
        headers={**token, "Content-Type": "multipart/form-data; boundary=x"},
    )
    assert response.status_code == 413
    assert files(small.settings.media_dir) == [] and files(small.settings.upload_dir) == []


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def send_chunked(port: int, path: str, content_type: str, size: int) -> int:
    """POST ``size`` bytes chunked over a raw socket until the server answers or hangs up; the status."""
    chunk = b"a" * 65536
    framed = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {content_type}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        sent = 0
        try:
            while sent < size:
                sock.sendall(framed)
                sent += len(chunk)
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server stopped reading: what we want
        answer = b""
        try:
            while b"\r\n" not in answer:
                part = sock.recv(4096)
                if not part:
                    break
                answer += part
        except OSError:
            pass
    return int(answer.split(b" ")[1]) if answer.startswith(b"HTTP/1.1 ") else 0


def test_hostile_body_sizes_keep_a_real_servers_memory_flat(tmp_path: Path) -> None:
    with FedigenServer(tmp_path) as server:
        assert server.process is not None
        time.sleep(1)
        before = rss_kib(server.process.pid)
        statuses = [
            send_chunked(server.port, path, kind, 100 * MB)
            for path, kind in [
                ("/oauth/revoke", "application/x-www-form-urlencoded"),
                ("/api/v1/statuses", "application/json"),
                ("/api/v2/media", "multipart/form-data; boundary=x"),
                ("/inbox", "application/activity+json"),
            ]
        ]
        after = rss_kib(server.process.pid)
    assert all(status in (401, 413) for status in statuses), statuses  # refused, token or not
    assert after - before < 40_000, f"RSS grew by {(after - before) // 1024} MiB"
