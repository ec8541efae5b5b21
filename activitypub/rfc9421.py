"""RFC 9421 HTTP Message Signatures (``Signature-Input`` + ``Signature``) and RFC 9530 ``Content-Digest``.

Mastodon (4.5 and later) and Fedify verify and send this form. The signature base and the
cryptography are the ``http-message-signatures`` library's (RFC 9421 section 2.5); this module picks
the one signature we judge, maps its algorithm from the key's type, and reads the parameters that
``activitypub.signatures`` needs for its policy (coverage, clock, digest) before any key is fetched.
The library's own clock checks are switched off because they read the wall clock; the policy module
checks ``created`` / ``expires`` against an injectable ``now`` instead.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import http_sf

from activitypub.errors import SignatureError

if TYPE_CHECKING:  # the library and cryptography load with the first signature made or checked
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
    from http_message_signatures import HTTPMessageVerifier, HTTPSignatureAlgorithm

#: The ``alg`` values we verify (RFC 9421 section 6.2.2); HMAC and ECDSA are refused.
ACCEPTED_ALGORITHMS = frozenset({"rsa-v1_5-sha256", "rsa-pss-sha512", "ed25519"})
# RFC 9530 section 5: the digest algorithms we trust; any others in the field are ignored.
_DIGESTS = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}
_LABEL = "sig1"


@dataclass(frozen=True)
class Rfc9421Signature:
    """The one signature of a request we judge, with its signed parameters."""

    label: str
    components: tuple[str, ...]  # covered component names, without their parameters
    key_id: str
    algorithm: str | None
    created: int | None
    expires: int | None
    signature_input: str  # this signature alone, re-serialized as a one-member dictionary
    signature: str


@dataclass
class _Message:
    """The request as the library's component resolver reads it."""

    method: str
    url: str
    headers: dict[str, str]


@functools.cache
def _verifier_class() -> type[HTTPMessageVerifier]:
    """The library's verifier, minus its wall-clock checks (ours take ``now`` and a window); built on
    first use, so that the library and cryptography load only when a signature is checked."""
    from http_message_signatures import HTTPMessageVerifier

    class _Verifier(HTTPMessageVerifier):
        def validate_created_and_expires(self, sig_input: object, max_age: object = None) -> None:
            return None

    return _Verifier


def _dictionary(field: str, value: str) -> dict[str, Any]:
    def reject_duplicate(key: str, context: str) -> None:
        if context == "dictionary":
            raise SignatureError(f"{field} header repeats {key!r}")

    try:
        parsed = http_sf.parse(value.encode("ascii"), tltype="dictionary", on_duplicate_key=reject_duplicate)
    except ValueError as exc:
        raise SignatureError(f"{field} header is not a valid structured field") from exc
    if not isinstance(parsed, dict):
        raise SignatureError(f"{field} header is not a valid structured field")
    return parsed


def _bare(member: Any) -> Any:
    # http_sf gives (value, parameters) pairs; the value is what we judge.
    return member[0] if isinstance(member, tuple) else member


def parse(headers: dict[str, str]) -> Rfc9421Signature:
    """Parse the first signature of ``Signature-Input`` / ``Signature`` (lowercased headers)."""
    inputs = _dictionary("Signature-Input", headers["signature-input"])
    if "signature" not in headers:
        raise SignatureError("Signature-Input is present but the Signature header is missing")
    signatures = _dictionary("Signature", headers["signature"])
    if not inputs:
        raise SignatureError("Signature-Input header is empty")
    # RFC 9421 section 4.3 leaves the choice among several signatures to the verifier: take the first.
    label = next(iter(inputs))
    member = inputs[label]
    if not (isinstance(member, tuple) and isinstance(member[0], list)):
        raise SignatureError(f"Signature-Input {label!r} is not an inner list")
    items, params = member
    names: list[str] = []
    for item in items:
        name = _bare(item)
        if type(name) is not str:
            raise SignatureError(f"Signature-Input {label!r} lists a component that is not a string")
        names.append(name)
    if label not in signatures:
        raise SignatureError(f"Signature header has no {label!r} member")
    if not isinstance(_bare(signatures[label]), bytes):
        raise SignatureError(f"Signature {label!r} is not a byte sequence")
    key_id = params.get("keyid")
    if type(key_id) is not str or not key_id:
        raise SignatureError(f"Signature-Input {label!r} has no keyid")
    algorithm = params.get("alg")
    if algorithm is not None and type(algorithm) is not str:
        raise SignatureError(f"Signature-Input {label!r} has a malformed alg")
    for stamp in ("created", "expires"):
        if stamp in params and type(params[stamp]) is not int:
            raise SignatureError(f"Signature-Input {label!r} has a malformed {stamp}")
    for name in names:
        if not name.startswith("@") and name not in headers:
            raise SignatureError(f"signed header {name!r} is missing from the request")
    return Rfc9421Signature(
        label=label,
        components=tuple(names),
        key_id=key_id,
        algorithm=algorithm,
        created=params.get("created"),
        expires=params.get("expires"),
        signature_input=http_sf.ser({label: member}),
        signature=http_sf.ser({label: signatures[label]}),
    )


def _algorithm_for(
    sig: Rfc9421Signature, key: rsa.RSAPublicKey | ed25519.Ed25519PublicKey
) -> type[HTTPSignatureAlgorithm] | str:
    from cryptography.hazmat.primitives.asymmetric import rsa
    from http_message_signatures.algorithms import ED25519, RSA_PSS_SHA512, RSA_V1_5_SHA256

    # Without alg the key's type decides (RFC 9421 section 3.2, "derived from the key material").
    if isinstance(key, rsa.RSAPublicKey):
        if sig.algorithm is None or sig.algorithm == "rsa-v1_5-sha256":
            return RSA_V1_5_SHA256
        if sig.algorithm == "rsa-pss-sha512":
            return RSA_PSS_SHA512
    elif sig.algorithm in (None, "ed25519"):
        return ED25519
    return f"key {sig.key_id} does not fit algorithm {sig.algorithm}"


def verify_with_key(
    sig: Rfc9421Signature,
    *,
    method: str,
    url: str,
    headers: dict[str, str],
    key: rsa.RSAPublicKey | ed25519.Ed25519PublicKey,
) -> str | None:
    """Verify the parsed signature with ``key``; return why it failed, or None."""
    from http_message_signatures import HTTPMessageSignaturesException, MappingKeyResolver

    algorithm = _algorithm_for(sig, key)
    if isinstance(algorithm, str):
        return algorithm
    # Only the judged signature goes to the library, which refuses to choose among several by label.
    judged = {**headers, "signature-input": sig.signature_input, "signature": sig.signature}
    message = _Message(method, url, judged)
    verifier = _verifier_class()(
        signature_algorithm=algorithm,
        key_resolver=MappingKeyResolver(public_keys={sig.key_id: key}, private_keys={}),
    )
    try:
        verifier.verify(message, max_age=None)
    except HTTPMessageSignaturesException as exc:
        detail = str(exc)
        return f"signature does not verify: {detail}" if detail else "signature does not verify"
    return None


def check_content_digest(value: str | None, body: bytes) -> None:
    """Check an RFC 9530 ``Content-Digest`` against the body: sha-256 or sha-512, all must match."""
    if value is None:
        raise SignatureError("Content-Digest header is missing")
    found = False
    for name, member in _dictionary("Content-Digest", value).items():
        hasher = _DIGESTS.get(name)
        if hasher is None:
            continue
        digest = _bare(member)
        if not isinstance(digest, bytes):
            raise SignatureError(f"Content-Digest {name} is not a byte sequence")
        if not hmac.compare_digest(digest, hasher(body).digest()):
            raise SignatureError(f"Content-Digest {name} does not match the body")
        found = True
    if not found:
        raise SignatureError("Content-Digest must include sha-256 or sha-512")


def sign(
    *,
    method: str,
    url: str,
    key_id: str,
    private_key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey,
    body: bytes | None,
    content_type: str | None,
    created: datetime.datetime,
) -> dict[str, str]:
    """Sign @method, @target-uri (+ content-digest, content-type); return the headers to add."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from http_message_signatures import HTTPMessageSigner, MappingKeyResolver
    from http_message_signatures.algorithms import ED25519, RSA_V1_5_SHA256

    algorithm = RSA_V1_5_SHA256 if isinstance(private_key, rsa.RSAPrivateKey) else ED25519
    headers: dict[str, str] = {}
    covered = ["@method", "@target-uri"]
    if content_type is not None:
        headers["Content-Type"] = content_type
        covered.append("content-type")
    signer = HTTPMessageSigner(
        signature_algorithm=algorithm,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={key_id: private_key}),
    )
    # With body given, the library adds Content-Digest (sha-256) and covers it.
    signer.sign(
        _Message(method.upper(), url, headers),
        key_id=key_id,
        created=created,
        label=_LABEL,
        covered_component_ids=covered,
        body=body,
    )
    return headers
