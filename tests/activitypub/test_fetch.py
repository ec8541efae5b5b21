"""Fetching remote documents: limits, content types, ids and redirects (docs/refusals.md cases 11, 21-24, 26).

Where the behaviour is about real sockets (slow peers, streamed bodies, redirects, connect-time
refusal) the peer is a small HTTP server on 127.0.0.1; pure checks use httpx.MockTransport.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import httpcore
import httpx
import pytest

from activitypub.errors import (
    ContentTypeError,
    FetchError,
    IdMismatchError,
    InvalidActivityError,
    RemoteStatusError,
    ResponseTooLargeError,
    TooManyRedirectsError,
    UnsafeURLError,
)
from activitypub.fetch import AS2_ACCEPT, Fetched, Fetcher
from activitypub.jsonld import expand
from activitypub.transport import AddressGuardBackend, GuardedTransport, IPAddress, make_http_client

pytestmark = pytest.mark.asyncio

AS2 = "application/activity+json"


# --- a tiny HTTP/1.1 peer on loopback -------------------------------------------------------


@dataclass
class Exchange:
    """One request the loopback peer received."""

    method: str
    path: str
    headers: dict[str, str]


Route = Callable[[asyncio.StreamWriter], Awaitable[None]]


@dataclass
class LoopbackServer:
    """An HTTP server on 127.0.0.1 with an ephemeral port, answering per path."""

    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[Exchange] = field(default_factory=list)
    connections: int = 0
    port: int = 0
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def __aenter__(self) -> LoopbackServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None
        self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            request_line = (await reader.readline()).decode("latin-1").split()
            if len(request_line) < 2:
                return
            headers: dict[str, str] = {}
            while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            if length := int(headers.get("content-length", "0")):
                await reader.readexactly(length)
            method, target = request_line[0], request_line[1]
            self.requests.append(Exchange(method, target, headers))
            route = self.routes.get(target.split("?", 1)[0], reply(404, b"not found", "text/plain"))
            await route(writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client gave up, which is what several tests want
        finally:
            writer.close()
            self._tasks.discard(task)


def _head(status: int, headers: Iterable[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status} X", *(f"{k}: {v}" for k, v in headers), "Connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1")


def reply(
    status: int = 200, body: bytes = b"", content_type: str = AS2, headers: Iterable[tuple[str, str]] = ()
) -> Route:
    async def route(writer: asyncio.StreamWriter) -> None:
        meta = [("Content-Type", content_type), ("Content-Length", str(len(body))), *headers]
        writer.write(_head(status, meta) + body)
        await writer.drain()

    return route


def as2(doc: dict[str, Any], content_type: str = AS2) -> Route:
    return reply(body=json.dumps(doc).encode(), content_type=content_type)


def redirect(location: str, status: int = 302) -> Route:
    return reply(status, content_type="text/plain", headers=[("Location", location)])


def stream_forever(total: int) -> Route:
    """Send ``total`` bytes of a JSON-typed body without announcing a length."""

    async def route(writer: asyncio.StreamWriter) -> None:
        writer.write(_head(200, [("Content-Type", AS2)]))
        chunk = b" " * 65536
        for _ in range(total // len(chunk)):
            writer.write(chunk)
            await writer.drain()

    return route


def slow(seconds: float, then: Route) -> Route:
    async def route(writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(seconds)
        await then(writer)

    return route


class CallbackAuth(httpx.Auth):
    """An auth that adds the headers a test function returns for (method, url, body)."""

    def __init__(self, sign: Callable[[str, str, bytes | None], dict[str, str]]) -> None:
        self.sign = sign

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        body = request.content if request.method != "GET" else None
        request.headers.update(self.sign(request.method, str(request.url), body))
        yield request


def loopback_fetcher(**kwargs: Any) -> Fetcher:
    return Fetcher(make_http_client(allow_private_addresses=True, user_agent="fedigen-test"), **kwargs)


def mock_fetcher(handler: Callable[[httpx.Request], httpx.Response], **kwargs: Any) -> Fetcher:
    return Fetcher(httpx.AsyncClient(transport=httpx.MockTransport(handler)), **kwargs)


def as2_response(doc: Any, content_type: str = AS2, status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(doc).encode(), headers={"Content-Type": content_type})


# --- the happy path --------------------------------------------------------------------------


async def test_fetches_an_actor_with_as2_accept_and_a_signature() -> None:
    signed: list[tuple[str, str, bytes | None]] = []

    def signer(method: str, url: str, body: bytes | None) -> dict[str, str]:
        signed.append((method, url, body))
        return {"Signature": "keyId=test"}

    async with LoopbackServer() as server:
        actor = {"@context": "https://www.w3.org/ns/activitystreams", "id": server.url("/users/a")}
        server.routes["/users/a"] = as2(actor)
        fetched = await loopback_fetcher(auth=CallbackAuth(signer)).fetch_object(server.url("/users/a"))
    assert fetched == Fetched(url=server.url("/users/a"), document=actor)
    assert server.requests[0].headers["accept"] == AS2_ACCEPT
    assert server.requests[0].headers["signature"] == "keyId=test"
    assert signed == [("GET", server.url("/users/a"), None)]


async def test_unsigned_when_asked() -> None:
    def signer(method: str, url: str, body: bytes | None) -> dict[str, str]:
        raise AssertionError("must not sign")

    fetcher = mock_fetcher(lambda request: as2_response({"id": str(request.url)}), auth=CallbackAuth(signer))
    await fetcher.fetch_object("https://peer.example/notes/1", sign=False)


@pytest.mark.parametrize(
    "content_type",
    [
        "application/activity+json",
        'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
        "application/ld+json",
        "application/json; charset=utf-8",
    ],
)
async def test_accepts_as2_and_json_content_types(content_type: str) -> None:
    fetcher = mock_fetcher(lambda request: as2_response({"id": str(request.url)}, content_type))
    fetched = await fetcher.fetch_object("https://peer.example/notes/1")
    assert fetched.document["id"] == "https://peer.example/notes/1"


async def test_fragment_is_stripped_before_requesting_and_comparing() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return as2_response({"id": "https://peer.example/users/a", "publicKey": {}})

    fetched = await mock_fetcher(handler).fetch_object("https://peer.example/users/a#main-key")
    assert seen == ["https://peer.example/users/a"]
    assert fetched.url == "https://peer.example/users/a"


# --- case 21: the id must be where the document came from -----------------------------------


async def test_case21_document_whose_id_differs_is_discarded() -> None:
    async with LoopbackServer() as server:
        server.routes["/users/a"] = as2({"id": server.url("/users/someone-else")})
        with pytest.raises(IdMismatchError):
            await loopback_fetcher().fetch_object(server.url("/users/a"))


async def test_case21_document_without_id_is_discarded() -> None:
    fetcher = mock_fetcher(lambda request: as2_response({"type": "Note"}))
    with pytest.raises(IdMismatchError):
        await fetcher.fetch_object("https://peer.example/notes/1")


async def test_case21_id_of_the_final_url_on_the_same_origin_is_accepted() -> None:
    async with LoopbackServer() as server:
        server.routes["/@a"] = redirect("/users/a", 301)
        server.routes["/users/a"] = as2({"id": server.url("/users/a")})
        fetched = await loopback_fetcher().fetch_object(server.url("/@a"))
    assert fetched.url == server.url("/users/a")


async def test_case21_redirect_to_another_origin_cannot_keep_the_original_id() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "good.example":
            return httpx.Response(302, headers={"Location": "https://evil.example/fake"})
        return as2_response({"id": "https://good.example/users/a"})

    with pytest.raises(IdMismatchError):
        await mock_fetcher(handler).fetch_object("https://good.example/users/a")


# --- case 22: only AS2 / JSON content types --------------------------------------------------


async def test_case22_html_is_refused_from_a_real_server() -> None:
    async with LoopbackServer() as server:
        body = json.dumps({"id": server.url("/users/a")}).encode()
        server.routes["/users/a"] = reply(body=body, content_type="text/html; charset=utf-8")
        with pytest.raises(ContentTypeError):
            await loopback_fetcher().fetch_object(server.url("/users/a"))


@pytest.mark.parametrize(
    "content_type", ["text/html", "application/octet-stream", "image/png", "image/svg+xml", ""]
)
async def test_case22_non_as2_content_types_are_refused(content_type: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        response = as2_response({"id": str(request.url)}, content_type)
        if not content_type:
            del response.headers["Content-Type"]
        return response

    with pytest.raises(ContentTypeError):
        await mock_fetcher(handler).fetch_object("https://peer.example/notes/1")


# --- case 23: size, redirects and time are bounded -------------------------------------------


async def test_case23_more_than_two_redirects_are_refused() -> None:
    async with LoopbackServer() as server:
        for hop in range(3):
            server.routes[f"/r{hop}"] = redirect(f"/r{hop + 1}")
        server.routes["/r3"] = as2({"id": server.url("/r3")})
        with pytest.raises(TooManyRedirectsError):
            await loopback_fetcher().fetch_object(server.url("/r0"))
        assert [r.path for r in server.requests] == ["/r0", "/r1", "/r2"]  # the 4th hop is never asked


async def test_case23_two_redirects_are_followed_and_each_hop_is_signed() -> None:
    signed: list[str] = []

    def signer(method: str, url: str, body: bytes | None) -> dict[str, str]:
        signed.append(url)
        return {"Signature": url}

    async with LoopbackServer() as server:
        server.routes["/r0"] = redirect(server.url("/r1#frag"))
        server.routes["/r1"] = redirect("/r2", 308)
        server.routes["/r2"] = as2({"id": server.url("/r2")})
        fetched = await loopback_fetcher(auth=CallbackAuth(signer)).fetch_object(server.url("/r0"))
    assert fetched.url == server.url("/r2")
    assert signed == [server.url(p) for p in ("/r0", "/r1", "/r2")]
    assert [r.headers["signature"] for r in server.requests] == signed


async def test_case23_a_two_megabyte_stream_is_aborted() -> None:
    async with LoopbackServer() as server:
        server.routes["/big"] = stream_forever(2 * 1024 * 1024)
        with pytest.raises(ResponseTooLargeError):
            await loopback_fetcher().fetch_object(server.url("/big"))


async def test_case23_an_announced_oversized_body_is_refused_before_reading() -> None:
    class Unreadable(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            raise AssertionError("the body must not be read")
            yield b""  # pragma: no cover

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"Content-Type": AS2, "Content-Length": "2000000"}
        return httpx.Response(200, headers=headers, stream=Unreadable())

    with pytest.raises(ResponseTooLargeError):
        await mock_fetcher(handler).fetch_object("https://peer.example/big")


async def test_case23_a_slow_peer_is_abandoned_at_the_deadline() -> None:
    async with LoopbackServer() as server:
        server.routes["/slow"] = slow(12, as2({"id": server.url("/slow")}))
        started = time.monotonic()
        with pytest.raises(FetchError) as caught:
            await loopback_fetcher(timeout=0.3).fetch_object(server.url("/slow"))
    assert time.monotonic() - started < 5
    assert type(caught.value) is FetchError


# --- case 24: contexts are never fetched; graph-shaped documents are refused ------------------


async def test_case24_a_context_naming_an_internal_url_is_never_fetched() -> None:
    async with LoopbackServer() as server:
        internal_context = server.url("/internal-context")
        server.routes["/internal-context"] = as2({"@context": {}})
        doc = {"@context": [internal_context], "id": server.url("/notes/1"), "type": "Note"}
        server.routes["/notes/1"] = as2(doc)
        fetched = await loopback_fetcher().fetch_object(server.url("/notes/1"))
        with pytest.raises(InvalidActivityError):
            expand(fetched.document)
        assert [r.path for r in server.requests] == ["/notes/1"]


@pytest.mark.parametrize("keyword", ["@graph", "@included", "@reverse"])
async def test_case24_top_level_graph_keywords_are_refused(keyword: str) -> None:
    fetcher = mock_fetcher(lambda request: as2_response({"id": str(request.url), keyword: []}))
    with pytest.raises(InvalidActivityError):
        await fetcher.fetch_object("https://peer.example/notes/1")


# --- cases 11 and 26: unsafe targets are never contacted -------------------------------------


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "data:application/json,{}", "javascript:alert(1)", "ftp://peer.example/a"]
)
async def test_case26_non_http_schemes_are_refused_without_a_request(url: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request may be sent")

    with pytest.raises(UnsafeURLError):
        await mock_fetcher(handler).fetch_object(url)


async def test_case26_a_redirect_to_a_file_url_is_refused() -> None:
    fetcher = mock_fetcher(lambda request: httpx.Response(302, headers={"Location": "file:///etc/passwd"}))
    with pytest.raises(UnsafeURLError):
        await fetcher.fetch_object("https://peer.example/a")


async def test_case11_a_loopback_key_url_is_refused_and_never_connected() -> None:
    client = make_http_client(allow_private_addresses=False, user_agent="fedigen-test")
    async with LoopbackServer() as server:
        server.routes["/users/a"] = as2({"id": server.url("/users/a")})
        with pytest.raises(UnsafeURLError):
            await Fetcher(client).fetch_object(server.url("/users/a#main-key"))
    assert server.connections == 0


class _RecordingBackend(httpcore.AsyncMockBackend):
    """Answers every connection with the same canned bytes and records where it connected."""

    def __init__(self, buffer: list[bytes]) -> None:
        super().__init__(buffer)
        self.hosts: list[str] = []

    async def connect_tcp(
        self, host: str, port: int, *args: Any, **kwargs: Any
    ) -> httpcore.AsyncNetworkStream:
        self.hosts.append(host)
        return await super().connect_tcp(host, port, *args, **kwargs)


async def test_case11_a_redirect_into_the_private_network_is_refused_at_connect_time() -> None:
    addresses = {"public.example": "93.184.215.14", "internal.example": "10.1.2.3"}

    async def resolver(host: str, port: int) -> list[IPAddress]:
        import ipaddress

        return [ipaddress.ip_address(addresses[host])]

    canned = [b"HTTP/1.1 302 Found\r\n", b"Location: http://internal.example/admin\r\n", b"\r\n"]
    inner = _RecordingBackend(canned)
    backend = AddressGuardBackend(allow_private_addresses=False, resolver=resolver, inner=inner)
    client = httpx.AsyncClient(transport=GuardedTransport(backend))
    with pytest.raises(UnsafeURLError):
        await Fetcher(client).fetch_object("http://public.example/users/a")
    assert inner.hosts == ["93.184.215.14"]  # the checked IP, and never the internal one


# --- other failures --------------------------------------------------------------------------


async def test_error_status_carries_status_and_retry_after() -> None:
    async with LoopbackServer() as server:
        server.routes["/busy"] = reply(429, b"slow down", "text/plain", [("Retry-After", "120")])
        with pytest.raises(RemoteStatusError) as caught:
            await loopback_fetcher().fetch_object(server.url("/busy"))
    assert (caught.value.status, caught.value.retry_after) == (429, "120")


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'"a string"', b"[" * 100_000])
async def test_a_body_that_is_not_a_json_object_is_refused(body: bytes) -> None:
    fetcher = mock_fetcher(lambda request: httpx.Response(200, content=body, headers={"Content-Type": AS2}))
    with pytest.raises(FetchError):
        await fetcher.fetch_object("https://peer.example/notes/1")


async def test_network_errors_become_fetch_errors() -> None:
    async with LoopbackServer() as server:
        closed_url = server.url("/gone")
    with pytest.raises(FetchError) as caught:
        await loopback_fetcher().fetch_object(closed_url)
    assert isinstance(caught.value.__cause__, httpx.HTTPError)


# --- WebFinger JSON --------------------------------------------------------------------------


async def test_fetch_jrd_is_unsigned_and_accepts_jrd() -> None:
    def signer(method: str, url: str, body: bytes | None) -> dict[str, str]:
        raise AssertionError("WebFinger is never signed")

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["accept"] == "application/jrd+json, application/json"
        return as2_response({"subject": "acct:a@peer.example"}, "application/jrd+json")

    jrd = await mock_fetcher(handler, auth=CallbackAuth(signer)).fetch_jrd(
        "https://peer.example/.well-known/webfinger"
    )
    assert jrd == {"subject": "acct:a@peer.example"}


async def test_fetch_jrd_refuses_html() -> None:
    fetcher = mock_fetcher(lambda request: as2_response({}, "text/html"))
    with pytest.raises(ContentTypeError):
        await fetcher.fetch_jrd("https://peer.example/.well-known/webfinger")


# --- deliveries ------------------------------------------------------------------------------


async def test_post_sends_the_headers_and_does_not_follow_redirects() -> None:
    async with LoopbackServer() as server:
        server.routes["/inbox"] = redirect("/elsewhere")
        auth = CallbackAuth(lambda method, url, body: {"Signature": f"{method} {url} {body!r}"})
        response = await loopback_fetcher().post(server.url("/inbox"), b"{}", auth=auth)
    assert response.status_code == 302
    assert [(r.method, r.path) for r in server.requests] == [("POST", "/inbox")]
    assert server.requests[0].headers["signature"] == f"POST {server.url('/inbox')} b'{{}}'"
    assert server.requests[0].headers["content-type"] == AS2


async def test_post_keeps_at_most_max_bytes_of_the_answer() -> None:
    async with LoopbackServer() as server:
        server.routes["/inbox"] = stream_forever(2 * 1024 * 1024)
        response = await loopback_fetcher(max_bytes=1000).post(server.url("/inbox"), b"{}")
    assert response.status_code == 200
    assert len(response.content) == 1000


async def test_post_refuses_unsafe_schemes() -> None:
    with pytest.raises(UnsafeURLError):
        await loopback_fetcher().post("file:///tmp/inbox", b"{}")
