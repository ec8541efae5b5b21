"""Linked Data Signatures (``RsaSignature2017``): the author's signature on an activity someone else sent.

Mastodon forwards a reply (and a Delete, an Update...) to the followers of the thread's author with the
forwarder's HTTP signature and, in the body, the author's Linked Data signature
(https://github.com/mastodon/mastodon/blob/main/app/lib/activitypub/forwarder.rb); relays do the same.
The algorithm is Mastodon's (``app/lib/activitypub/linked_data_signature.rb``, and
https://docs.joinmastodon.org/spec/security/#ld), which Fedify implements alike:

- options: the ``signature`` object without ``type``, ``id`` and ``signatureValue``, with the
  ``@context`` ``https://w3id.org/identity/v1``;
- document: the activity without ``signature``;
- message: hex(SHA-256(URDNA2015(options))) followed by hex(SHA-256(URDNA2015(document))), as ASCII;
- ``signatureValue``: base64 of RSASSA-PKCS1-v1_5 with SHA-256 over the message, by the key ``creator``.

Normalization runs pyld with the bundled contexts only (:func:`activitypub.jsonld.pyld_options`): a
document naming any other context cannot be normalized and is refused, and nothing is ever fetched.

A signature covers the RDF a document stands for, not its JSON. So that nothing unsigned is read:

- a property the document's context does not define, a type it does not define, and an id that is not
  an absolute IRI have no place in the RDF: a document holding one is refused;
- the document that is then read is the signed RDF compacted under fedigen's own context
  (:data:`activitypub.vocab.CONTEXT`), as Mastodon and Fedify compact theirs: a forwarder cannot rename
  a term (``summary`` to its full IRI, say) to hide it, nor alias one into view.

URDNA2015 is exponential on hostile graphs (many blank nodes with the same surroundings), so the quads,
the blank nodes, the n-degree hashes and the permutations tried are bounded; past them: refused.
Every refusal is an :class:`~activitypub.errors.OriginError` (403): the activity is not shown to be
its actor's.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from activitypub.errors import BlockedError, FetchError, OriginError, SignatureError
from activitypub.jsonld import pyld_options, root_message
from activitypub.signatures import KeyLookup, VerifiedSignature
from activitypub.vocab import CONTEXT

__all__ = [
    "RSA_SIGNATURE_2017",
    "SCHEME",
    "LdSignature",
    "canonical_hash",
    "read_signature",
    "signed_message",
    "verify",
]

RSA_SIGNATURE_2017 = "RsaSignature2017"
#: :attr:`VerifiedSignature.scheme` of an activity vouched for by its Linked Data signature.
SCHEME = "ld-rsa-signature-2017"
IDENTITY_CONTEXT = "https://w3id.org/identity/v1"

MAX_QUADS = 5_000
MAX_BLANK_NODES = 500
# URDNA2015 step 6 ("Hash N-Degree Quads") runs only for blank nodes whose surroundings look alike;
# an activity needs a handful. Each run tries every order of each group of alike neighbours.
MAX_DEEP_HASHES = 256
MAX_PERMUTED = 5

_ABSOLUTE_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S*")


@dataclass(frozen=True)
class LdSignature:
    """The parts of an ``RsaSignature2017`` object the check needs."""

    creator: str  # the keyId
    options: dict[str, Any]  # what the options hash is made of, @context included
    value: bytes


def read_signature(doc: Mapping[str, Any]) -> LdSignature:
    """The document's ``RsaSignature2017``, or OriginError."""
    sig = doc.get("signature")
    if not isinstance(sig, dict):
        raise OriginError("the activity's signature is not a Linked Data signature object")
    kind = sig.get("type")
    if kind != RSA_SIGNATURE_2017:
        raise OriginError(f"Linked Data signature type {kind!r} is not supported (only {RSA_SIGNATURE_2017})")
    creator = sig.get("creator")
    if not isinstance(creator, str) or not creator.startswith(("https://", "http://")):
        raise OriginError("the Linked Data signature's creator is not an http(s) key id")
    encoded = sig.get("signatureValue")
    if not isinstance(encoded, str) or not encoded:
        raise OriginError("the Linked Data signature has no signatureValue")
    try:
        # Lenient, as Ruby's Base64.decode64 that Mastodon verifies with: line breaks are ignored.
        value = base64.b64decode("".join(encoded.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise OriginError("the Linked Data signature's signatureValue is not base64") from exc
    options = {k: v for k, v in sig.items() if k not in ("type", "id", "signatureValue")}
    options["@context"] = IDENTITY_CONTEXT
    return LdSignature(creator=creator, options=options, value=value)


# --- normalization ------------------------------------------------------------------------------------


class _TooComplex(Exception):
    pass


def _bounded_canonicalizer() -> Any:
    """pyld's URDNA2015, counting its n-degree hashes and refusing large permutations."""
    from pyld.canon import URDNA2015

    class Bounded(URDNA2015):  # type: ignore[misc]
        deep_hashes = 0

        def hash_n_degree_quads(self, id_: str, issuer: Any) -> Any:
            self.deep_hashes += 1
            if self.deep_hashes > MAX_DEEP_HASHES:
                raise _TooComplex(f"more than {MAX_DEEP_HASHES} n-degree hashes")
            return super().hash_n_degree_quads(id_, issuer)

        def create_hash_to_related(self, id_: str, issuer: Any) -> dict[str, list[str]]:
            # Each list returned is permuted in full by hash_n_degree_quads: n! orders.
            related: dict[str, list[str]] = super().create_hash_to_related(id_, issuer)
            if any(len(nodes) > MAX_PERMUTED for nodes in related.values()):
                raise _TooComplex(f"a blank node has more than {MAX_PERMUTED} alike neighbours")
            return related

    return Bounded()


def _options() -> dict[str, Any]:
    # No base IRI: a relative id stays relative (and is refused), as in jsonld.js and Ruby's JSON::LD;
    # pyld would otherwise resolve it against http://example.org/base/.
    return {**pyld_options(), "base": None}


def _is_iri(value: Any) -> bool:
    return isinstance(value, str) and not value.startswith("_:") and bool(_ABSOLUTE_IRI.fullmatch(value))


def _check_covered(expanded: Any) -> None:
    """Refuse anything in an expanded document that the RDF, hence the signature, leaves out."""
    stack = [expanded]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
            continue
        if not isinstance(item, dict):
            continue
        if "@value" in item:
            datatype = item.get("@type")
            if datatype is not None and datatype != "@json" and not _is_iri(datatype):
                raise OriginError(f"the Linked Data signature does not cover the value type {datatype!r}")
            continue
        for key, value in item.items():
            if key == "@id":
                if not (_is_iri(value) or (isinstance(value, str) and value.startswith("_:"))):
                    raise OriginError(
                        f"the Linked Data signature does not cover the id {value!r} (not an absolute IRI)"
                    )
            elif key == "@type":
                for kind in value if isinstance(value, list) else [value]:
                    if not _is_iri(kind):
                        name = kind.removeprefix("_:") if isinstance(kind, str) else kind
                        raise OriginError(
                            f"the Linked Data signature does not cover the type {name!r}: "
                            "the document's context does not define it"
                        )
            elif key == "@list":
                stack.append(value)
            elif key.startswith("@"):
                raise OriginError(f"the Linked Data signature does not cover {key}")
            elif _is_iri(key):
                stack.append(value)
            else:
                raise OriginError(
                    f"the Linked Data signature does not cover the property {key.removeprefix('_:')!r}: "
                    "the document's context does not define it"
                )


def _expand(doc: Mapping[str, Any]) -> list[Any]:
    from pyld import jsonld as pyld_jsonld

    dropped: list[str | None] = []
    try:
        expanded = pyld_jsonld.expand(
            copy.deepcopy(dict(doc)), _options(), on_property_dropped=dropped.append
        )
    except pyld_jsonld.JsonLdError as exc:
        raise OriginError(f"the document cannot be read as JSON-LD: {root_message(exc)}") from exc
    except RecursionError as exc:
        raise OriginError("the document cannot be read as JSON-LD: it is nested too deeply") from exc
    if dropped:
        raise OriginError(
            f"the Linked Data signature does not cover the property {dropped[0]!r}: "
            "the document's context does not define it"
        )
    _check_covered(expanded)
    return list(expanded)


def _hash_expanded(expanded: list[Any]) -> str:
    from pyld import jsonld as pyld_jsonld

    try:
        dataset = pyld_jsonld.to_rdf(copy.deepcopy(expanded), _options())
    except pyld_jsonld.JsonLdError as exc:
        raise OriginError(f"the document cannot be read as RDF: {root_message(exc)}") from exc
    quads = sum(len(triples) for triples in dataset.values())
    if quads > MAX_QUADS:
        raise OriginError(f"the document is too large to check its Linked Data signature ({quads} quads)")
    blank = {
        term["value"]
        for triples in dataset.values()
        for triple in triples
        for term in (triple["subject"], triple["object"])
        if term["type"] == "blank node"
    }
    if len(blank) > MAX_BLANK_NODES:
        raise OriginError(f"the document has too many blank nodes to check its signature ({len(blank)})")
    try:
        nquads = _bounded_canonicalizer().main(dataset, {"format": "application/n-quads"})
    except _TooComplex as exc:
        raise OriginError(f"the document is too complex to check its Linked Data signature: {exc}") from exc
    return hashlib.sha256(nquads.encode("utf-8")).hexdigest()


def canonical_hash(doc: Mapping[str, Any]) -> str:
    """Hex SHA-256 of the URDNA2015 N-Quads of ``doc`` (bundled contexts only; OriginError otherwise)."""
    return _hash_expanded(_expand(doc))


def signed_message(doc: Mapping[str, Any], sig: LdSignature) -> bytes:
    """The bytes an ``RsaSignature2017`` signs: the options' hash, then the document's."""
    document = {k: v for k, v in doc.items() if k != "signature"}
    return (canonical_hash(sig.options) + canonical_hash(document)).encode("ascii")


def _compact(expanded: list[Any]) -> dict[str, Any]:
    """The signed RDF as JSON under fedigen's own context: what is read instead of the JSON sent."""
    from pyld import jsonld as pyld_jsonld

    try:
        compacted = pyld_jsonld.compact(copy.deepcopy(expanded), copy.deepcopy(CONTEXT), _options())
    except pyld_jsonld.JsonLdError as exc:
        raise OriginError(f"the document cannot be compacted: {root_message(exc)}") from exc
    if not isinstance(compacted, dict) or "@graph" in compacted:
        raise OriginError("the signed document is not one activity")
    return dict(compacted)


def _check(value: bytes, message: bytes, pem: str) -> bool:
    # cryptography loads with the first signature checked (about 8 MB an idle process lacks).
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    try:
        key = serialization.load_pem_public_key(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError, UnsupportedAlgorithm):
        return False
    if not isinstance(key, rsa.RSAPublicKey):
        return False  # RsaSignature2017 is RSA only
    try:
        key.verify(value, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


async def verify(doc: Mapping[str, Any], key_lookup: KeyLookup) -> tuple[VerifiedSignature, dict[str, Any]]:
    """Check ``doc``'s ``RsaSignature2017``; return who signed it and the document to read.

    The document is normalized before the key is looked up, so a document we cannot check costs no
    fetch. On a mismatch the key is fetched again once (key rotation), as for HTTP signatures.
    """
    sig = read_signature(doc)
    document = {k: v for k, v in doc.items() if k != "signature"}
    expanded = _expand(document)
    message = (canonical_hash(sig.options) + _hash_expanded(expanded)).encode("ascii")
    for refresh in (False, True):
        try:
            key = await key_lookup(sig.creator, refresh)
        except BlockedError:
            raise
        except (SignatureError, FetchError) as exc:
            if refresh:
                break
            raise OriginError(f"could not get the Linked Data signature's key {sig.creator}: {exc}") from exc
        if _check(sig.value, message, key.pem):
            compacted = _compact(expanded)
            compacted["signature"] = doc["signature"]
            return VerifiedSignature(key_id=sig.creator, owner=key.owner, scheme=SCHEME), compacted
    raise OriginError("the Linked Data signature does not verify")
