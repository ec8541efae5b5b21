"""activitypub.ldsig: RsaSignature2017 checked against signatures Fedify made (tests/support/ld_fixtures.py).

The flows through the HTTP inbox are in tests/flows/test_forwarded_activities.py; fresh signatures from
Fedify on every run in tests/interop/test_ld_signatures_fedify.py.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from activitypub import ldsig
from activitypub.errors import BlockedError, OriginError, SignatureError
from activitypub.signatures import PublicKey
from tests.remote_actor import keypair
from tests.support import ld_fixtures

FIXTURES = ld_fixtures.load()
PUBLIC_PEM = FIXTURES["key"]["public_pem"]
AS = "https://www.w3.org/ns/activitystreams"


def signed(name: str) -> dict[str, Any]:
    return copy.deepcopy(FIXTURES["documents"][name])


class Lookup:
    """A key lookup serving ``pems`` in turn (the last one again after that), recording its calls."""

    def __init__(self, *pems: str, owner: str = ld_fixtures.CAROL, error: Exception | None = None) -> None:
        self.pems = list(pems)
        self.owner = owner
        self.error = error
        self.calls: list[tuple[str, bool]] = []

    async def __call__(self, key_id: str, refresh: bool) -> PublicKey:
        self.calls.append((key_id, refresh))
        if self.error is not None:
            raise self.error
        pem = self.pems.pop(0) if len(self.pems) > 1 else self.pems[0]
        return PublicKey(key_id, self.owner, pem)


@pytest.mark.parametrize("name", ["create", "delete"])
async def test_signatures_made_by_fedify_verify(name: str) -> None:
    lookup = Lookup(PUBLIC_PEM)
    who, document = await ldsig.verify(signed(name), lookup)
    assert (who.key_id, who.owner, who.scheme) == (ld_fixtures.CAROL_KEY, ld_fixtures.CAROL, ldsig.SCHEME)
    assert lookup.calls == [(ld_fixtures.CAROL_KEY, False)]
    assert document["actor"] == ld_fixtures.CAROL and document["signature"] == signed(name)["signature"]


async def test_the_document_read_is_the_signed_one_under_our_context() -> None:
    doc = signed("create")
    doc["object"][f"{AS}#content"] = doc["object"].pop("content")
    _, document = await ldsig.verify(doc, Lookup(PUBLIC_PEM))
    note = document["object"]
    assert note["content"].startswith("<p>Nice one")
    assert note["contentMap"] == {"en": note["content"]}
    assert note["sensitive"] is False and note["attachment"]["focalPoint"] == [0.5, -0.25]
    assert [t["type"] for t in note["tag"]] == ["Mention", "Hashtag"]
    assert document["to"] == "as:Public"  # one value, compacted: readers take both shapes


async def test_the_options_hash_is_made_under_the_identity_context_whatever_the_object_says() -> None:
    doc = signed("create")
    doc["signature"]["@context"] = "https://w3id.org/security/v1"
    await ldsig.verify(doc, Lookup(PUBLIC_PEM))


async def test_a_rotated_key_is_fetched_again_once() -> None:
    stale = keypair("stale").public_pem
    lookup = Lookup(stale, PUBLIC_PEM)
    await ldsig.verify(signed("create"), lookup)
    assert [refresh for _, refresh in lookup.calls] == [False, True]


async def test_a_key_that_does_not_verify_is_refused_after_one_refresh() -> None:
    lookup = Lookup(keypair("other").public_pem)
    with pytest.raises(OriginError, match="does not verify"):
        await ldsig.verify(signed("create"), lookup)
    assert [refresh for _, refresh in lookup.calls] == [False, True]


async def test_an_ed25519_key_cannot_check_an_rsa_signature() -> None:
    pem = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    with pytest.raises(OriginError, match="does not verify"):
        await ldsig.verify(signed("create"), Lookup(pem))


async def test_a_key_that_cannot_be_fetched_is_a_403_not_a_401() -> None:
    with pytest.raises(OriginError, match="could not get the Linked Data signature's key"):
        await ldsig.verify(signed("create"), Lookup(PUBLIC_PEM, error=SignatureError("404")))
    with pytest.raises(BlockedError):
        await ldsig.verify(signed("create"), Lookup(PUBLIC_PEM, error=BlockedError("blocked")))


def _index_map(doc: dict[str, Any]) -> None:
    # The keys of an @index map are not in the RDF.
    doc["@context"] = [*doc["@context"], {"idx": {"@id": "as:tag", "@container": "@index"}}]
    doc["idx"] = {"a": {"type": "Mention"}}


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda d: d["object"].__setitem__("content", "<p>changed</p>"), "does not verify"),
        (lambda d: d.__setitem__("mood", "sunny"), "does not cover the property 'mood'"),
        (
            lambda d: d["object"]["tag"].append({"type": "Emoji", "name": ":x:"}),
            "does not cover the type 'Emoji'",
        ),
        (lambda d: d["object"].__setitem__("inReplyTo", "../other"), "does not cover the id '../other'"),
        (_index_map, "does not cover @index"),
    ],
    ids=["changed", "undefined-property", "undefined-type", "relative-id", "index-map"],
)
async def test_what_the_signature_does_not_cover_is_refused(change: Any, needle: str) -> None:
    doc = signed("create")
    change(doc)
    lookup = Lookup(PUBLIC_PEM)
    with pytest.raises(OriginError, match=needle):
        await ldsig.verify(doc, lookup)
    if needle != "does not verify":
        assert lookup.calls == [], "refused before the key is looked up"


async def test_an_unknown_context_is_refused_without_looking_anything_up() -> None:
    lookup = Lookup(PUBLIC_PEM)
    with pytest.raises(OriginError, match="only bundled contexts are served, nothing is fetched"):
        await ldsig.verify(signed("unknown_context"), lookup)
    assert lookup.calls == []


@pytest.mark.parametrize(
    ("signature", "needle"),
    [
        ("RsaSignature2017", "not a Linked Data signature object"),
        (
            {"type": "RsaSignature2018", "creator": ld_fixtures.CAROL_KEY, "signatureValue": "AA=="},
            "not supported",
        ),
        (
            {"type": "RsaSignature2017", "creator": "acct:carol@origin.test", "signatureValue": "AA=="},
            "creator",
        ),
        ({"type": "RsaSignature2017", "creator": ld_fixtures.CAROL_KEY}, "no signatureValue"),
        (
            {"type": "RsaSignature2017", "creator": ld_fixtures.CAROL_KEY, "signatureValue": "%%%"},
            "not base64",
        ),
    ],
    ids=["string", "other-type", "acct-creator", "no-value", "not-base64"],
)
async def test_malformed_signature_objects_are_refused(signature: Any, needle: str) -> None:
    doc = signed("create")
    doc["signature"] = signature
    with pytest.raises(OriginError, match=needle):
        await ldsig.verify(doc, Lookup(PUBLIC_PEM))


def test_identical_tags_are_normalized() -> None:
    # Two alike blank nodes: URDNA2015's n-degree step runs, within bounds.
    tag = {"type": "Hashtag", "name": "#a"}
    doc = {
        "@context": [AS, {"Hashtag": "as:Hashtag"}],
        "id": "http://a.test/1",
        "type": "Note",
        "tag": [tag, tag],
    }
    assert len(ldsig.canonical_hash(doc)) == 64


def _ring(size: int) -> dict[str, Any]:
    """Blank nodes in a ring, all alike: every one needs the n-degree hash, recursing round the ring."""
    nodes = [
        {"id": f"_:n{i}", "type": "Note", "inReplyTo": {"id": f"_:n{(i + 1) % size}"}} for i in range(size)
    ]
    return {"@context": AS, "id": "http://a.test/1", "type": "Collection", "items": nodes}


def _twin_hubs(children: int) -> dict[str, Any]:
    """Two alike blank nodes with ``children`` alike neighbours each: n-degree hashing tries every order."""
    hub = {"type": "Collection", "items": [{"type": "Note"} for _ in range(children)]}
    return {"@context": AS, "id": "http://a.test/1", "type": "Collection", "items": [hub, copy.deepcopy(hub)]}


@pytest.mark.parametrize(("doc", "needle"), [(_ring(60), "n-degree"), (_twin_hubs(9), "alike neighbours")])
def test_hostile_graphs_are_refused_quickly(doc: dict[str, Any], needle: str) -> None:
    started = time.monotonic()
    with pytest.raises(OriginError, match=needle):
        ldsig.canonical_hash(doc)
    assert time.monotonic() - started < 5


def test_too_many_blank_nodes_are_refused() -> None:
    tags = [{"type": "Mention", "name": f"@{i}"} for i in range(ldsig.MAX_BLANK_NODES + 1)]
    doc = {"@context": AS, "id": "http://a.test/1", "type": "Note", "tag": tags}
    with pytest.raises(OriginError, match="too many blank nodes"):
        ldsig.canonical_hash(doc)
