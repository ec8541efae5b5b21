"""draft-cavage HTTP Signatures: the ``Signature`` header that the fediverse signs with.

The scheme is draft-cavage-http-signatures-12 (https://datatracker.ietf.org/doc/html/draft-cavage-http-signatures-12),
as Mastodon, Bridgy Fed and Fedify speak it, plus the RFC 3230 ``Digest`` header that covers the body.
This module parses the header, builds the signing string, and signs or checks the bytes; the policy
(what must be covered, clock, host, key lookup) lives in ``activitypub.signatures``.

Written on ``cryptography`` rather than the ``httpsig`` library because httpsig 1.3.0 cannot do what
peers send: it rejects ``hs2019``, has no Ed25519 and no ``(created)`` / ``(expires)``, and it takes the
algorithm (HMAC included) from the header itself, so an RSA public key could be used as an HMAC secret.
Here the algorithm always follows the key's type; HMAC does not exist. The tests cross-check against
httpsig in both directions for the ``rsa-sha256`` form they share.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from activitypub.errors import SignatureError

if TYPE_CHECKING:  # cryptography loads with the first signature made or checked
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

#: The declared algorithms we verify. ``hs2019`` (and no algorithm at all) means "whatever the key is"
#: (draft-cavage-12 section 2.1.3); the header's word is never trusted beyond that.
ACCEPTED_ALGORITHMS = frozenset({"rsa-sha256", "hs2019"})

# One ``name="quoted"`` or ``name=123.4`` parameter (created/expires are unquoted numbers, section 2.1).
_PARAM = re.compile(r'\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"([^"]*)"|([0-9]+(?:\.[0-9]+)?))\s*(,|\Z)')
_TIMESTAMP = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_DIGESTS = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}


@dataclass(frozen=True)
class CavageSignature:
    """The parsed parameters of a ``Signature`` header."""

    key_id: str
    algorithm: str | None  # lowercased; None when absent
    headers: tuple[str, ...]  # lowercased, in signing order
    signature: bytes
    created: str | None  # kept as sent: the signing string repeats it verbatim
    expires: str | None


def parse_signature_header(value: str) -> CavageSignature:
    """Parse a draft-cavage ``Signature`` header value, or raise SignatureError."""
    params: dict[str, str] = {}
    pos = 0
    while pos < len(value):
        match = _PARAM.match(value, pos)
        if match is None:
            raise SignatureError("Signature header is unparseable")
        name = match.group(1).lower()
        if name in params:
            raise SignatureError(f"Signature header repeats {match.group(1)!r}")
        params[name] = match.group(2) if match.group(2) is not None else match.group(3)
        pos = match.end()
        if match.group(4) == "" and pos < len(value):
            raise SignatureError("Signature header is unparseable")
    key_id = params.get("keyid")
    if not key_id:
        raise SignatureError("Signature header has no keyId")
    encoded = params.get("signature")
    if not encoded:
        raise SignatureError("Signature header has no signature")
    try:
        signature = base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise SignatureError("Signature header's signature is not base64") from exc
    for name in ("created", "expires"):
        if name in params and not _TIMESTAMP.fullmatch(params[name]):
            raise SignatureError(f"Signature header's {name} is not a Unix timestamp")
    algorithm = params.get("algorithm")
    # Section 2.1.6: without a headers parameter only "(created)" is signed.
    headers = params.get("headers", "(created)").lower().split()
    return CavageSignature(
        key_id=key_id,
        algorithm=algorithm.lower() if algorithm is not None else None,
        headers=tuple(headers),
        signature=signature,
        created=params.get("created"),
        expires=params.get("expires"),
    )


def signing_string(sig: CavageSignature, *, method: str, target: str, headers: Mapping[str, str]) -> bytes:
    """Build the signing string of draft-cavage-12 section 2.3 from lowercased, combined headers."""
    lines: list[str] = []
    for name in sig.headers:
        if name == "(request-target)":
            lines.append(f"(request-target): {method.lower()} {target}")
        elif name in ("(created)", "(expires)"):
            # Section 2.3: these pseudo-headers MUST be refused with rsa-*, hmac-* and ecdsa-* algorithms.
            if sig.algorithm is not None and sig.algorithm.startswith(("rsa", "hmac", "ecdsa")):
                raise SignatureError(f"{name} cannot be signed with algorithm {sig.algorithm}")
            stamp = sig.created if name == "(created)" else sig.expires
            if stamp is None:
                raise SignatureError(f"{name} is signed but the Signature header has no {name[1:-1]}")
            lines.append(f"{name}: {stamp}")
        elif name.startswith("("):
            raise SignatureError(f"unknown pseudo-header {name} in signature")
        elif name not in headers:
            raise SignatureError(f"signed header {name!r} is missing from the request")
        else:
            lines.append(f"{name}: {headers[name]}")
    text = "\n".join(lines)
    try:
        # Servers hand us header values decoded as Latin-1; this gives back the bytes on the wire.
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def verify_with_key(
    sig: CavageSignature, data: bytes, key: rsa.RSAPublicKey | ed25519.Ed25519PublicKey
) -> str | None:
    """Check the signature bytes with the key's own algorithm; return why it failed, or None."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    try:
        if isinstance(key, rsa.RSAPublicKey):
            # hs2019 with an RSA key is RSASSA-PKCS1-v1_5 with SHA-256, as Mastodon reads it.
            key.verify(sig.signature, data, padding.PKCS1v15(), hashes.SHA256())
        elif sig.algorithm == "rsa-sha256":
            return f"key {sig.key_id} is Ed25519 but the signature says rsa-sha256"
        else:
            key.verify(sig.signature, data)
    except InvalidSignature:
        return "signature does not verify"
    return None


def sign(
    *,
    key_id: str,
    private_key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey,
    covered: tuple[str, ...],
    method: str,
    target: str,
    headers: Mapping[str, str],
) -> str:
    """Return a ``Signature`` header value covering ``covered`` (names as in the signing string)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    if '"' in key_id:
        raise ValueError("a keyId cannot contain a double quote")
    algorithm = "rsa-sha256" if isinstance(private_key, rsa.RSAPrivateKey) else "hs2019"
    draft = CavageSignature(key_id, algorithm, covered, b"", None, None)
    data = signing_string(draft, method=method, target=target, headers=headers)
    if isinstance(private_key, rsa.RSAPrivateKey):
        raw = private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    else:
        raw = private_key.sign(data)
    encoded = base64.b64encode(raw).decode("ascii")
    return f'keyId="{key_id}",algorithm="{algorithm}",headers="{" ".join(covered)}",signature="{encoded}"'


def digest_header(body: bytes) -> str:
    """The RFC 3230 ``Digest`` header value for ``body`` (SHA-256, as every peer expects)."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def check_digest(value: str | None, body: bytes) -> None:
    """Check an RFC 3230 ``Digest`` header against the body; it must offer a matching SHA-256."""
    if value is None:
        raise SignatureError("Digest header is missing")
    has_sha256 = False
    for part in value.split(","):
        name, sep, encoded = part.strip().partition("=")
        if not sep:
            raise SignatureError("Digest header is malformed")
        hasher = _DIGESTS.get(name.strip().lower())
        if hasher is None:
            continue  # MD5, SHA and others: not trusted, and ignored when a SHA-256 is present.
        try:
            expected = base64.b64decode(encoded.strip(), validate=True)
        except binascii.Error as exc:
            raise SignatureError("Digest header is malformed") from exc
        if not hmac.compare_digest(expected, hasher(body).digest()):
            raise SignatureError(f"Digest {name.strip().upper()} does not match the body")
        has_sha256 = has_sha256 or hasher is hashlib.sha256
    if not has_sha256:
        raise SignatureError("Digest header must include SHA-256")
