"""WebFinger: handles in, actor ids out (RFC 7033, Mastodon's JRD shape)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from activitypub.errors import ContentTypeError, FetchError, UnsafeURLError
from activitypub.fetch import Fetcher
from activitypub.transport import make_http_client
from activitypub.webfinger import parse_handle, resolve_handle, webfinger_url
from tests.activitypub.test_fetch import CallbackAuth

pytestmark = pytest.mark.asyncio

AS2_LINK = {"rel": "self", "type": "application/activity+json", "href": "https://peer.example/users/alice"}
PROFILE_LINK = {
    "rel": "http://webfinger.net/rel/profile-page",
    "type": "text/html",
    "href": "https://peer.example/@alice",
}


def jrd(*links: dict[str, Any]) -> dict[str, Any]:
    return {"subject": "acct:alice@peer.example", "links": list(links)}


def fetcher_answering(
    document: dict[str, Any],
    seen: list[httpx.Request] | None = None,
    content_type: str = "application/jrd+json",
) -> Fetcher:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return httpx.Response(
            200, content=json.dumps(document).encode(), headers={"Content-Type": content_type}
        )

    def signer(method: str, url: str, body: bytes | None) -> dict[str, str]:
        raise AssertionError("WebFinger requests are not signed")

    return Fetcher(httpx.AsyncClient(transport=httpx.MockTransport(handler)), auth=CallbackAuth(signer))


@pytest.mark.parametrize(
    ("handle", "expected"),
    [
        ("@alice@peer.example", ("alice", "peer.example")),
        ("alice@peer.example", ("alice", "peer.example")),
        ("acct:alice@peer.example", ("alice", "peer.example")),
        ("  @Alice@Peer.Example ", ("Alice", "peer.example")),
        ("bob@127.0.0.1:8080", ("bob", "127.0.0.1:8080")),
        ("@bsky.brid.gy@bsky.brid.gy", ("bsky.brid.gy", "bsky.brid.gy")),
        ("did~plc_x-y@bsky.brid.gy", ("did~plc_x-y", "bsky.brid.gy")),
    ],
)
async def test_parse_handle(handle: str, expected: tuple[str, str]) -> None:
    assert parse_handle(handle) == expected


@pytest.mark.parametrize(
    "handle",
    ["alice", "@alice", "", "@", "alice@", "@peer.example", "a@b@c", "a b@peer.example", "a@peer.example/x",
     "a@peer.example:0", "a@peer.example:99999", "a@-peer.example", "a@peer..example", "a/b@peer.example",
     "https://peer.example/users/a"],
)  # fmt: skip
async def test_malformed_handles_are_value_errors(handle: str) -> None:
    with pytest.raises(ValueError):
        parse_handle(handle)


async def test_resolves_the_activitypub_self_link() -> None:
    seen: list[httpx.Request] = []
    fetcher = fetcher_answering(jrd(PROFILE_LINK, AS2_LINK), seen)
    assert await resolve_handle(fetcher, "@alice@peer.example") == "https://peer.example/users/alice"
    [request] = seen
    assert request.url.path == "/.well-known/webfinger"
    assert request.url.scheme == "https"
    assert request.url.params["resource"] == "acct:alice@peer.example"
    assert request.headers["accept"] == "application/jrd+json, application/json"
    assert "signature" not in request.headers


async def test_ld_json_with_the_activitystreams_profile_counts() -> None:
    link = {
        "rel": "self",
        "type": 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
        "href": "https://peer.example/ap/alice",
    }
    assert await resolve_handle(fetcher_answering(jrd(link)), "alice@peer.example") == link["href"]


async def test_activity_json_is_preferred_when_both_are_listed() -> None:
    ld_link = {
        "rel": "self",
        "type": 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
        "href": "https://peer.example/ld/alice",
    }
    actor = await resolve_handle(fetcher_answering(jrd(ld_link, AS2_LINK)), "alice@peer.example")
    assert actor == AS2_LINK["href"]


@pytest.mark.parametrize(
    "document",
    [
        jrd(PROFILE_LINK),
        jrd({"rel": "self", "type": "text/html", "href": "https://peer.example/@alice"}),
        jrd(
            {"rel": "self", "type": "application/ld+json", "href": "https://peer.example/x"}
        ),  # no AS profile
        jrd({"rel": "self", "type": "application/activity+json"}),
        {"subject": "acct:alice@peer.example"},
        {"subject": "acct:alice@peer.example", "links": "nope"},
    ],
)
async def test_no_activitypub_self_link_is_a_fetch_error(document: dict[str, Any]) -> None:
    with pytest.raises(FetchError):
        await resolve_handle(fetcher_answering(document), "alice@peer.example")


async def test_a_self_link_with_an_unsafe_scheme_is_refused() -> None:
    link = {"rel": "self", "type": "application/activity+json", "href": "javascript:alert(1)"}
    with pytest.raises(UnsafeURLError):
        await resolve_handle(fetcher_answering(jrd(link)), "alice@peer.example")


async def test_a_jrd_served_as_html_is_refused() -> None:
    with pytest.raises(ContentTypeError):
        await resolve_handle(fetcher_answering(jrd(AS2_LINK), content_type="text/html"), "alice@peer.example")


async def test_malformed_handle_sends_no_request() -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(ValueError, match="expected user@host"):
        await resolve_handle(fetcher_answering(jrd(AS2_LINK), seen), "alice")
    assert seen == []


async def test_only_http_and_https_schemes() -> None:
    assert webfinger_url("a", "peer.example", scheme="http").startswith("http://peer.example/")
    with pytest.raises(ValueError):
        webfinger_url("a", "peer.example", scheme="ftp")


async def test_http_lookup_against_a_loopback_peer_with_a_port() -> None:
    requests: list[str] = []

    def answer(port: int) -> bytes:
        link = {
            "rel": "self",
            "type": "application/activity+json",
            "href": f"http://127.0.0.1:{port}/users/bob",
        }
        return json.dumps(jrd(link)).encode()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        requests.append((await reader.readline()).decode().split()[1])
        while await reader.readline() not in (b"\r\n", b""):
            pass
        body = answer(port)
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/jrd+json\r\nContent-Length: {len(body)}\r\n"
        writer.write(head.encode() + b"Connection: close\r\n\r\n" + body)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with make_http_client(allow_private_addresses=True, user_agent="fedigen-test") as client:
            actor = await resolve_handle(Fetcher(client), f"@bob@127.0.0.1:{port}", scheme="http")
    finally:
        server.close()
    assert actor == f"http://127.0.0.1:{port}/users/bob"
    assert requests == [f"/.well-known/webfinger?resource=acct%3Abob%40127.0.0.1%3A{port}"]
