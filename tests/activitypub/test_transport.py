"""The pooled client's address guard: private targets are refused after resolution (docs/refusals.md case 11).

No test sends traffic anywhere but 127.0.0.1: names are resolved by fake resolvers, and
"public" addresses are only ever handed to a recording fake backend.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpcore
import httpx
import pytest

from activitypub.errors import UnsafeURLError
from activitypub.transport import (
    AddressGuardBackend,
    GuardedTransport,
    IPAddress,
    check_url_scheme,
    is_public_address,
    make_http_client,
    system_resolver,
)

pytestmark = pytest.mark.asyncio

PUBLIC_IP = "93.184.215.14"  # only ever given to fake backends


class Counter:
    connections = 0
    user_agents: list[str]

    def __init__(self) -> None:
        self.user_agents = []


@asynccontextmanager
async def counting_server() -> AsyncIterator[tuple[int, Counter]]:
    """A loopback HTTP server that counts connections and answers 200 with an empty JSON object."""
    counter = Counter()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        counter.connections += 1
        while (line := await reader.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"user-agent:"):
                counter.user_agents.append(line.split(b":", 1)[1].strip().decode())
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], counter
    finally:
        server.close()


def fixed_resolver(*answers: str) -> Any:
    async def resolve(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address(a) for a in answers]

    return resolve


class RecordingBackend(httpcore.AsyncMockBackend):
    """Answers every connection with a canned 200 and records the hosts it was asked to connect to."""

    def __init__(self, fail_first: int = 0) -> None:
        super().__init__([b"HTTP/1.1 200 OK\r\n", b"Content-Length: 2\r\n\r\n", b"{}"])
        self.hosts: list[str] = []
        self._fail_first = fail_first

    async def connect_tcp(
        self, host: str, port: int, *args: Any, **kwargs: Any
    ) -> httpcore.AsyncNetworkStream:
        self.hosts.append(host)
        if len(self.hosts) <= self._fail_first:
            raise httpcore.ConnectError("refused")
        return await super().connect_tcp(host, port, *args, **kwargs)


def guarded_client(resolver: Any, inner: httpcore.AsyncNetworkBackend) -> httpx.AsyncClient:
    backend = AddressGuardBackend(allow_private_addresses=False, resolver=resolver, inner=inner)
    return httpx.AsyncClient(transport=GuardedTransport(backend))


# --- the pure address rule -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("1.1.1.1", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),  # loopback
        ("10.0.0.1", False),  # private
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # link-local (cloud metadata)
        ("100.64.0.1", False),  # CGNAT
        ("0.0.0.0", False),  # unspecified
        ("224.0.0.1", False),  # multicast
        ("240.0.0.1", False),  # reserved
        ("255.255.255.255", False),
        ("192.0.2.1", False),  # documentation
        ("198.18.0.1", False),  # benchmarking
        ("::1", False),
        ("::", False),
        ("fe80::1", False),  # link-local
        ("fc00::1", False),  # ULA
        ("fd12:3456::1", False),
        ("ff02::1", False),  # multicast
        ("::ffff:127.0.0.1", False),  # IPv4-mapped loopback
        ("::ffff:10.0.0.1", False),
        ("2002:7f00:1::", False),  # 6to4 wrapping 127.0.0.1
        ("64:ff9b::a00:1", False),  # NAT64 wrapping 10.0.0.1
        ("2001:db8::1", False),  # documentation
    ],
)
async def test_is_public_address(address: str, public: bool) -> None:
    assert is_public_address(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize(
    "url", ["https://peer.example/users/a", "http://127.0.0.1:8080/x", "HTTPS://Peer.Example/"]
)
async def test_http_urls_pass_the_scheme_check(url: str) -> None:
    check_url_scheme(url)


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",  # case 26
        "data:image/png;base64,AAAA",
        "javascript:alert(1)",
        "ftp://peer.example/a.png",
        "gopher://peer.example/",
        "//peer.example/a",
        "http://",
        "http://[::1/",
        "",
    ],
)
async def test_case26_unsafe_schemes_are_refused(url: str) -> None:
    with pytest.raises(UnsafeURLError):
        check_url_scheme(url)


# --- the guard at connect time ---------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "evil.example"])
async def test_case11_private_targets_are_refused_without_connecting(host: str) -> None:
    async with counting_server() as (port, counter):
        # evil.example "resolves" to the loopback server, as a hostile DNS answer would.
        client = make_http_client(
            allow_private_addresses=False,
            user_agent="fedigen-test",
            resolver=None if host != "evil.example" else fixed_resolver("127.0.0.1"),
        )
        async with client:
            with pytest.raises(UnsafeURLError):
                await client.get(f"http://{host}:{port}/users/a")
    assert counter.connections == 0


async def test_allowing_private_addresses_lets_loopback_through() -> None:
    async with counting_server() as (port, counter):
        async with make_http_client(allow_private_addresses=True, user_agent="fedigen-test/1") as client:
            response = await client.get(f"http://127.0.0.1:{port}/")
    assert response.json() == {}
    assert counter.connections == 1
    assert counter.user_agents == ["fedigen-test/1"]


async def test_case11_a_private_address_hidden_among_public_ones_is_refused() -> None:
    # A rebinding resolver may put the public address first; any private answer refuses.
    inner = RecordingBackend()
    async with guarded_client(fixed_resolver(PUBLIC_IP, "10.0.0.7"), inner) as client:
        with pytest.raises(UnsafeURLError):
            await client.get("http://rebind.example/")
    assert inner.hosts == []


async def test_connects_to_the_checked_ip_not_the_name() -> None:
    inner = RecordingBackend()
    async with guarded_client(fixed_resolver(PUBLIC_IP), inner) as client:
        response = await client.get("http://peer.example/")
    assert response.status_code == 200
    assert inner.hosts == [PUBLIC_IP]


async def test_falls_back_to_the_next_checked_address() -> None:
    inner = RecordingBackend(fail_first=1)
    async with guarded_client(fixed_resolver(PUBLIC_IP, "1.1.1.1"), inner) as client:
        response = await client.get("http://peer.example/")
    assert response.status_code == 200
    assert inner.hosts == [PUBLIC_IP, "1.1.1.1"]


async def test_resolution_failure_is_an_httpx_connect_error() -> None:
    async def resolver(host: str, port: int) -> list[IPAddress]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    async with guarded_client(resolver, RecordingBackend()) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get("http://nowhere.example/")


async def test_slow_resolution_is_a_connect_timeout() -> None:
    async def resolver(host: str, port: int) -> list[IPAddress]:
        await asyncio.sleep(10)
        return []

    async with guarded_client(resolver, RecordingBackend()) as client:
        with pytest.raises(httpx.ConnectTimeout):
            await client.get("http://slow-dns.example/", timeout=httpx.Timeout(5, connect=0.1))


async def test_the_client_is_configured_once_with_explicit_limits() -> None:
    client = make_http_client(
        allow_private_addresses=False, user_agent="ua", connect_timeout=2.0, timeout=7.0
    )
    async with client:
        assert client.timeout == httpx.Timeout(7.0, connect=2.0)
        assert client.headers["User-Agent"] == "ua"
        assert client.follow_redirects is False


async def test_system_resolver_reads_the_hosts_file() -> None:
    addresses = await system_resolver("localhost", 80)
    assert addresses and all(a.is_loopback for a in addresses)
