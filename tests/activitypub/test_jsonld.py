"""JSON-LD: bundled contexts only, refused shapes, the audience helpers (docs/refusals.md case 24)."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from pyld import jsonld as pyld_jsonld

from activitypub.errors import InvalidActivityError
from activitypub.jsonld import (
    MAX_DEPTH,
    MAX_LIST_ITEMS,
    PUBLIC,
    bundled_context_urls,
    check_document,
    document_loader,
    expand,
    id_of,
    ids_of,
    is_public,
    normalize_audience,
)

pytestmark = pytest.mark.asyncio

AS = "https://www.w3.org/ns/activitystreams#"
SEC = "https://w3id.org/security#"


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to resolve or connect fails the test: the loader must be offline."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


# --- the offline document loader -------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://www.w3.org/ns/activitystreams",
        "http://www.w3.org/ns/activitystreams",
        "https://www.w3.org/ns/activitystreams/",
        "https://www.w3.org/ns/activitystreams.jsonld",
        "https://WWW.W3.ORG/ns/activitystreams",
    ],
)
async def test_every_spelling_of_the_as_context_is_the_bundled_copy(url: str) -> None:
    loaded = document_loader(url)
    assert loaded["document"]["@context"]["Note"] == "as:Note"
    assert loaded["documentUrl"] == url


@pytest.mark.parametrize("url", bundled_context_urls())
async def test_each_bundled_context_loads_and_processes(url: str) -> None:
    assert "@context" in document_loader(url)["document"]
    expanded = expand({"@context": url, "@id": "https://peer.example/x", "@type": "https://example/T"})
    assert expanded[0]["@id"] == "https://peer.example/x"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/context",  # case 24: an internal URL
        "http://169.254.169.254/latest/meta-data",
        "https://example.com/huge-context.jsonld",
        "https://gotosocial.org/ns",  # real but not bundled
        "file:///etc/passwd",
        "https://www.w3.org/ns/activitystreams?x=1",
        "https://www.w3.org/ns/activitystreams-evil",
    ],
)
async def test_case24_the_loader_refuses_everything_else_without_network(url: str) -> None:
    with pytest.raises(pyld_jsonld.JsonLdError):
        document_loader(url)


async def test_case24_expand_refuses_unknown_contexts_offline_even_if_pyld_has_a_network_loader(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    called: list[str] = []

    def network_loader(url: str, options: Any = None) -> Any:
        called.append(url)
        raise AssertionError("pyld's global loader must not be used")

    monkeypatch.setattr(pyld_jsonld, "_default_document_loader", network_loader)
    doc = {"@context": ["https://www.w3.org/ns/activitystreams", "http://10.0.0.1/ctx"], "type": "Note"}
    with pytest.raises(InvalidActivityError, match="only bundled contexts"):
        expand(doc)
    assert called == []


# --- expansion of what peers actually send ---------------------------------------------------


MASTODON_ACTOR: dict[str, Any] = {
    "@context": [
        "https://www.w3.org/ns/activitystreams",
        "https://w3id.org/security/v1",
        {
            "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
            "toot": "http://joinmastodon.org/ns#",
            "featured": {"@id": "toot:featured", "@type": "@id"},
            "schema": "http://schema.org#",
            "PropertyValue": "schema:PropertyValue",
            "value": "schema:value",
            "discoverable": "toot:discoverable",
            "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
        },
    ],
    "id": "https://mastodon.example/users/alice",
    "type": "Person",
    "preferredUsername": "alice",
    "inbox": "https://mastodon.example/users/alice/inbox",
    "endpoints": {"sharedInbox": "https://mastodon.example/inbox"},
    "manuallyApprovesFollowers": False,
    "publicKey": {
        "id": "https://mastodon.example/users/alice#main-key",
        "owner": "https://mastodon.example/users/alice",
        "publicKeyPem": "-----BEGIN PUBLIC KEY-----\n...",
    },
    "attachment": [{"type": "PropertyValue", "name": "Site", "value": "<a>x</a>"}],
}


async def test_expands_a_mastodon_actor() -> None:
    [node] = expand(MASTODON_ACTOR)
    assert node["@type"] == [AS + "Person"]
    assert node["http://www.w3.org/ns/ldp#inbox"] == [{"@id": "https://mastodon.example/users/alice/inbox"}]
    [key] = node[SEC + "publicKey"]
    assert key["@id"] == "https://mastodon.example/users/alice#main-key"
    assert key[SEC + "owner"] == [{"@id": "https://mastodon.example/users/alice"}]
    assert key[SEC + "publicKeyPem"][0]["@value"].startswith("-----BEGIN")
    assert node[AS + "endpoints"][0][AS + "sharedInbox"] == [{"@id": "https://mastodon.example/inbox"}]


async def test_expands_a_fedify_actor_with_integrity_proof_and_multikey() -> None:
    doc = {
        "@context": [
            "https://www.w3.org/ns/activitystreams",
            "https://w3id.org/security/v1",
            "https://w3id.org/security/data-integrity/v1",
            "https://www.w3.org/ns/did/v1",
            "https://w3id.org/security/multikey/v1",
        ],
        "id": "https://fedify.example/users/bob",
        "type": "Person",
        "alsoKnownAs": ["https://old.example/users/bob"],
        "assertionMethod": [
            {
                "id": "https://fedify.example/users/bob#key-2",
                "type": "Multikey",
                "controller": "https://fedify.example/users/bob",
                "publicKeyMultibase": "z6Mk",
            }
        ],
    }
    [node] = expand(doc)
    [method] = node[SEC + "assertionMethod"]
    assert method["@type"] == [SEC + "Multikey"]
    assert method[SEC + "controller"] == [{"@id": "https://fedify.example/users/bob"}]
    assert node[AS + "alsoKnownAs"] == [{"@id": "https://old.example/users/bob"}]


async def test_as_public_compact_form_expands_to_the_public_iri() -> None:
    [node] = expand(
        {"@context": "https://www.w3.org/ns/activitystreams", "type": "Note", "to": ["as:Public"]}
    )
    assert node[AS + "to"] == [{"@id": PUBLIC}]


@pytest.mark.parametrize(
    "term",
    [
        *"Accept Add Announce Arrive Block Create Delete Dislike Flag Follow Ignore Invite Join".split(),
        *"Leave Like Listen Move Offer Question Reject Read Remove TentativeReject TentativeAccept".split(),
        "Travel",
        *"Undo Update View Application Group Organization Person Service Article Audio Document".split(),
        *"Event Image Note Page Place Profile Relationship Tombstone Video Mention Link Object".split(),
        *"Activity IntransitiveActivity Collection OrderedCollection CollectionPage".split(),
        "OrderedCollectionPage",
    ],
)
async def test_the_as_context_defines_every_core_type(term: str) -> None:
    [node] = expand(
        {"@context": "https://www.w3.org/ns/activitystreams", "id": "https://x.example/1", "type": term}
    )
    assert node["@type"] == [AS + term]


async def test_ordered_items_keep_their_order() -> None:
    doc = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "type": "OrderedCollection",
        "orderedItems": ["https://x.example/2", "https://x.example/1"],
    }
    [node] = expand(doc)
    assert node[AS + "items"] == [{"@list": [{"@id": "https://x.example/2"}, {"@id": "https://x.example/1"}]}]


# --- shapes refused before anything reads the document ---------------------------------------


@pytest.mark.parametrize("keyword", ["@graph", "@included", "@reverse"])
async def test_case24_top_level_graph_keywords_are_refused(keyword: str) -> None:
    with pytest.raises(InvalidActivityError, match=keyword):
        check_document({"@context": "https://www.w3.org/ns/activitystreams", keyword: [{"id": "x"}]})


@pytest.mark.parametrize(
    "context",
    [{"members": "@graph"}, {"extra": {"@id": "@included"}}, {"parents": {"@reverse": "as:children"}}],
)
async def test_case24_aliases_of_refused_keywords_are_refused(context: dict[str, Any]) -> None:
    with pytest.raises(InvalidActivityError):
        check_document({"@context": ["https://www.w3.org/ns/activitystreams", context], "id": "x"})


@pytest.mark.parametrize("context", [42, True, None, ["https://www.w3.org/ns/activitystreams", 7], [[]]])
async def test_malformed_contexts_are_refused(context: Any) -> None:
    with pytest.raises(InvalidActivityError):
        check_document({"@context": context, "id": "x"})


@pytest.mark.parametrize(
    "context",
    [
        "https://www.w3.org/ns/activitystreams",
        "http://127.0.0.1/never-fetched",  # allowed: plain-JSON reading never dereferences it
        [
            "https://www.w3.org/ns/activitystreams",
            "https://unknown.example/ns",
            {"toot": "http://joinmastodon.org/ns#"},
        ],
        {"@vocab": "https://www.w3.org/ns/activitystreams#"},
    ],
)
async def test_context_iris_and_inline_contexts_are_accepted(context: Any) -> None:
    check_document({"@context": context, "id": "x"})


def nested(depth: int) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": "leaf"}
    for _ in range(depth - 1):
        doc = {"object": doc}
    return doc


async def test_nesting_is_bounded() -> None:
    check_document(nested(MAX_DEPTH))
    with pytest.raises(InvalidActivityError, match="nested"):
        check_document(nested(MAX_DEPTH + 1))


async def test_list_length_is_bounded() -> None:
    check_document({"id": "x", "tag": ["#t"] * MAX_LIST_ITEMS})
    with pytest.raises(InvalidActivityError, match="items"):
        check_document({"id": "x", "object": {"tag": [{"name": "#t"}] * (MAX_LIST_ITEMS + 1)}})


# --- audience helpers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "public"),
    [
        (PUBLIC, True),
        ("as:Public", True),
        ("Public", True),
        ("https://x.example/followers", False),
        ("", False),
    ],
)
async def test_is_public(value: str, public: bool) -> None:
    assert is_public(value) is public


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, []),
        ("as:Public", [PUBLIC]),
        (["Public", PUBLIC, "https://x.example/followers"], [PUBLIC, "https://x.example/followers"]),
        ({"id": "https://x.example/users/a", "type": "Person"}, ["https://x.example/users/a"]),
        (
            ["https://a.example/u", {"type": "Person"}, 3, {"id": "https://a.example/u"}],
            ["https://a.example/u"],
        ),
    ],
)
async def test_normalize_audience(value: Any, expected: list[str]) -> None:
    assert normalize_audience(value) == expected


async def test_id_helpers() -> None:
    assert id_of("https://x.example/1") == "https://x.example/1"
    assert id_of({"id": "https://x.example/1", "type": "Note"}) == "https://x.example/1"
    assert id_of({"id": 5}) is None
    assert id_of(None) is None
    assert ids_of(["https://x.example/1", {"id": "https://x.example/2"}, {}]) == [
        "https://x.example/1",
        "https://x.example/2",
    ]
    assert ids_of("as:Public") == ["as:Public"]  # ids_of does not fold; normalize_audience does


@pytest.mark.parametrize(
    "raw",
    [
        b'{"type": "Note", "content": "\\ud800"}',  # an escaped lone surrogate
        b'{"type": "Note", "content": "\\uDFFF"}',
        b'{"type": "Note", "\\udc00": 1}',  # in a key
        b'{"type": "Note", "content": "\xed\xa0\x80"}',  # its three bytes sent raw
        '{"type": "Note", "content": "\ud800"}'.encode("utf-16", "surrogatepass"),  # not UTF-8
    ],
    ids=["escaped", "escaped-upper", "in-a-key", "raw-bytes", "utf-16"],
)
async def test_a_lone_surrogate_is_refused_when_the_raw_json_is_given(raw: bytes) -> None:
    with pytest.raises(InvalidActivityError, match="not valid Unicode"):
        check_document(json.loads(raw), raw=raw)


async def test_text_from_raw_json_without_a_surrogate_is_not_walked_but_bounds_still_hold() -> None:
    raw = json.dumps({"type": "Note", "content": "\ud83d\ude00 \u00e9 fine", "tag": [[[1]]]}).encode()
    check_document(json.loads(raw), raw=raw)  # a surrogate *pair* is one character: accepted
    deep: Any = 1
    for _ in range(40):
        deep = [deep]
    raw = json.dumps({"type": "Note", "x": deep}).encode()
    with pytest.raises(InvalidActivityError, match="nested deeper"):
        check_document(json.loads(raw), raw=raw)
