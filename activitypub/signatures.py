"""HTTP signatures: verifying what peers send (signing what we send is :mod:`activitypub.signing`).

Two schemes are spoken (FEDERATION.md, "HTTP Signatures"):

- draft-cavage-http-signatures-12 (``Signature`` header + RFC 3230 ``Digest``), what every fediverse
  server and Bridgy Fed speaks; implemented in ``activitypub.cavage``.
- RFC 9421 (``Signature-Input`` + ``Signature``, RFC 9530 ``Content-Digest``), which Mastodon and
  Fedify also verify; implemented in ``activitypub.rfc9421`` on the ``http-message-signatures`` library.

``verify_request`` applies one policy to both, and applies all of it *before* the key is looked up,
so a malformed, stale, unrelated or tampered request costs no fetch:

- the algorithm follows the key's type (``hs2019`` / no algorithm / RFC 9421 without ``alg``), and only
  RSA and Ed25519 exist: an ``hmac-*`` header can never turn a public key into an HMAC secret;
- a request with a body (and every POST) must sign a digest of that body, and the digest must match;
- the host and the request target must be signed, and the host must be ours;
- the Date or ``created`` must be within ``clock_window`` of now, and ``expires`` not passed.

Then the key is looked up, and on failure looked up again with ``refresh=True`` exactly once (key
rotation). Whether the key's owner is the activity's actor is the caller's question, not ours.
Every refusal is a ``SignatureError`` whose message is short enough to return to the peer.
"""

from __future__ import annotations

import email.utils
import functools
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urldefrag, urlsplit

from activitypub import cavage, rfc9421
from activitypub.errors import FetchError, SignatureError
from activitypub.signing import DRAFT_CAVAGE, RFC9421, _authority, _request_target, _utc

if TYPE_CHECKING:  # cryptography loads with the first key read (about 8 MB an idle process lacks)
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    _PublicKeyObject = rsa.RSAPublicKey | ed25519.Ed25519PublicKey

__all__ = [
    "KeyLookup",
    "PublicKey",
    "VerifiedSignature",
    "verify_request",
]

# RFC 9110 section 7.2: Host is uri-host [ ":" port ]; no userinfo, path or spaces.
_HOST = re.compile(r"(?:[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


@dataclass(frozen=True)
class PublicKey:
    """A peer's public key as the key lookup found it."""

    key_id: str  # the keyId as the peer names it (may have a #fragment)
    owner: str  # the actor id that owns the key (publicKey.owner / controller)
    pem: str  # SubjectPublicKeyInfo PEM (RSA or Ed25519)


#: ``(key_id, refresh) -> key``; may raise SignatureError or any activitypub.errors.FetchError.
KeyLookup = Callable[[str, bool], Awaitable[PublicKey]]


@dataclass(frozen=True)
class VerifiedSignature:
    """Who signed a request that verified, and with which scheme."""

    key_id: str
    owner: str  # PublicKey.owner of the key that verified
    scheme: str  # "draft-cavage" or "rfc9421"


@dataclass(frozen=True)
class _Candidate:
    """A signature that passed every check that needs no key, and how to finish with a key."""

    scheme: str
    key_id: str
    check: Callable[[_PublicKeyObject], str | None]


# --- keys ---------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _parse_public_pem(pem: str) -> object:
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_public_key(pem.encode("ascii"))


def _load_public_key(key: PublicKey) -> _PublicKeyObject | str:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    try:
        loaded = _parse_public_pem(key.pem)
    except (ValueError, UnicodeEncodeError, UnsupportedAlgorithm):
        return f"key {key.key_id} is not a readable public key"
    if not isinstance(loaded, rsa.RSAPublicKey | ed25519.Ed25519PublicKey):
        return f"key {key.key_id} is neither RSA nor Ed25519"
    return loaded


# --- URLs, headers, clock -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def _same_host(host_header: str, url: str) -> bool:
    """Whether a Host header value names the host of ``url``: host[:port] with case and the scheme's
    default port aside, or the host name alone (a proxy in front of a server on another port may pass
    the Host on without the port, as the peer addressed it). Remembered: the inboxes' few URLs and
    Host values come again with every POST."""
    if not _HOST.fullmatch(host_header):
        return False
    try:
        named = urlsplit(f"{urlsplit(url).scheme}://{host_header}/")
        if named.port is None:
            return (named.hostname or "") == (urlsplit(url).hostname or "").lower()
        return _authority(f"{urlsplit(url).scheme}://{host_header}/") == _authority(url)
    except ValueError:
        return False


def _lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    # Repeated fields are joined with ", " (draft-cavage-12 section 2.3, RFC 9421 section 2.1).
    # Starlette's Headers.items() yields every raw line, so repeats arrive here one by one.
    combined: dict[str, list[str]] = {}
    for name, value in headers.items():
        combined.setdefault(name.lower(), []).append(value.strip())
    return {name: ", ".join(values) for name, values in combined.items()}


def _check_time(what: str, moment: datetime, now: datetime, window: timedelta) -> None:
    minutes = int(window.total_seconds() // 60)
    if moment < now - window:
        raise SignatureError(f"{what} is more than {minutes} minutes old")
    if moment > now + window:
        raise SignatureError(f"{what} is more than {minutes} minutes in the future")


def _check_date_header(value: str | None, now: datetime, window: timedelta) -> None:
    if value is None:
        raise SignatureError("signed Date header is missing")
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError) as exc:
        raise SignatureError("Date header is not an HTTP date") from exc
    _check_time("Date", _utc(moment), now, window)


def _check_created(created: float, now: datetime, window: timedelta) -> None:
    try:
        moment = datetime.fromtimestamp(created, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise SignatureError("signature created time is out of range") from exc
    _check_time("signature created time", moment, now, window)


def _check_expires(expires: float, now: datetime) -> None:
    if expires < now.timestamp():
        raise SignatureError("signature has expired")


# --- verifying ----------------------------------------------------------------------------------------


async def verify_request(
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    key_lookup: KeyLookup,
    clock_window: timedelta = timedelta(hours=1),
    now: datetime | None = None,
) -> VerifiedSignature:
    """Verify a request's HTTP signature (draft-cavage or RFC 9421) or raise SignatureError."""
    method = method.upper()
    url = urldefrag(url).url
    lowered = _lower_headers(headers)
    moment = _utc(now)
    # A body must be signed through its digest; a POST always has one (an empty body is still a body).
    needs_digest = bool(body) or method == "POST"
    if "signature-input" in lowered:
        candidate = _rfc9421_candidate(method, url, lowered, body, needs_digest, moment, clock_window)
    elif "signature" in lowered:
        candidate = _cavage_candidate(method, url, lowered, body, needs_digest, moment, clock_window)
    else:
        raise SignatureError("request is not signed (no Signature or Signature-Input header)")
    return await _check_with_lookup(candidate, key_lookup)


def _cavage_candidate(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    needs_digest: bool,
    now: datetime,
    window: timedelta,
) -> _Candidate:
    sig = cavage.parse_signature_header(headers["signature"])
    if sig.algorithm is not None and sig.algorithm not in cavage.ACCEPTED_ALGORITHMS:
        raise SignatureError(
            f"signature algorithm {sig.algorithm!r} is not accepted (use rsa-sha256 or hs2019)"
        )
    covered = set(sig.headers)
    if "(request-target)" not in covered:
        raise SignatureError("signature must cover (request-target)")
    if "host" not in covered:
        raise SignatureError("signature must cover the Host header")
    host = headers.get("host")
    if host is None:
        raise SignatureError("signed Host header is missing")
    if not _same_host(host, url):
        raise SignatureError(f"signature is for host {host!r}, not {_authority(url)!r}")
    if "date" not in covered and "(created)" not in covered:
        raise SignatureError("signature must cover the Date header or (created)")
    if "date" in covered:
        _check_date_header(headers.get("date"), now, window)
    if sig.created is not None:
        _check_created(float(sig.created), now, window)
    if sig.expires is not None:
        _check_expires(float(sig.expires), now)
    if needs_digest and "digest" not in covered:
        raise SignatureError("signature must cover the Digest header for a request with a body")
    if "digest" in covered:
        cavage.check_digest(headers.get("digest"), body)
    data = cavage.signing_string(sig, method=method, target=_request_target(url), headers=headers)
    return _Candidate(DRAFT_CAVAGE, sig.key_id, lambda key: cavage.verify_with_key(sig, data, key))


def _rfc9421_candidate(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    needs_digest: bool,
    now: datetime,
    window: timedelta,
) -> _Candidate:
    sig = rfc9421.parse(headers)
    if sig.algorithm is not None and sig.algorithm not in rfc9421.ACCEPTED_ALGORITHMS:
        raise SignatureError(
            f"signature algorithm {sig.algorithm!r} is not accepted (use rsa-v1_5-sha256 or ed25519)"
        )
    covered = set(sig.components)
    # The derived components are computed from *our* URL, so signing them binds host and path to us.
    if not covered & {"@authority", "@target-uri"}:
        raise SignatureError("signature must cover @authority or @target-uri")
    if not covered & {"@target-uri", "@path", "@request-target"}:
        raise SignatureError("signature must cover @target-uri, @path or @request-target")
    if sig.created is None and "date" not in covered:
        raise SignatureError("signature has no created parameter and does not cover Date")
    if sig.created is not None:
        _check_created(sig.created, now, window)
    if "date" in covered:
        _check_date_header(headers.get("date"), now, window)
    if sig.expires is not None:
        _check_expires(sig.expires, now)
    if needs_digest and "content-digest" not in covered:
        raise SignatureError("signature must cover Content-Digest for a request with a body")
    if "content-digest" in covered:
        rfc9421.check_content_digest(headers.get("content-digest"), body)
    return _Candidate(
        RFC9421,
        sig.key_id,
        lambda key: rfc9421.verify_with_key(sig, method=method, url=url, headers=headers, key=key),
    )


async def _check_with_lookup(candidate: _Candidate, key_lookup: KeyLookup) -> VerifiedSignature:
    # On failure the key is fetched again once: that is how a peer's key rotation reaches us.
    reason = "signature does not verify"
    for refresh in (False, True):
        try:
            key = await key_lookup(candidate.key_id, refresh)
        except FetchError as exc:
            raise SignatureError(f"could not fetch key {candidate.key_id}: {exc}") from exc
        loaded = _load_public_key(key)
        outcome = loaded if isinstance(loaded, str) else candidate.check(loaded)
        if outcome is None:
            return VerifiedSignature(key_id=candidate.key_id, owner=key.owner, scheme=candidate.scheme)
        reason = outcome
    raise SignatureError(reason)
