"""The process-wide HTTP client and the guard that keeps it off private networks.

Every outgoing request of the activitypub package goes through the one pooled
``httpx.AsyncClient`` built by :func:`make_http_client`. Its transport is built directly
on ``httpcore.AsyncConnectionPool`` (one small pool per host, under one cap on connections to all
hosts together) with an :class:`AddressGuardBackend`: the pool asks the
backend for every new TCP connection, the backend resolves the host itself, refuses the
connection if *any* resolved address is not public, and then connects to the checked IP
(never resolving the name a second time). Because the check happens at connect time it
covers redirects, URLs we build ourselves, and DNS rebinding alike (docs/refusals.md cases 11
and 26). TLS still verifies the certificate against the URL's host name, since httpcore passes
the origin host as SNI / server_hostname independently of the connect host.

httpx 0.28's ``AsyncHTTPTransport`` has no ``network_backend`` parameter, so
:class:`GuardedTransport` wraps the httpcore pool itself using only the public APIs of both
libraries (no private attributes patched). Proxies are deliberately unsupported: a proxy
would make the guard check the proxy's address instead of the target's.

:class:`~activitypub.errors.UnsafeURLError` raised by the backend is not an httpcore
exception, so it passes through httpcore and httpx unchanged and reaches the caller as is.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import re
import socket
import ssl
from collections import OrderedDict
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from urllib.parse import urlsplit

import httpcore
import httpx

from .errors import UnsafeURLError

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: ``(host, port) -> addresses``; injectable so tests never touch real DNS.
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]

# Ranges Python's ``is_private``/``is_reserved`` do not cover on every version.
_EXTRA_REFUSED = (
    ipaddress.ip_network("100.64.0.0/10"),  # CGNAT, RFC 6598
    ipaddress.ip_network("192.0.0.0/24"),  # IETF protocol assignments, RFC 6890
    ipaddress.ip_network("198.18.0.0/15"),  # benchmarking, RFC 2544
    ipaddress.ip_network("fc00::/7"),  # unique local addresses, RFC 4193
    ipaddress.ip_network("fec0::/10"),  # deprecated site-local, RFC 3879
    ipaddress.ip_network("64:ff9b:1::/48"),  # local-use NAT64, RFC 8215
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the last 32 bits are an IPv4 address


def is_public_address(ip: IPAddress) -> bool:
    """Return True if ``ip`` is a globally routable unicast address we may connect to."""
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv6 address that embeds an IPv4 one is judged by the embedded address.
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip.teredo is not None:
            embedded = ip.teredo[1]
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and not is_public_address(embedded):
            return False
    if (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or any(ip in net for net in _EXTRA_REFUSED if net.version == ip.version)
    ):
        return False
    return ip.is_global


def is_public_http_url(url: str) -> bool:
    """True for an http(s) URL whose host is a name or a public IP (media and icons we show).

    Names are resolved (and checked) only when fetched; this drops what is visibly internal:
    loopback, private and link-local literals, and localhost (docs/refusals.md case 26).
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return False
    if parts.scheme.lower() not in ("http", "https") or not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return False
    try:
        return is_public_address(ipaddress.ip_address(host))
    except ValueError:
        legacy = _legacy_ipv4(host)
        return legacy is None or is_public_address(legacy)


def _legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address browsers read from decimal, octal or hex forms ("2130706433", "0177.1", "0x7f.1"),
    which are no names at all: None for a real name."""
    parts = host.split(".")
    if not all(re.fullmatch(r"0x[0-9a-f]*|[0-9]+", p, re.IGNORECASE) for p in parts):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return ipaddress.IPv4Address("0.0.0.0")  # numeric but malformed: nothing to show


def check_url_scheme(url: str) -> None:
    """Raise UnsafeURLError unless ``url`` is an absolute http(s) URL with a host."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:
        raise UnsafeURLError(f"malformed URL: {url!r}") from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise UnsafeURLError(f"refusing URL with scheme {parts.scheme!r}: only http and https are fetched")
    if not host:
        raise UnsafeURLError(f"refusing URL without a host: {url!r}")


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """Resolve ``host`` with the event loop's getaddrinfo, in the order the system prefers."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _canonname, sockaddr in infos:
        # Strip an IPv6 zone ("fe80::1%eth0"): the address itself decides.
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


async def public_addresses(host: str, port: int, resolver: Resolver = system_resolver) -> list[IPAddress]:
    """The addresses of ``host`` to connect to, all of them public: UnsafeURLError if any is not (one
    private answer is enough: a rebinding resolver may hand out the public address first and the
    private one to whoever asks next); OSError if it resolves to none."""
    try:
        addresses = [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:  # a host name, not a literal address
        addresses = []
    if not addresses:
        try:
            addresses = await resolver(host, port)
        except OSError as exc:  # socket.gaierror and friends
            raise OSError(f"cannot resolve {host}: {exc}") from exc
        if not addresses:
            raise OSError(f"{host} resolves to no address")
    refused = [a for a in addresses if not is_public_address(a)]
    if refused:
        # The message never names the address: it reaches users, who must not learn our network.
        log.info("refused %s: it resolves to %s, not a public address", host, refused[0])
        raise UnsafeURLError(f"refusing to connect to {host}: it is not a public address")
    return addresses


class AddressGuardBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that connects only to public addresses it resolved itself."""

    def __init__(
        self,
        *,
        allow_private_addresses: bool,
        resolver: Resolver | None = None,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._allow_private = allow_private_addresses
        self._resolver = resolver or system_resolver
        self._inner = inner or httpcore.AnyIOBackend()

    # The parameter names below are httpcore's AsyncNetworkBackend interface.
    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Resolve ``host``, refuse if any address is not public, then connect to a checked IP."""
        if self._allow_private:
            return await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        try:
            async with asyncio.timeout(timeout):
                addresses = await public_addresses(host, port, self._resolver)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        except OSError as exc:  # not resolved, or to no address
            raise httpcore.ConnectError(str(exc)) from exc
        last_error: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in addresses:
            remaining = None if deadline is None else max(deadline - loop.time(), 0.0)
            try:
                return await self._inner.connect_tcp(
                    str(address), port, remaining, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None  # public_addresses never returns an empty list
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Refuse: the federation client never talks over Unix sockets."""
        raise UnsafeURLError("Unix socket connections are not allowed")

    async def sleep(self, seconds: float) -> None:
        """Sleep using the wrapped backend."""
        await self._inner.sleep(seconds)


# httpcore exceptions -> httpx exceptions, most specific first (the same correspondence
# httpx's own AsyncHTTPTransport applies), so callers only ever see httpx's tree.
_ERROR_MAP: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.ProxyError, httpx.ProxyError),
)


@contextlib.contextmanager
def _httpx_errors(request: httpx.Request) -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for core_type, httpx_type in _ERROR_MAP:
            if isinstance(exc, core_type):
                raise httpx_type(str(exc), request=request) from exc
        raise


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(
        self, stream: AsyncIterable[bytes], request: httpx.Request, done: Callable[[], None] | None = None
    ) -> None:
        self._stream = stream
        self._request = request
        self._done = done

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _httpx_errors(self._request):
            async for chunk in self._stream:
                yield chunk

    async def aclose(self) -> None:
        try:
            close = getattr(self._stream, "aclose", None)
            if close is not None:
                with _httpx_errors(self._request):
                    await close()
        finally:
            done, self._done = self._done, None
            if done is not None:
                done()


class _Host:
    """One origin's own httpcore pool, and how many of our requests are using it."""

    def __init__(self, pool: httpcore.AsyncConnectionPool) -> None:
        self.pool = pool
        self.active = 0

    def open(self) -> int:
        return len(self.pool.connections)

    def has_idle(self) -> bool:
        return any(c.is_available() and not c.has_expired() for c in self.pool.connections)


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport over httpcore pools whose connections go through a guard backend.

    Each origin (scheme, host, port) gets a small pool of its own (at most ``max_per_host``
    connections, kept alive ``keepalive_expiry`` seconds), and at most ``max_connections`` are open to
    all origins together: a request that needs a new connection when that many are open first closes
    the idle connections of the origin used longest ago (one httpcore pool for every host would do the
    same, but httpcore 1.0 walks all of its connections once per connection on every request, which
    with hundreds of hosts costs milliseconds per request). At most ``max_connections`` requests are
    in flight; more wait (up to the pool timeout) for one to finish.
    """

    def __init__(
        self,
        backend: httpcore.AsyncNetworkBackend,
        *,
        max_connections: int = 100,
        max_keepalive: int = 20,
        keepalive_expiry: float = 5.0,
        ssl_context: ssl.SSLContext | None = None,
        max_per_host: int = 8,
    ) -> None:
        self._backend = backend
        self._ssl = ssl_context or httpx.create_ssl_context(trust_env=False)
        self._max = max(1, max_connections)
        # Idle connections kept, in all; the rest are closed as their requests end.
        self._max_idle = max(0, min(max_keepalive, self._max))
        self._per_host = max(1, min(max_per_host, self._max))
        self._expiry = keepalive_expiry
        self._hosts: OrderedDict[tuple[bytes, bytes, int | None], _Host] = OrderedDict()  # least recent first
        self._slots = asyncio.Semaphore(self._max)
        # Held while room is counted and made: the request then reaches httpcore, which puts any new
        # connection in its host's pool before its first await, so the next count includes it.
        self._room = asyncio.Lock()

    def open_connections(self) -> int:
        """Connections open (or opening) now, to all hosts together."""
        return sum(host.open() for host in self._hosts.values())

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through its host's guarded pool."""
        assert isinstance(request.stream, httpx.AsyncByteStream)
        timeouts = request.extensions.get("timeout", {})
        try:
            async with asyncio.timeout(timeouts.get("pool")):
                await self._slots.acquire()
        except TimeoutError as exc:
            raise httpx.PoolTimeout("no connection became free in time", request=request) from exc
        origin = (request.url.raw_scheme, request.url.raw_host, request.url.port)
        try:
            host = await self._host_for(origin)
        except BaseException:
            self._slots.release()
            raise
        host.active += 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                host.active -= 1
                self._slots.release()

        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            with _httpx_errors(request):
                # No await between counting room (in _host_for) and this call: the new connection is in
                # the host's pool before anyone counts again.
                core_response = await host.pool.handle_async_request(core_request)
        except BaseException:
            release()
            raise
        assert isinstance(core_response.stream, AsyncIterable)
        return httpx.Response(
            status_code=core_response.status,
            headers=core_response.headers,
            stream=_ResponseStream(core_response.stream, request, release),
            extensions=core_response.extensions,
        )

    async def _host_for(self, origin: tuple[bytes, bytes, int | None]) -> _Host:
        """The origin's pool, after making room for one more connection when it has no idle one."""
        async with self._room:
            host = self._hosts.get(origin)
            if host is None:
                host = self._hosts[origin] = _Host(
                    httpcore.AsyncConnectionPool(
                        ssl_context=self._ssl, max_connections=self._per_host,
                        max_keepalive_connections=self._per_host, keepalive_expiry=self._expiry,
                        network_backend=self._backend,
                    )
                )  # fmt: skip
            self._hosts.move_to_end(origin)
            if not host.has_idle():
                await self._make_room(keep=origin)
            return host

    async def _make_room(self, keep: tuple[bytes, bytes, int | None]) -> None:
        """Close idle hosts' pools, least recently used first, until a new connection fits the cap (or
        the idle ones are within ``max_keepalive``); forget hosts with nothing open."""
        victims: list[_Host] = []
        for origin, host in list(self._hosts.items()):
            if origin != keep and host.active == 0 and host.open() == 0:
                del self._hosts[origin]
        total = self.open_connections()
        idle = sum(host.open() for host in self._hosts.values() if host.active == 0)
        for origin, host in list(self._hosts.items()):
            if total < self._max and idle <= self._max_idle:
                break
            if origin == keep or host.active:
                continue
            count = host.open()
            del self._hosts[origin]
            victims.append(host)
            total -= count
            idle -= count
        for host in victims:
            await host.pool.aclose()

    async def aclose(self) -> None:
        """Close every pooled connection."""
        hosts, self._hosts = list(self._hosts.values()), OrderedDict()
        for host in hosts:
            await host.pool.aclose()


def make_http_client(
    *,
    allow_private_addresses: bool,
    user_agent: str,
    connect_timeout: float = 5.0,
    timeout: float = 10.0,
    max_connections: int = 100,
    max_keepalive: int | None = None,
    keepalive_expiry: float = 30.0,
    max_per_host: int = 8,
    resolver: Resolver | None = None,
    network: httpcore.AsyncNetworkBackend | None = None,
) -> httpx.AsyncClient:
    """Build the process-wide pooled client; private addresses are refused at connect time.

    At most ``max_connections`` are open at once, to all hosts together (at most ``max_per_host`` to
    one), and as many requests in flight: a request to a host with no idle connection, when that many
    are open, closes the idle connections of the host used longest ago, so a fan-out to thousands of
    hosts keeps a bounded number of sockets. Idle connections are kept ``keepalive_expiry`` seconds for
    the next request to their host, at most ``max_keepalive`` of them (default: ``max_connections``).
    ``network`` is the backend under the address guard (tests count connections with it).
    """
    backend = AddressGuardBackend(
        allow_private_addresses=allow_private_addresses, resolver=resolver, inner=network
    )
    transport = GuardedTransport(
        backend, max_connections=max_connections, max_keepalive=max_keepalive or max_connections,
        keepalive_expiry=keepalive_expiry, max_per_host=max_per_host,
    )  # fmt: skip
    return httpx.AsyncClient(
        transport=transport,
        headers={"User-Agent": user_agent},
        timeout=httpx.Timeout(timeout, connect=connect_timeout),
        follow_redirects=False,  # the Fetcher follows redirects itself, counting and re-checking each hop
        trust_env=False,  # no proxies or .netrc from the environment
    )
