"""A small HTTP/1.1 client for deliveries only: one POST with a Content-Length body, on kept-alive
connections, one pool of them for every inbox host.

Why not httpx, which every other request still uses (:mod:`activitypub.transport`): a fan-out is
thousands of small POSTs, and per request httpx, httpcore and anyio cost far more CPU than signing
does. ``benchmarks/fanout.py`` (one post to 1,000 hosts, the second post, so every host was reached
before; 2-core machine with other work running, load average 3-6): through httpx with every
connection kept alive, 2.7 ms of the worker's CPU per delivery (317 deliveries/s), nearly all of it
in httpx/httpcore/anyio (request and response models, header normalisation, the auth flow's
generators, anyio's cancel scopes around every socket operation, the pool's walk over its
connections; with the default cap of 256 connections and 1,000 hosts every delivery also opened a
new connection: 6.6 ms, 110/s). Through this client: 0.6-0.8 ms at the same concurrency, and
0.23-0.40 ms (750-2,100 deliveries/s) with the signing and recording changes made beside it, of
which the HTTP part is about 0.06 ms: one write of the request and one parse of the answer in an
``asyncio.Protocol``.

What it does, and no more: ``POST`` with the body's length (and ``GET``, for the NodeInfo asked
before the first delivery to a host, whose connection then carries the delivery), ``Connection:
keep-alive``; the answer's body is read by Content-Length, chunked coding, or up to the connection's
end, and at most ``max_bytes`` of it is kept (past that, the connection is closed). Redirects are
never followed (a 3xx is returned as it is). Every new connection goes through the same guard as
the httpx client's (:func:`activitypub.transport.public_addresses`: the host is resolved here,
refused if any address is not public, and the checked address is connected to, never the name
resolved twice); TLS verifies the certificate against the URL's host name. Idle connections are kept
``keepalive_expiry`` seconds, at most ``max_idle`` of them in all (the longest idle closed first). A
request on a kept-alive connection that the peer closed before answering is sent once more on a new
connection.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import resource
import ssl
from collections import OrderedDict
from dataclasses import dataclass

import httpx

from .errors import FetchError, UnsafeURLError
from .transport import Resolver, check_url_scheme, public_addresses, system_resolver

log = logging.getLogger(__name__)

#: Most bytes of a status line and headers taken from a peer.
MAX_HEAD = 64 * 1024
#: Open files left for everything else (the database, the fetch pool, the web server's sockets).
FILES_SPARED = 512


def idle_room(wanted: int) -> int:
    """How many idle connections may be kept: ``wanted``, after raising the soft open-files limit
    towards the hard one if it is too low for them (systemd's default soft limit is 1,024); less (half
    of what the limit leaves) when even the hard limit is too low."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = wanted + FILES_SPARED
    if soft != resource.RLIM_INFINITY and soft < need:
        target = need if hard == resource.RLIM_INFINITY else min(need, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    if soft != resource.RLIM_INFINITY and soft < need:
        room = max(0, (soft - FILES_SPARED) // 2)
        log.warning("open-files limit %d: keeping at most %d idle delivery connections", soft, room)
        return room
    return wanted


class DeliveryHTTPError(FetchError):
    """The connection failed, timed out, or the peer's answer was not HTTP/1.x."""


@dataclass(frozen=True)
class Answer:
    """What an inbox answered: status, headers (names lowercased), and at most ``max_bytes`` of body."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    truncated: bool = False  # the body went on past max_bytes (and was cut there)

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (lowercase), or None."""
        return next((value for key, value in self.headers if key == name), None)


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str  # as connected to and sent in SNI (IDNA-encoded, no brackets)
    port: int
    authority: str  # the Host header
    path: str  # the request target


@functools.lru_cache(maxsize=8192)
def _target(url: str) -> _Target:
    check_url_scheme(url)  # an absolute http(s) URL with a host (what raises is not cached)
    parsed = httpx.URL(url)  # normalises as the httpx client does (IDNA, percent-encoding)
    scheme = parsed.scheme
    port = parsed.port or (443 if scheme == "https" else 80)
    path = parsed.raw_path.decode("ascii")
    authority = parsed.netloc.decode("ascii")
    if any(c in path + authority for c in "\r\n\0 "):
        raise UnsafeURLError(f"refusing URL with control characters: {url!r}")
    return _Target(scheme, parsed.raw_host.decode("ascii"), port, authority, path)


@functools.lru_cache(maxsize=8192)
def normalised(url: str) -> str:
    """The URL as it is sent (and so as it must be signed)."""
    return str(httpx.URL(url))


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection: at most one request on it at a time."""

    def __init__(self, client: DeliveryClient, origin: tuple[str, str, int], max_bytes: int) -> None:
        self.client = client
        self.origin = origin
        self.max_bytes = max_bytes
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.reused = False
        self.idle_timer: asyncio.TimerHandle | None = None
        self._waiter: asyncio.Future[Answer] | None = None
        self._buffer = bytearray()
        self._reset()

    def _reset(self) -> None:
        self._status = 0
        self._headers: list[tuple[str, str]] = []
        self._body = bytearray()
        self._length: int | None = None  # Content-Length; None with chunked or close-delimited bodies
        self._chunked = False
        self._head_done = False
        self._keep_alive = True
        self._got_bytes = False
        self._truncated = False

    # --- asyncio.Protocol -------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._got_bytes = True
        if self._waiter is None or self._waiter.done():  # unasked bytes: the connection is no good
            self.close()
            return
        self._buffer += data
        try:
            self._parse()
        except DeliveryHTTPError as exc:
            self._fail(exc)

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.client._forget(self)
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if self._head_done and self._length is None and not self._chunked:
            self._finish(keep=False)  # a body that runs to the connection's end
            return
        waiter.set_exception(_PeerClosed(self._got_bytes, exc))

    # --- one exchange -----------------------------------------------------------------------------------
    async def exchange(self, request: bytes) -> Answer:
        assert self.transport is not None
        self._reset()
        self._buffer.clear()
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        try:
            return await self._waiter
        finally:
            self._waiter = None

    def _parse(self) -> None:
        while not self._head_done:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > MAX_HEAD:
                    raise DeliveryHTTPError("the answer's headers are too long")
                return
            head = bytes(self._buffer[:end]).decode("latin-1")
            del self._buffer[: end + 4]
            lines = head.split("\r\n")
            parts = lines[0].split(" ", 2)
            if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
                raise DeliveryHTTPError(f"not an HTTP/1.x answer: {lines[0][:80]!r}")
            status = int(parts[1])
            if 100 <= status < 200:  # an interim answer (100 Continue): the real one follows
                continue
            headers = []
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if not sep:
                    raise DeliveryHTTPError("a malformed header line in the answer")
                headers.append((name.strip().lower(), value.strip()))
            self._status, self._headers, self._head_done = status, headers, True
            self._keep_alive = parts[0] == "HTTP/1.1"
            for name, value in headers:
                if name == "connection" and "close" in value.lower():
                    self._keep_alive = False
                elif name == "transfer-encoding" and "chunked" in value.lower():
                    self._chunked = True
                elif name == "content-length":
                    if not value.isdigit():
                        raise DeliveryHTTPError("a malformed Content-Length in the answer")
                    self._length = int(value)
            if self._chunked:
                self._length = None
            elif status in (204, 304):
                self._length = 0
            if self._length is None and not self._chunked:
                self._keep_alive = False  # read to the end of the connection
        if self._chunked:
            self._parse_chunks()
        elif self._length is not None:
            take = self._length - len(self._body)
            self._keep(self._buffer[:take])
            del self._buffer[:take]
            if len(self._body) >= self._length:
                self._finish(keep=self._keep_alive and not self._buffer)
        else:
            self._keep(self._buffer)
            self._buffer.clear()

    def _parse_chunks(self) -> None:
        """Take the whole chunks in the buffer (a chunk is taken once all of it is here)."""
        while True:
            end = self._buffer.find(b"\r\n")
            if end < 0:
                if len(self._buffer) > 1024:
                    raise DeliveryHTTPError("a malformed chunk in the answer")
                return
            try:
                size = int(bytes(self._buffer[:end]).split(b";", 1)[0].strip(), 16)
            except ValueError as exc:
                raise DeliveryHTTPError("a malformed chunk size in the answer") from exc
            start = end + 2
            if size == 0:  # the last chunk; trailers (if any) end with an empty line
                if self._buffer.startswith(b"\r\n", start) or self._buffer.find(b"\r\n\r\n", start) >= 0:
                    self._finish(keep=self._keep_alive)
                elif len(self._buffer) > MAX_HEAD:
                    raise DeliveryHTTPError("the answer's trailers are too long")
                return
            room = self.max_bytes - len(self._body)
            if len(self._buffer) < start + size + 2:
                if len(self._buffer) - start > room:
                    self._keep(self._buffer[start:])  # past the cap: kept up to it, and done
                return
            self._keep(self._buffer[start : start + size])
            if self._waiter is None or self._waiter.done():
                return
            del self._buffer[: start + size + 2]

    def _keep(self, data: bytes | bytearray) -> None:
        room = self.max_bytes - len(self._body)
        if len(data) > room:
            self._body += data[:room]
            self._truncated = True
            self._finish(keep=False)  # the rest is not read: the connection cannot be used again
        else:
            self._body += data

    def _finish(self, *, keep: bool) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        self._keep_alive = keep
        waiter.set_result(Answer(self._status, self._headers, bytes(self._body), self._truncated))

    def _fail(self, exc: Exception) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)
        self.close()

    @property
    def reusable(self) -> bool:
        return self._keep_alive and not self.closed

    def close(self) -> None:
        if self.idle_timer is not None:
            self.idle_timer.cancel()
            self.idle_timer = None
        if not self.closed:
            self.closed = True
            self.client._forget(self)
            if self.transport is not None:
                self.transport.close()


class _PeerClosed(Exception):
    def __init__(self, answered: bool, cause: Exception | None) -> None:
        super().__init__(f"the peer closed the connection{': ' + str(cause) if cause else ''}")
        self.answered = answered


class DeliveryClient:
    """POSTs deliveries on kept-alive connections; see the module's documentation."""

    def __init__(
        self,
        *,
        allow_private_addresses: bool,
        user_agent: str,
        connect_timeout: float = 5.0,
        max_idle: int = 4096,
        keepalive_expiry: float = 30.0,
        max_bytes: int = 1_000_000,
        resolver: Resolver | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.allow_private = allow_private_addresses
        self.user_agent = user_agent
        self.connect_timeout = connect_timeout
        self.max_idle = max(0, max_idle)
        self.keepalive_expiry = keepalive_expiry
        self.max_bytes = max_bytes
        self._resolver = resolver or system_resolver
        self._ssl = ssl_context
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._idle_order: OrderedDict[_Connection, None] = OrderedDict()  # longest idle first
        self._open: set[_Connection] = set()
        #: TCP connections opened so far (tests and benchmarks read it).
        self.opened = 0

    def open_connections(self) -> int:
        """Connections open now (in use or idle)."""
        return len(self._open)

    async def post(self, url: str, headers: dict[str, str], body: bytes) -> Answer:
        """POST ``body`` to ``url`` with ``headers`` (besides Host, Content-Length, Connection and
        User-Agent, which are set here); the caller bounds the time it may take."""
        return await self.request("POST", url, headers, body)

    async def get(self, url: str, headers: dict[str, str]) -> Answer:
        """GET ``url`` (the NodeInfo asked before the first delivery to a host, on the connection the
        delivery then uses)."""
        return await self.request("GET", url, headers, None)

    async def request(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> Answer:
        """One request; see :meth:`post`."""
        target = _target(url)
        lines = [
            f"{method} {target.path} HTTP/1.1",
            f"Host: {target.authority}",
            f"User-Agent: {self.user_agent}",
            "Connection: keep-alive",
        ]
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        for name, value in headers.items():
            if name.lower() in ("host", "content-length", "connection", "user-agent", "transfer-encoding"):
                continue
            if any(c in name + value for c in "\r\n\0"):
                raise DeliveryHTTPError(f"refusing a header with control characters: {name!r}")
            lines.append(f"{name}: {value}")
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")
        origin = (target.scheme, target.host, target.port)
        connection = self._take_idle(origin)
        if connection is not None:
            try:
                return await self._exchange(connection, request)
            except _PeerClosed as exc:
                if exc.answered:
                    raise DeliveryHTTPError(f"cannot reach {url}: {exc}") from None
                # It closed the idle connection as we used it (nothing was answered): once more, anew.
        connection = await self._connect(origin, target.authority)
        try:
            return await self._exchange(connection, request)
        except _PeerClosed as exc:
            raise DeliveryHTTPError(f"cannot reach {url}: {exc}") from None

    async def _exchange(self, connection: _Connection, request: bytes) -> Answer:
        done = False
        try:
            answer = await connection.exchange(request)
            done = True
            return answer
        finally:
            if done and connection.reusable:
                self._put_idle(connection)
            else:  # failed, cancelled (a timeout), or not to be used again
                connection.close()

    def _take_idle(self, origin: tuple[str, str, int]) -> _Connection | None:
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()
            self._idle_order.pop(connection, None)
            if connection.idle_timer is not None:
                connection.idle_timer.cancel()
                connection.idle_timer = None
            if (
                not connection.closed
                and connection.transport is not None
                and not connection.transport.is_closing()
            ):
                if not idle:
                    del self._idle[origin]
                return connection
            connection.close()
        self._idle.pop(origin, None)
        return None

    def _put_idle(self, connection: _Connection) -> None:
        if self.max_idle == 0 or self.keepalive_expiry <= 0:
            connection.close()
            return
        while len(self._idle_order) >= self.max_idle:
            oldest, _ = self._idle_order.popitem(last=False)
            oldest.close()
        self._idle.setdefault(connection.origin, []).append(connection)
        self._idle_order[connection] = None
        connection.idle_timer = asyncio.get_running_loop().call_later(self.keepalive_expiry, connection.close)

    def _forget(self, connection: _Connection) -> None:
        """A connection closed (by us or the peer): no longer open, nor idle."""
        self._open.discard(connection)
        if connection in self._idle_order:
            del self._idle_order[connection]
            idle = self._idle.get(connection.origin)
            if idle and connection in idle:
                idle.remove(connection)
                if not idle:
                    del self._idle[connection.origin]

    async def _connect(self, origin: tuple[str, str, int], authority: str) -> _Connection:
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        context: ssl.SSLContext | None = None
        if scheme == "https":
            if self._ssl is None:
                self._ssl = httpx.create_ssl_context(trust_env=False)
            context = self._ssl
        try:
            async with asyncio.timeout(self.connect_timeout):
                if self.allow_private:
                    addresses: list[str] = [host]
                else:
                    addresses = [str(a) for a in await public_addresses(host, port, self._resolver)]
                last: OSError | None = None
                for address in addresses:
                    try:
                        _, connection = await loop.create_connection(
                            lambda: _Connection(self, origin, self.max_bytes), address, port,
                            ssl=context, server_hostname=host if context is not None else None,
                        )  # fmt: skip
                        break
                    except OSError as exc:
                        last = exc
                else:
                    assert last is not None
                    raise last
        except TimeoutError as exc:
            raise DeliveryHTTPError(f"timed out connecting to {authority}") from exc
        except (OSError, ssl.SSLError) as exc:
            raise DeliveryHTTPError(f"cannot connect to {authority}: {exc}") from exc
        self.opened += 1
        self._open.add(connection)
        return connection

    async def aclose(self) -> None:
        """Close every connection."""
        for connection in list(self._open):
            connection.close()
        self._idle.clear()
        self._idle_order.clear()
