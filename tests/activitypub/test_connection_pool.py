"""The outgoing HTTP pool: connections to a host are kept alive for reuse, and a fan-out to 1,000 hosts
keeps no more sockets open than the pool's cap (idle connections of other hosts are closed to make
room), with every request answered."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import httpcore

from activitypub.transport import make_http_client
from tests.support.server import free_port
from tests.support.sink import CountingSink


class _Stream(httpcore.AsyncNetworkStream):
    def __init__(self, inner: httpcore.AsyncNetworkStream, backend: CountingBackend) -> None:
        self.inner = inner
        self.backend = backend
        self.closed = False

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        return await self.inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        await self.inner.write(buffer, timeout)

    async def aclose(self) -> None:
        if not self.closed:
            self.closed = True
            self.backend.open -= 1
        await self.inner.aclose()

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)


class CountingBackend(httpcore.AsyncNetworkBackend):
    """httpcore's own backend, counting the TCP connections opened, open now, and open at most at once."""

    def __init__(self) -> None:
        self.inner = httpcore.AnyIOBackend()
        self.opened = 0
        self.open = 0
        self.peak = 0

    async def connect_tcp(
        self, host: str, port: int, timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None, socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:  # fmt: skip
        stream = await self.inner.connect_tcp(host, port, timeout, local_address, socket_options)
        self.opened += 1
        self.open += 1
        self.peak = max(self.peak, self.open)
        return _Stream(stream, self)

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


async def test_a_thousand_hosts_never_hold_more_sockets_than_the_cap() -> None:
    port = free_port()
    hosts = [f"127.0.{10 + n // 250}.{1 + n % 250}" for n in range(1000)]
    backend = CountingBackend()
    client = make_http_client(
        allow_private_addresses=True, user_agent="fedigen-test", max_connections=16, network=backend
    )
    limit = asyncio.Semaphore(48)  # more requests in flight than connections: some wait for the pool

    async def deliver(host: str) -> int:
        async with limit:
            response = await client.post(
                f"http://{host}:{port}/inbox", content=b'{"id": "https://a.example/1"}'
            )
            return response.status_code

    async with CountingSink(hosts, port) as sink, client:
        statuses = await asyncio.gather(*(deliver(host) for host in hosts))
        assert backend.open <= 16
    assert statuses == [202] * len(hosts)
    assert len(sink.requests) == len(hosts) and sink.total == len(hosts)
    assert backend.opened == len(hosts)  # one connection per host: nothing is shared across hosts
    assert backend.peak <= 16  # the cap held for the whole run
    assert sink.peak <= 16 + 4  # the receiver saw the same (closing lags a little on its side)


async def test_connections_to_a_host_are_kept_alive_until_they_expire() -> None:
    port = free_port()
    hosts = [f"127.0.9.{n}" for n in range(1, 6)]
    backend = CountingBackend()
    client = make_http_client(
        allow_private_addresses=True, user_agent="fedigen-test", keepalive_expiry=0.5, network=backend
    )
    async with CountingSink(hosts, port) as sink, client:
        for _ in range(4):
            for host in hosts:
                response = await client.post(f"http://{host}:{port}/inbox", content=b"{}")
                assert response.status_code == 202
        assert backend.opened == len(hosts) and sink.accepted == len(hosts)  # 20 requests, 5 connections
        await asyncio.sleep(0.7)
        response = await client.post(f"http://{hosts[0]}:{port}/inbox", content=b"{}")
        assert response.status_code == 202
        assert backend.opened == len(hosts) + 1  # the idle one expired: a new connection
