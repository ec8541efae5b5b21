"""Signing what we send: our keys, draft-cavage and RFC 9421 request signatures, and one ``httpx.Auth``.

Deliveries and signed fetches both go through :class:`SignatureAuth`, so every outgoing request is
signed the same way (FEDERATION.md, "HTTP Signatures"), in one of two schemes:

- draft-cavage ``rsa-sha256`` over ``(request-target) host date`` and, with a body,
  ``digest content-type``: what every fediverse server verifies, Bridgy Fed only this;
- RFC 9421 ``rsa-v1_5-sha256`` over ``@method @target-uri`` and, with a body, ``content-type
  content-digest``, with ``created`` and ``keyid``: what Mastodon 4.5 (and Fedify) verify.

Which one a request gets first, and the retry with the other, is decided per host by
:mod:`activitypub.schemes` ("double-knocking"); :meth:`SignatureAuth.using` picks it.
"""

from __future__ import annotations

import email.utils
import functools
from collections.abc import AsyncGenerator, Generator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urldefrag, urlsplit

import httpx

from activitypub import cavage, rfc9421

if TYPE_CHECKING:  # cryptography loads on the first signature or key (about 8 MB an idle process lacks)
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    _PrivateKeyObject = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey

DEFAULT_CONTENT_TYPE = "application/activity+json"
#: The two schemes, as :attr:`activitypub.signatures.VerifiedSignature.scheme` names them too.
DRAFT_CAVAGE = "draft-cavage"
RFC9421 = "rfc9421"
_DEFAULT_PORTS = {"http": 80, "https": 443}


# --- keys ---------------------------------------------------------------------------------------------


def generate_rsa_keypair() -> tuple[str, str]:
    """Make an RSA-2048 key pair: (PKCS#8 private PEM, SubjectPublicKeyInfo public PEM)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem.decode("ascii"), public_pem.decode("ascii")


@functools.lru_cache(maxsize=1024)
def _load_private_key(pem: str) -> _PrivateKeyObject:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    # Validating an RSA private key costs ~50 ms (the primality checks); parsing alone takes ~0.02 ms and
    # the signature ~1 ms. Signing keys are our own, made by generate_rsa_keypair and read from our own
    # database, so the check (which guards against crafted keys from elsewhere) is skipped, and each key
    # is still parsed once per process and kept.
    key = serialization.load_pem_private_key(
        pem.encode("ascii"), password=None, unsafe_skip_rsa_key_validation=True
    )
    if not isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        raise ValueError("signing keys must be RSA or Ed25519")
    return key


def load_private_key(pem: str) -> _PrivateKeyObject:
    """Our private key of ``pem``, parsed once per process."""
    return _load_private_key(pem)


# --- URLs and clock -----------------------------------------------------------------------------------


def _authority(url: str) -> str:
    """host[:port] of an absolute URL, lowercased, without the scheme's default port."""
    parts = urlsplit(url)
    if not parts.hostname:
        raise ValueError(f"not an absolute URL: {url!r}")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    port = parts.port
    if port is None or port == _DEFAULT_PORTS.get(parts.scheme.lower()):
        return host
    return f"{host}:{port}"


def _request_target(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _http_date(moment: datetime) -> str:
    return email.utils.format_datetime(moment.astimezone(UTC), usegmt=True)


def _utc(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.now(UTC)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# --- signing ------------------------------------------------------------------------------------------


def sign_request(
    *,
    method: str,
    url: str,
    key_id: str,
    private_key_pem: str,
    body: bytes | None = None,
    content_type: str | None = None,
    now: datetime | None = None,
) -> dict[str, str]:
    """Sign with draft-cavage (rsa-sha256; hs2019 if Ed25519): Host, Date, Digest, Content-Type, Signature."""
    return sign_with_key(
        DRAFT_CAVAGE, method=method, url=url, key_id=key_id, private_key=_load_private_key(private_key_pem),
        body=body, content_type=content_type, now=now,
    )  # fmt: skip


def sign_request_rfc9421(
    *,
    method: str,
    url: str,
    key_id: str,
    private_key_pem: str,
    body: bytes | None = None,
    content_type: str | None = None,
    now: datetime | None = None,
) -> dict[str, str]:
    """Sign with RFC 9421: Host, Date, Content-Type, Content-Digest, Signature-Input, Signature."""
    return sign_with_key(
        RFC9421, method=method, url=url, key_id=key_id, private_key=_load_private_key(private_key_pem),
        body=body, content_type=content_type, now=now,
    )  # fmt: skip


def sign_with_key(
    scheme: str,
    *,
    method: str,
    url: str,
    key_id: str,
    private_key: _PrivateKeyObject,
    body: bytes | None = None,
    content_type: str | None = None,
    now: datetime | None = None,
) -> dict[str, str]:
    """The headers that sign a request in ``scheme`` with an already loaded key (what the two functions
    above and the signing pool's workers call)."""
    if scheme == RFC9421:
        # A fragment is never part of a request (Fedify signs it and fails to verify).
        url = urldefrag(url).url
        moment = _utc(now)
        signed = {"Host": _authority(url), "Date": _http_date(moment)}
        signed |= rfc9421.sign(
            method=method,
            url=url,
            key_id=key_id,
            private_key=private_key,
            body=body,
            content_type=(content_type or DEFAULT_CONTENT_TYPE) if body is not None else content_type,
            created=moment,
        )
        return signed
    if scheme != DRAFT_CAVAGE:
        raise ValueError(f"unknown signature scheme {scheme!r}")
    url = urldefrag(url).url
    headers = {"host": _authority(url), "date": _http_date(_utc(now))}
    covered = ["(request-target)", "host", "date"]
    if body is not None:
        headers["digest"] = cavage.digest_header(body)
        headers["content-type"] = content_type or DEFAULT_CONTENT_TYPE
        covered += ["digest", "content-type"]
    signature = cavage.sign(
        key_id=key_id,
        private_key=private_key,
        covered=tuple(covered),
        method=method,
        target=_request_target(url),
        headers=headers,
    )
    result = {name.title(): value for name, value in headers.items()}
    result["Signature"] = signature
    return result


@dataclass(frozen=True)
class SigningKey:
    """One of our keys: the keyId peers fetch, and its private half."""

    key_id: str
    private_key_pem: str


class HeaderSigner(Protocol):
    """Something that signs off the event loop (:class:`activitypub.signing_pool.SigningPool`)."""

    async def sign(
        self, key: SigningKey, scheme: str, *, method: str, url: str, body: bytes | None,
        content_type: str | None,
    ) -> dict[str, str]:  # fmt: skip
        """The signing headers of one request, as :func:`sign_with_key` makes them."""
        ...


class SignatureAuth(httpx.Auth):
    """Signs every request it is given with ``key`` in ``scheme``; with no key, requests go unsigned.

    ``key`` may be set after construction: the instance actor's key exists only once the database is
    migrated, and the fetcher is built before that. One instance serves many requests at once, so the
    scheme is fixed per instance: :meth:`using` gives one for another scheme. With a ``pool``, an
    async client's requests are signed by it, off the event loop (deliveries); without, in place.
    """

    requires_request_body = True

    def __init__(
        self, key: SigningKey | None = None, scheme: str = DRAFT_CAVAGE, pool: HeaderSigner | None = None
    ) -> None:
        if scheme not in (DRAFT_CAVAGE, RFC9421):
            raise ValueError(f"unknown signature scheme {scheme!r}")
        self.key = key
        self.scheme = scheme
        self.pool = pool

    def using(self, scheme: str) -> SignatureAuth:
        """The same key (and pool), signing in ``scheme``."""
        return SignatureAuth(self.key, scheme, self.pool)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self.key is not None:
            request.headers.update(self._sign_here(self.key, request))
        yield request

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        await request.aread()
        if self.key is not None:
            if self.pool is None:
                request.headers.update(self._sign_here(self.key, request))
            else:
                body = request.content if request.method not in ("GET", "HEAD") else None
                request.headers.update(
                    await self.pool.sign(
                        self.key,
                        self.scheme,
                        method=request.method,
                        url=str(request.url),
                        body=body,
                        content_type=request.headers.get("content-type"),
                    )  # fmt: skip
                )
        yield request

    def _sign_here(self, key: SigningKey, request: httpx.Request) -> dict[str, str]:
        body = request.content if request.method not in ("GET", "HEAD") else None
        sign = sign_request_rfc9421 if self.scheme == RFC9421 else sign_request
        return sign(
            method=request.method,
            url=str(request.url),
            key_id=key.key_id,
            private_key_pem=key.private_key_pem,
            body=body,
            content_type=request.headers.get("content-type"),
        )
