"""A counting HTTP/1.1 receiver on many loopback addresses at once (fan-out and connection-pool tests).

Every request is answered ``status`` (202 by default) on a kept-alive connection. It counts POSTs per
(Host header, path, the body's JSON ``id``), other requests (NodeInfo probes) apart, and the
connections accepted, open now and open at most at once.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Sequence
from types import TracebackType


class CountingSink:
    """``async with CountingSink(["127.0.1.1", ...], port) as sink:`` serves on each address."""

    def __init__(self, addresses: Sequence[str], port: int, status: int = 202) -> None:
        self.addresses = list(addresses)
        self.port = port
        self.reply = f"HTTP/1.1 {status} Whatever\r\ncontent-length: 0\r\n\r\n".encode()
        self.requests: Counter[tuple[str, str, str]] = Counter()
        self.others = 0
        self.accepted = 0
        self.open = 0
        self.peak = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> CountingSink:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Connection(self), host=self.addresses, port=self.port, reuse_address=True, backlog=1024
        )
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    @property
    def total(self) -> int:
        return sum(self.requests.values())


class _Connection(asyncio.Protocol):
    def __init__(self, sink: CountingSink) -> None:
        self.sink = sink
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.sink.accepted += 1
        self.sink.open += 1
        self.sink.peak = max(self.sink.peak, self.sink.open)

    def connection_lost(self, exc: Exception | None) -> None:
        self.sink.open -= 1

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            lines = self.buffer[:end].decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            if len(self.buffer) < end + 4 + length:
                return
            body, self.buffer = self.buffer[end + 4 : end + 4 + length], self.buffer[end + 4 + length :]
            try:
                activity_id = str(json.loads(body).get("id", "")) if body else ""
            except ValueError:
                activity_id = ""
            method, _, rest = lines[0].partition(" ")
            if method == "POST":
                self.sink.requests[(headers.get("host", ""), rest.partition(" ")[0], activity_id)] += 1
            else:
                self.sink.others += 1
            assert self.transport is not None
            self.transport.write(self.sink.reply)
