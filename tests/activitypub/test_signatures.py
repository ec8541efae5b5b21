"""HTTP signatures: what we sign verifies elsewhere, what others sign verifies here, and bad input is a 401.

Independent implementations keep this honest: ``httpsig`` (draft-cavage) and ``http-message-signatures``
(RFC 9421) sign requests that we verify and verify requests that we sign, and ``cavage_signed`` below
builds draft-cavage signatures by hand for the shapes no library makes (``(created)``, odd digests).
Bad-input case numbers refer to docs/refusals.md.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from urllib.parse import urlsplit

import httpsig
import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureAlgorithm,
    MappingKeyResolver,
)
from http_message_signatures.algorithms import (
    ED25519,
    HMAC_SHA256,
    RSA_PSS_SHA512,
    RSA_V1_5_SHA256,
)
from starlette.datastructures import Headers

from activitypub.errors import RemoteStatusError, SignatureError
from activitypub.signatures import (
    PublicKey,
    VerifiedSignature,
    verify_request,
)
from activitypub.signing import (
    SignatureAuth,
    SigningKey,
    generate_rsa_keypair,
    sign_request,
    sign_request_rfc9421,
)

pytestmark = pytest.mark.asyncio

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
INBOX = "http://127.0.0.1:8000/users/alice/inbox"
INBOX_PATH = "/users/alice/inbox"
OWNER = "https://remote.example/users/bob"
KEY_ID = f"{OWNER}#main-key"
BODY = b'{"id": "https://remote.example/follows/1", "type": "Follow", "actor": "https://remote.example/users/bob"}'
AS2 = "application/activity+json"


@dataclass(frozen=True)
class KeyPair:
    private_pem: str
    public_pem: str

    def private_key(self) -> rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey:
        key = serialization.load_pem_private_key(self.private_pem.encode(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey)
        return key


# RSA key generation is slow: every key is made once per module.
@pytest.fixture(scope="module")
def rsa_keys() -> KeyPair:
    return KeyPair(*generate_rsa_keypair())


@pytest.fixture(scope="module")
def new_rsa_keys() -> KeyPair:
    return KeyPair(*generate_rsa_keypair())


@pytest.fixture(scope="module")
def ed_keys() -> KeyPair:
    key = ed25519.Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return KeyPair(private_pem.decode(), public_pem.decode())


@dataclass
class Lookup:
    """A KeyLookup that records its calls; ``refreshed`` is what a refresh returns."""

    pem: str | None
    refreshed: str | None = None
    error: Exception | None = None
    calls: list[tuple[str, bool]] = field(default_factory=list)

    async def __call__(self, key_id: str, refresh: bool) -> PublicKey:
        self.calls.append((key_id, refresh))
        if self.error is not None:
            raise self.error
        pem = self.refreshed if refresh and self.refreshed is not None else self.pem
        assert pem is not None
        return PublicKey(key_id=key_id, owner=OWNER, pem=pem)


async def verify(
    headers: dict[str, str] | Headers | httpx.Headers,
    lookup: Lookup,
    *,
    body: bytes = BODY,
    method: str = "POST",
    url: str = INBOX,
    clock_window: timedelta = timedelta(hours=1),
) -> VerifiedSignature:
    return await verify_request(
        method=method,
        url=url,
        headers=headers,
        body=body,
        key_lookup=lookup,
        clock_window=clock_window,
        now=NOW,
    )


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def cavage_signed(
    keys: KeyPair,
    covered: str,
    *,
    method: str = "POST",
    url: str = INBOX,
    body: bytes | None = BODY,
    algorithm: str | None = "rsa-sha256",
    date: datetime = NOW,
    digest: str | None = None,
    created: int | None = None,
    expires: int | None = None,
) -> dict[str, str]:
    """A draft-cavage signed request built by hand (draft-cavage-12 section 2.3), not by our code."""
    parts = urlsplit(url)
    headers = {"Host": parts.netloc, "Date": format_datetime(date, usegmt=True)}
    if body is not None:
        headers["Digest"] = digest or "SHA-256=" + b64(hashlib.sha256(body).digest())
        headers["Content-Type"] = AS2
    by_name = {name.lower(): value for name, value in headers.items()}
    lines = []
    for name in covered.split():
        if name == "(request-target)":
            lines.append(f"(request-target): {method.lower()} {parts.path}")
        elif name == "(created)":
            lines.append(f"(created): {created}")
        elif name == "(expires)":
            lines.append(f"(expires): {expires}")
        else:
            lines.append(f"{name}: {by_name[name]}")
    data = "\n".join(lines).encode()
    key = keys.private_key()
    if isinstance(key, rsa.RSAPrivateKey):
        raw = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    else:
        raw = key.sign(data)
    params = [f'keyId="{KEY_ID}"']
    if algorithm is not None:
        params.append(f'algorithm="{algorithm}"')
    if created is not None:
        params.append(f"created={created}")
    if expires is not None:
        params.append(f"expires={expires}")
    params += [f'headers="{covered}"', f'signature="{b64(raw)}"']
    headers["Signature"] = ",".join(params)
    return headers


@dataclass
class LibraryRequest:
    """The message shape http-message-signatures reads and writes."""

    method: str
    url: str
    headers: dict[str, str]


def library_signed(
    key: object,
    algorithm: type[HTTPSignatureAlgorithm],
    covered: tuple[str, ...],
    *,
    url: str = INBOX,
    body: bytes | None = BODY,
    created: datetime = NOW,
    expires: datetime | None = None,
    include_alg: bool = True,
) -> dict[str, str]:
    """An RFC 9421 signed POST made directly with http-message-signatures (Content-Digest when body)."""
    request = LibraryRequest("POST", url, {"Content-Type": AS2})
    signer = HTTPMessageSigner(
        signature_algorithm=algorithm,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={KEY_ID: key}),  # type: ignore[dict-item]
    )
    signer.sign(
        request,
        key_id=KEY_ID,
        created=created,
        expires=expires,
        label="lib",
        include_alg=include_alg,
        covered_component_ids=covered,
        body=body,
    )
    return request.headers


def signed_post(
    keys: KeyPair, *, rfc9421: bool = False, url: str = INBOX, now: datetime = NOW
) -> dict[str, str]:
    """A POST of BODY to ``url`` signed by the code under test."""
    sign = sign_request_rfc9421 if rfc9421 else sign_request
    return sign(method="POST", url=url, key_id=KEY_ID, private_key_pem=keys.private_pem, body=BODY, now=now)


def params_of(signature_header: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in signature_header.split(","))


# --- keys ---------------------------------------------------------------------------------------------


async def test_generated_keypair_is_rsa_2048_pkcs8_and_spki(rsa_keys: KeyPair) -> None:
    assert rsa_keys.private_pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert rsa_keys.public_pem.startswith("-----BEGIN PUBLIC KEY-----")
    public = serialization.load_pem_public_key(rsa_keys.public_pem.encode())
    assert isinstance(public, rsa.RSAPublicKey) and public.key_size == 2048


# --- draft-cavage: what we send -------------------------------------------------------------------------


async def test_cavage_post_roundtrip(rsa_keys: KeyPair) -> None:
    headers = signed_post(rsa_keys)
    assert headers["Host"] == "127.0.0.1:8000"
    assert headers["Digest"] == "SHA-256=" + b64(hashlib.sha256(BODY).digest())
    assert headers["Content-Type"] == AS2
    params = params_of(headers["Signature"])
    assert params["algorithm"] == '"rsa-sha256"'
    assert params["headers"] == '"(request-target) host date digest content-type"'
    lookup = Lookup(rsa_keys.public_pem)
    assert await verify(headers, lookup) == VerifiedSignature(KEY_ID, OWNER, "draft-cavage")
    assert lookup.calls == [(KEY_ID, False)]


async def test_cavage_get_roundtrip_signs_no_digest(rsa_keys: KeyPair) -> None:
    url = "http://127.0.0.1:8000/users/alice/outbox?page=true"
    headers = sign_request(
        method="GET", url=url, key_id=KEY_ID, private_key_pem=rsa_keys.private_pem, now=NOW
    )
    assert "Digest" not in headers
    assert params_of(headers["Signature"])["headers"] == '"(request-target) host date"'
    signed = await verify(headers, Lookup(rsa_keys.public_pem), method="GET", url=url, body=b"")
    assert signed.owner == OWNER


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_signature_auth_signs_gets_and_posts_as_httpx_sends_them(
    rsa_keys: KeyPair, method: str
) -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(202)

    auth = SignatureAuth(SigningKey(KEY_ID, rsa_keys.private_pem))
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler), auth=auth) as client:
        body = BODY if method == "POST" else None
        await client.request(method, INBOX, content=body, headers={"Content-Type": AS2} if body else None)
        await client.get(INBOX, auth=SignatureAuth())  # no key: unsigned
    request = sent[0]
    covered = params_of(request.headers["Signature"])["headers"]
    assert covered == (
        '"(request-target) host date digest content-type"' if body else '"(request-target) host date"'
    )
    signed = await verify_request(
        method=method,
        url=INBOX,
        headers=request.headers,
        body=body or b"",
        key_lookup=Lookup(rsa_keys.public_pem),
    )
    assert signed == VerifiedSignature(KEY_ID, OWNER, "draft-cavage")
    assert "signature" not in sent[1].headers


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://example.com:443/inbox", "example.com"),
        ("http://example.com:80/inbox", "example.com"),
        ("https://Example.COM:8443/inbox#frag", "example.com:8443"),
        ("http://[::1]:8000/inbox", "[::1]:8000"),
    ],
)
async def test_host_header_has_port_only_when_not_default(rsa_keys: KeyPair, url: str, host: str) -> None:
    headers = sign_request(
        method="GET", url=url, key_id=KEY_ID, private_key_pem=rsa_keys.private_pem, now=NOW
    )
    assert headers["Host"] == host


async def test_our_cavage_signature_verifies_with_httpsig(rsa_keys: KeyPair) -> None:
    headers = signed_post(rsa_keys)
    verifier = httpsig.HeaderVerifier(
        headers=headers,
        secret=rsa_keys.public_pem,
        required_headers=["(request-target)", "host", "date", "digest", "content-type"],
        method="POST",
        path=INBOX_PATH,
        sign_header="signature",
    )
    assert verifier.verify() is True


async def test_cavage_signed_by_httpsig_verifies(rsa_keys: KeyPair) -> None:
    headers = {
        "Host": "127.0.0.1:8000",
        "Date": format_datetime(NOW, usegmt=True),
        "Digest": "SHA-256=" + b64(hashlib.sha256(BODY).digest()),
        "Content-Type": AS2,
    }
    signer = httpsig.HeaderSigner(
        KEY_ID,
        rsa_keys.private_pem,
        algorithm="rsa-sha256",
        headers=["(request-target)", "host", "date", "digest", "content-type"],
        sign_header="signature",
    )
    signed = dict(signer.sign(headers, method="POST", path=INBOX_PATH))
    assert (await verify(signed, Lookup(rsa_keys.public_pem))).scheme == "draft-cavage"


async def test_hs2019_with_rsa_key_verifies_as_rsa_sha256(rsa_keys: KeyPair) -> None:
    headers = cavage_signed(rsa_keys, "(request-target) host date digest", algorithm="hs2019")
    assert (await verify(headers, Lookup(rsa_keys.public_pem))).key_id == KEY_ID


async def test_absent_algorithm_follows_the_key(rsa_keys: KeyPair) -> None:
    headers = cavage_signed(rsa_keys, "(request-target) host date digest", algorithm=None)
    assert (await verify(headers, Lookup(rsa_keys.public_pem))).key_id == KEY_ID


async def test_hs2019_with_ed25519_key_created_and_expires(ed_keys: KeyPair) -> None:
    created, expires = int(NOW.timestamp()) - 30, int(NOW.timestamp()) + 300
    headers = cavage_signed(
        ed_keys,
        "(request-target) (created) (expires) host digest",
        algorithm="hs2019",
        created=created,
        expires=expires,
    )
    assert (await verify(headers, Lookup(ed_keys.public_pem))).scheme == "draft-cavage"


async def test_sign_request_with_ed25519_key_uses_hs2019(ed_keys: KeyPair) -> None:
    headers = signed_post(ed_keys)
    assert params_of(headers["Signature"])["algorithm"] == '"hs2019"'
    assert (await verify(headers, Lookup(ed_keys.public_pem))).owner == OWNER


async def test_rsa_sha256_declared_with_ed25519_key_fails(ed_keys: KeyPair) -> None:
    headers = cavage_signed(ed_keys, "(request-target) host date digest", algorithm="rsa-sha256")
    with pytest.raises(SignatureError, match="Ed25519 but the signature says rsa-sha256"):
        await verify(headers, Lookup(ed_keys.public_pem))


@pytest.mark.parametrize("wrap", [dict, Headers, httpx.Headers], ids=["dict", "starlette", "httpx"])
async def test_header_containers_and_case_do_not_matter(rsa_keys: KeyPair, wrap: type) -> None:
    headers = signed_post(rsa_keys)
    mixed = {
        name.upper() if i % 2 else name.lower(): value for i, (name, value) in enumerate(headers.items())
    }
    container = Headers(headers=mixed) if wrap is Headers else wrap(mixed)
    assert (await verify(container, Lookup(rsa_keys.public_pem))).owner == OWNER


# --- RFC 9421 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("keys_fixture", "alg"), [("rsa_keys", "rsa-v1_5-sha256"), ("ed_keys", "ed25519")])
async def test_rfc9421_roundtrip(request: pytest.FixtureRequest, keys_fixture: str, alg: str) -> None:
    keys: KeyPair = request.getfixturevalue(keys_fixture)
    headers = signed_post(keys, rfc9421=True)
    assert f'alg="{alg}"' in headers["Signature-Input"]
    assert '"@method" "@target-uri" "content-type" "content-digest"' in headers["Signature-Input"]
    assert headers["Content-Digest"] == f"sha-256=:{b64(hashlib.sha256(BODY).digest())}:"
    lookup = Lookup(keys.public_pem)
    assert await verify(headers, lookup) == VerifiedSignature(KEY_ID, OWNER, "rfc9421")
    assert lookup.calls == [(KEY_ID, False)]


@pytest.mark.parametrize(
    ("keys_fixture", "algorithm", "include_alg"),
    [
        ("rsa_keys", RSA_V1_5_SHA256, True),
        ("rsa_keys", RSA_V1_5_SHA256, False),  # no alg: the RSA key decides
        ("rsa_keys", RSA_PSS_SHA512, True),
        ("ed_keys", ED25519, True),
        ("ed_keys", ED25519, False),
    ],
)
async def test_rfc9421_signed_by_library_verifies(
    request: pytest.FixtureRequest,
    keys_fixture: str,
    algorithm: type[HTTPSignatureAlgorithm],
    include_alg: bool,
) -> None:
    keys: KeyPair = request.getfixturevalue(keys_fixture)
    headers = library_signed(
        keys.private_key(),
        algorithm,
        ("@method", "@authority", "@path", "content-type"),
        include_alg=include_alg,
    )
    assert (await verify(headers, Lookup(keys.public_pem))).scheme == "rfc9421"


@pytest.mark.parametrize(("keys_fixture", "algorithm"), [("rsa_keys", RSA_V1_5_SHA256), ("ed_keys", ED25519)])
async def test_our_rfc9421_signature_verifies_with_library(
    request: pytest.FixtureRequest, keys_fixture: str, algorithm: type[HTTPSignatureAlgorithm]
) -> None:
    keys: KeyPair = request.getfixturevalue(keys_fixture)
    headers = signed_post(keys, rfc9421=True)
    verifier = HTTPMessageVerifier(
        signature_algorithm=algorithm,
        key_resolver=MappingKeyResolver(public_keys={KEY_ID: keys.public_pem.encode()}, private_keys={}),
    )
    [result] = verifier.verify(
        LibraryRequest("POST", INBOX, headers),
        max_age=None,
        body=BODY,
        require_components=("@method", "@target-uri", "content-digest"),
    )
    assert result.parameters["keyid"] == KEY_ID


async def test_rfc9421_first_of_several_signatures_is_judged(rsa_keys: KeyPair, ed_keys: KeyPair) -> None:
    headers = signed_post(rsa_keys, rfc9421=True)
    request = LibraryRequest("POST", INBOX, headers)
    HTTPMessageSigner(
        signature_algorithm=ED25519,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={"other": ed_keys.private_key()}),
    ).sign(
        request,
        key_id="other",
        created=NOW,
        label="second",
        append_if_signature_exists=True,
        use_existing_digest=True,
    )
    assert "second=" in request.headers["Signature"]
    lookup = Lookup(rsa_keys.public_pem)
    assert (await verify(request.headers, lookup)).key_id == KEY_ID
    assert lookup.calls == [(KEY_ID, False)]


# --- bad input: each is refused with SignatureError, most before any key is fetched -----------------------


async def test_case1_unsigned_request_is_refused() -> None:
    lookup = Lookup(None)
    with pytest.raises(SignatureError, match="not signed"):
        await verify({"Host": "127.0.0.1:8000", "Date": format_datetime(NOW, usegmt=True)}, lookup)
    assert lookup.calls == []


@pytest.mark.parametrize(
    ("signature", "message"),
    [
        ('algorithm="rsa-sha256",headers="(request-target) host date",signature="AAAA"', "no keyId"),
        (f'keyId="{KEY_ID}",algorithm="rsa-sha256",headers="(request-target) host date"', "no signature"),
        (f'keyId="{KEY_ID}",signature="not base64!"', "not base64"),
        ("Signature keyId and some words", "unparseable"),
        (f'keyId="{KEY_ID}" signature="AAAA"', "unparseable"),
        (f'keyId="{KEY_ID}",keyId="other",signature="AAAA"', "repeats"),
        (f'keyId="{KEY_ID}",created=soon,signature="AAAA"', "unparseable"),
    ],
)
async def test_case2_malformed_cavage_signature_is_refused(signature: str, message: str) -> None:
    lookup = Lookup(None)
    with pytest.raises(SignatureError, match=message):
        await verify({"Host": "127.0.0.1:8000", "Signature": signature}, lookup)
    assert lookup.calls == []


@pytest.mark.parametrize(
    ("signature_input", "signature", "message"),
    [
        ("sig1=(", "sig1=:AAAA:", "not a valid structured field"),
        ('sig1=("@method" "@target-uri");created=1', "sig1=:AAAA:", "no keyid"),
        (f'sig1=("@method" "@target-uri");keyid="{KEY_ID}"', None, "Signature header is missing"),
        (f'sig1=("@method" "@target-uri");keyid="{KEY_ID}"', "sig2=:AAAA:", "no 'sig1' member"),
        (f'sig1=("@method" "@target-uri");keyid="{KEY_ID}"', 'sig1="AAAA"', "not a byte sequence"),
        (f'sig1="@method";keyid="{KEY_ID}"', "sig1=:AAAA:", "not an inner list"),
        (f'sig1=("@target-uri" method);keyid="{KEY_ID}"', "sig1=:AAAA:", "not a string"),
        (f'sig1=("@method" "@target-uri");keyid="{KEY_ID}";created="x"', "sig1=:AAAA:", "malformed created"),
        (f'sig1=("@target-uri" "x-gone");keyid="{KEY_ID}";created=1', "sig1=:AAAA:", "'x-gone' is missing"),
    ],
)
async def test_case2_malformed_rfc9421_signature_is_refused(
    signature_input: str, signature: str | None, message: str
) -> None:
    headers = {"Host": "127.0.0.1:8000", "Signature-Input": signature_input}
    if signature is not None:
        headers["Signature"] = signature
    lookup = Lookup(None)
    with pytest.raises(SignatureError, match=message):
        await verify(headers, lookup, method="GET", body=b"")
    assert lookup.calls == []


async def test_case3_hmac_with_the_rsa_public_key_as_secret_is_refused(rsa_keys: KeyPair) -> None:
    # The classic confusion attack: the public PEM is public, so anyone can compute this HMAC.
    headers = {
        "Host": "127.0.0.1:8000",
        "Date": format_datetime(NOW, usegmt=True),
        "Digest": "SHA-256=" + b64(hashlib.sha256(BODY).digest()),
    }
    signer = httpsig.HeaderSigner(
        KEY_ID,
        rsa_keys.public_pem,
        algorithm="hmac-sha256",
        headers=["(request-target)", "host", "date", "digest"],
        sign_header="signature",
    )
    forged = dict(signer.sign(headers, method="POST", path=INBOX_PATH))
    lookup = Lookup(rsa_keys.public_pem)
    with pytest.raises(SignatureError, match="'hmac-sha256' is not accepted"):
        await verify(forged, lookup)
    assert lookup.calls == []
    # Relabelled hs2019 (or with no algorithm), the RSA key decides, and the HMAC bytes do not verify.
    for relabelled in ('algorithm="hs2019"', ""):
        forged["signature"] = forged["signature"].replace('algorithm="hmac-sha256"', relabelled).lstrip(",")
        with pytest.raises(SignatureError, match="does not verify"):
            await verify(forged, Lookup(rsa_keys.public_pem))


@pytest.mark.parametrize("algorithm", ["hmac-sha256", "rsa-sha1", "rsa-sha512", "ecdsa-sha256", "ed25519"])
async def test_case3_other_cavage_algorithms_are_refused(rsa_keys: KeyPair, algorithm: str) -> None:
    headers = cavage_signed(rsa_keys, "(request-target) host date digest", algorithm=algorithm)
    lookup = Lookup(rsa_keys.public_pem)
    with pytest.raises(SignatureError, match="is not accepted"):
        await verify(headers, lookup)
    assert lookup.calls == []


async def test_case3_rfc9421_hmac_with_the_rsa_public_key_as_secret_is_refused(rsa_keys: KeyPair) -> None:
    secret = rsa_keys.public_pem.encode()
    covered = ("@method", "@target-uri")
    forged = library_signed(secret, HMAC_SHA256, covered)
    with pytest.raises(SignatureError, match="'hmac-sha256' is not accepted"):
        await verify(forged, Lookup(rsa_keys.public_pem))
    # Without alg the RSA key decides: the HMAC bytes are checked as RSA and fail.
    forged = library_signed(secret, HMAC_SHA256, covered, include_alg=False)
    with pytest.raises(SignatureError, match="does not verify"):
        await verify(forged, Lookup(rsa_keys.public_pem))


async def test_case3_rfc9421_alg_must_fit_the_key(rsa_keys: KeyPair, ed_keys: KeyPair) -> None:
    headers = library_signed(ed_keys.private_key(), ED25519, ("@method", "@target-uri"))
    with pytest.raises(SignatureError, match="does not fit algorithm ed25519"):
        await verify(headers, Lookup(rsa_keys.public_pem))


async def test_case4_cavage_post_without_signed_digest_is_refused(rsa_keys: KeyPair) -> None:
    headers = cavage_signed(rsa_keys, "(request-target) host date content-type")
    lookup = Lookup(rsa_keys.public_pem)
    with pytest.raises(SignatureError, match="must cover the Digest"):
        await verify(headers, lookup)
    assert lookup.calls == []


async def test_case4_empty_post_must_still_sign_its_digest(rsa_keys: KeyPair) -> None:
    headers = cavage_signed(rsa_keys, "(request-target) host date", body=None)
    with pytest.raises(SignatureError, match="must cover the Digest"):
        await verify(headers, Lookup(rsa_keys.public_pem), body=b"")


async def test_case4_rfc9421_post_without_signed_content_digest_is_refused(rsa_keys: KeyPair) -> None:
    headers = library_signed(rsa_keys.private_key(), RSA_V1_5_SHA256, ("@method", "@target-uri"), body=None)
    headers["Content-Digest"] = f"sha-256=:{b64(hashlib.sha256(BODY).digest())}:"  # present, but not signed
    lookup = Lookup(rsa_keys.public_pem)
    with pytest.raises(SignatureError, match="must cover Content-Digest"):
        await verify(headers, lookup)
    assert lookup.calls == []


async def test_case5_body_changed_after_cavage_signing_is_refused(rsa_keys: KeyPair) -> None:
    headers = signed_post(rsa_keys)
    lookup = Lookup(rsa_keys.public_pem)
    with pytest.raises(SignatureError, match="Digest SHA-256 does not match the body"):
        await verify(headers, lookup, body=BODY.replace(b"Follow", b"Block"))
    assert lookup.calls == []


async def test_case5_body_and_digest_changed_after_signing_is_refused(rsa_keys: KeyPair) -> None:
    headers = signed_post(rsa_keys)
    tampered = BODY.replace(b"Follow", b"Block")
    headers["Digest"] = "SHA-256=" + b64(hashlib.sha256(tampered).digest())
    lookup = Lookup(rsa_keys.public_pem)
    with pytest.raises(SignatureError, match="does not verify"):
        await verify(headers, lookup, body=tampered)
    assert lookup.calls == [(KEY_ID, False), (KEY_ID, True)]


async def test_case5_body_changed_after_rfc9421_signing_is_refused(rsa_keys: KeyPair) -> None:
    headers = signed_post(rsa_keys, rfc9421=True)
    with pytest.raises(SignatureError, match="Content-Digest sha-256 does not match the body"):
        await verify(headers, Lookup(rsa_keys.public_pem), body=BODY + b" ")


@pytest.mark.parametrize(
    "digest",
    [
        "SHA-512=" + b64(hashlib.sha512(BODY).digest()),
        "MD5=" + b64(hashlib.md5(BODY).digest()),
        "SHA=" + b64(hashlib.sha1(BODY).digest()),
    ],
    ids=["sha512-only", "md5-only", "sha1-only"],
)
async def test_case6_digest_without_sha256_is_refused(rsa_keys: KeyPair, digest: str) -> None:
    headers = cavage_signed(rsa_keys, "(request-target) host date digest", digest=digest)
    lookup = Lookup(rsa_keys.public_pem)
    with pytest.raises(SignatureError, match="must include SHA-256"):
        await verify(headers, lookup)
    assert lookup.calls == []


@pytest.mark.parametrize(
    "digest",
    [
        "sha-256=" + b64(hashlib.sha256(BODY).digest()),
        f"SHA-256={b64(hashlib.sha256(BODY).digest())}, SHA-512={b64(hashlib.sha512(BODY).digest())}",
        f"MD5={b64(hashlib.md5(BODY).digest())},SHA-256={b64(hashlib.sha256(BODY).digest())}",
    ],
)
async def test_digest_with_a_matching_sha256_is_accepted(rsa_keys: KeyPair, digest: str) -> None:
    headers = cavage_signed(rsa_keys, "(request-target) host date digest", digest=digest)
    assert (await verify(headers, Lookup(rsa_keys.public_pem))).owner == OWNER


async def test_case6_digest_listing_a_wrong_sha512_is_refused(rsa_keys: KeyPair) -> None:
    digest = f"SHA-256={b64(hashlib.sha256(BODY).digest())}, SHA-512={b64(hashlib.sha512(b'other').digest())}"
    headers = cavage_signed(rsa_keys, "(request-target) host date digest", digest=digest)
    with pytest.raises(SignatureError, match="Digest SHA-512 does not match"):
        await verify(headers, Lookup(rsa_keys.public_pem))


async def test_content_digest_sha512_is_accepted_and_md5_alone_is_refused(rsa_keys: KeyPair) -> None:
    covered = ("@method", "@target-uri", "content-digest")
    headers = {"Content-Digest": f"sha-512=:{b64(hashlib.sha512(BODY).digest())}:"}
    request = LibraryRequest("POST", INBOX, headers)
    signer = HTTPMessageSigner(
        signature_algorithm=RSA_V1_5_SHA256,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={KEY_ID: rsa_keys.private_key()}),
    )
    signer.sign(request, key_id=KEY_ID, created=NOW, covered_component_ids=covered, use_existing_digest=True)
    assert (await verify(request.headers, Lookup(rsa_keys.public_pem))).scheme == "rfc9421"

    request.headers["Content-Digest"] = f"md5=:{b64(hashlib.md5(BODY).digest())}:"
    with pytest.raises(SignatureError, match="must include sha-256 or sha-512"):
        await verify(request.headers, Lookup(rsa_keys.public_pem))


async def test_case7_cavage_signature_for_another_host_is_refused(rsa_keys: KeyPair) -> None:
    headers = signed_post(rsa_keys, url="https://other.example/users/alice/inbox")
    lookup = Lookup(rsa_keys.public_pem)
    with pytest.raises(SignatureError, match="for host 'other.example', not '127.0.0.1:8000'"):
        await verify(headers, lookup)
    assert lookup.calls == []


async def test_case7_rfc9421_signature_for_another_host_is_refused(rsa_keys: KeyPair) -> None:
    headers = signed_post(rsa_keys, rfc9421=True, url="https://other.example/users/alice/inbox")
    with pytest.raises(SignatureError, match="does not verify"):
        await verify(headers, Lookup(rsa_keys.public_pem))


@pytest.mark.parametrize(
    ("covered", "message"),
    [
        ("(request-target) date digest", "must cover the Host"),
        ("host date digest", r"must cover \(request-target\)"),
        ("(request-target) host digest", r"must cover the Date header or \(created\)"),
    ],
)
async def test_case7_cavage_must_cover_host_target_and_time(
    rsa_keys: KeyPair, covered: str, message: str
) -> None:
    headers = cavage_signed(rsa_keys, covered)
    lookup = Lookup(rsa_keys.public_pem)
    with pytest.raises(SignatureError, match=message):
        await verify(headers, lookup)
    assert lookup.calls == []


@pytest.mark.parametrize(
    ("signed_url", "our_url", "accepted"),
    [
        ("https://EXAMPLE.com:443/inbox", "https://example.com/inbox", True),
        # Our URL written with its default port; the peer's Host without it, and with it.
        ("https://example.com/inbox", "https://example.com:443/inbox", True),
        ("https://example.com:443/inbox", "https://example.com:443/inbox", True),
        # Our host on another port, addressed by its name alone (a proxy passed the Host on so).
        ("http://example.com/inbox", "http://example.com:8080/inbox", True),
        ("http://example.com:8080/inbox", "http://example.com:8080/inbox", True),
        ("http://example.com:8081/inbox", "http://example.com:8080/inbox", False),
        ("http://example.org/inbox", "http://example.com:8080/inbox", False),
        ("http://evil@127.0.0.1:8000/users/alice/inbox", INBOX, False),
        ("http://127.0.0.1:8001/users/alice/inbox", INBOX, False),
    ],
)
async def test_case7_host_header_is_compared_as_host_and_port(
    rsa_keys: KeyPair, signed_url: str, our_url: str, accepted: bool
) -> None:
    headers = cavage_signed(rsa_keys, "(request-target) host date digest", url=signed_url)
    if accepted:
        assert (await verify(headers, Lookup(rsa_keys.public_pem), url=our_url)).owner == OWNER
    else:
        with pytest.raises(SignatureError, match="signature is for host"):
            await verify(headers, Lookup(rsa_keys.public_pem), url=our_url)


async def test_case7_cavage_signature_for_another_path_is_refused(rsa_keys: KeyPair) -> None:
    headers = signed_post(rsa_keys, url="http://127.0.0.1:8000/users/bob/inbox")
    with pytest.raises(SignatureError, match="does not verify"):
        await verify(headers, Lookup(rsa_keys.public_pem))


async def test_case7_rfc9421_signature_for_another_path_is_refused(rsa_keys: KeyPair) -> None:
    headers = library_signed(
        rsa_keys.private_key(), RSA_V1_5_SHA256, ("@authority", "@path"), url="http://127.0.0.1:8000/shared"
    )
    with pytest.raises(SignatureError, match="does not verify"):
        await verify(headers, Lookup(rsa_keys.public_pem))


@pytest.mark.parametrize(
    ("covered", "message"),
    [
        (("@method", "@path"), "must cover @authority or @target-uri"),
        (("@method", "@authority"), "must cover @target-uri, @path or @request-target"),
    ],
)
async def test_case7_rfc9421_must_cover_host_and_target(
    rsa_keys: KeyPair, covered: tuple[str, ...], message: str
) -> None:
    headers = library_signed(rsa_keys.private_key(), RSA_V1_5_SHA256, covered)
    lookup = Lookup(rsa_keys.public_pem)
    with pytest.raises(SignatureError, match=message):
        await verify(headers, lookup)
    assert lookup.calls == []


@pytest.mark.parametrize(
    ("offset", "message"),
    [(timedelta(hours=-2), "60 minutes old"), (timedelta(hours=2), "60 minutes in the future")],
)
async def test_case8_cavage_date_outside_the_window_is_refused(
    rsa_keys: KeyPair, offset: timedelta, message: str
) -> None:
    headers = cavage_signed(rsa_keys, "(request-target) host date digest", date=NOW + offset)
    lookup = Lookup(rsa_keys.public_pem)
    with pytest.raises(SignatureError, match=f"Date is more than {message}"):
        await verify(headers, lookup)
    assert lookup.calls == []


async def test_case8_clock_window_is_configurable(rsa_keys: KeyPair) -> None:
    headers = cavage_signed(rsa_keys, "(request-target) host date digest", date=NOW - timedelta(minutes=90))
    signed = await verify(headers, Lookup(rsa_keys.public_pem), clock_window=timedelta(hours=2))
    assert signed.owner == OWNER


@pytest.mark.parametrize("offset", [timedelta(hours=-2), timedelta(hours=2)], ids=["old", "ahead"])
async def test_case8_cavage_created_outside_the_window_is_refused(
    ed_keys: KeyPair, offset: timedelta
) -> None:
    headers = cavage_signed(
        ed_keys,
        "(request-target) (created) host digest",
        algorithm="hs2019",
        created=int((NOW + offset).timestamp()),
    )
    with pytest.raises(SignatureError, match="signature created time is more than 60 minutes"):
        await verify(headers, Lookup(ed_keys.public_pem))


async def test_case8_cavage_expired_signature_is_refused(ed_keys: KeyPair) -> None:
    stamp = int(NOW.timestamp())
    headers = cavage_signed(
        ed_keys,
        "(request-target) (created) (expires) host digest",
        algorithm="hs2019",
        created=stamp - 120,
        expires=stamp - 60,
    )
    with pytest.raises(SignatureError, match="expired"):
        await verify(headers, Lookup(ed_keys.public_pem))


async def test_cavage_created_with_rsa_sha256_is_refused(rsa_keys: KeyPair) -> None:
    # draft-cavage-12 section 2.3: (created) MUST be refused with an rsa-* algorithm.
    headers = cavage_signed(
        rsa_keys,
        "(request-target) (created) host digest",
        algorithm="rsa-sha256",
        created=int(NOW.timestamp()),
    )
    with pytest.raises(SignatureError, match=r"\(created\) cannot be signed with algorithm rsa-sha256"):
        await verify(headers, Lookup(rsa_keys.public_pem))


@pytest.mark.parametrize("offset", [timedelta(hours=-2), timedelta(hours=2)], ids=["old", "ahead"])
async def test_case8_rfc9421_created_outside_the_window_is_refused(
    rsa_keys: KeyPair, offset: timedelta
) -> None:
    headers = signed_post(rsa_keys, rfc9421=True, now=NOW + offset)
    lookup = Lookup(rsa_keys.public_pem)
    with pytest.raises(SignatureError, match="signature created time is more than 60 minutes"):
        await verify(headers, lookup)
    assert lookup.calls == []


async def test_case8_rfc9421_expired_signature_is_refused(rsa_keys: KeyPair) -> None:
    headers = library_signed(
        rsa_keys.private_key(),
        RSA_V1_5_SHA256,
        ("@method", "@target-uri"),
        created=NOW - timedelta(minutes=5),
        expires=NOW - timedelta(minutes=1),
    )
    with pytest.raises(SignatureError, match="expired"):
        await verify(headers, Lookup(rsa_keys.public_pem))


async def test_case8_rfc9421_without_created_or_date_is_refused(rsa_keys: KeyPair) -> None:
    headers = signed_post(rsa_keys, rfc9421=True)
    headers["Signature-Input"] = headers["Signature-Input"].replace(f";created={int(NOW.timestamp())}", "")
    with pytest.raises(SignatureError, match="no created parameter"):
        await verify(headers, Lookup(rsa_keys.public_pem))


KEY_PARAM = f'keyId="{KEY_ID}"'


@pytest.mark.parametrize(
    "headers",
    [
        {
            "Signature": f'{KEY_PARAM},headers="(request-target) (created) host",created=9999999999999999999,'
            'signature="AAAA"'
        },
        {
            "Signature": f'keyId="{KEY_ID}",headers="(request-target) host date",signature="AAAA"',
            "Date": "soon",
        },
        {
            "Signature": f'keyId="{KEY_ID}",headers="(request-target) host date",signature="AAAA"',
            "Date": "Mon, 01 Jan 99999 00:00:00 GMT",
        },
        {"Signature": f'keyId="{KEY_ID}",headers="(request-target) (nonsense) host",signature="AAAA"'},
        {
            "Signature": f'{KEY_PARAM},headers="(request-target) host x-absent (created)",created=1748779200,'
            'signature="AAAA"'
        },
        {
            "Signature-Input": f'sig1=("@target-uri");keyid="{KEY_ID}";created=-99999999999999999',
            "Signature": "sig1=:AA==:",
        },
        {
            "Signature-Input": f'sig1=("@target-uri");keyid="{KEY_ID}";alg=1;created=1',
            "Signature": "sig1=:AA==:",
        },
        {"Signature-Input": "sig1=(), sig1=()", "Signature": "sig1=:AA==:"},
        {"Signature-Input": "", "Signature": "sig1=:AA==:"},
        {"Signature-Input": "sig1=()", "Signature": "sig1=:AA==:", "Content-Digest": "sha-256=:AA==:"},
        {
            "Signature-Input": f'sig1=("@target-uri" "content-digest");keyid="{KEY_ID}";created=1748779200',
            "Signature": "sig1=:AA==:",
            "Content-Digest": "sha-256=AAAA",
        },
        {"Signature-Input": "sig1=()\u00e9", "Signature": "sig1=:AA==:"},
    ],
)
async def test_garbage_is_a_signature_error_and_fetches_nothing(headers: dict[str, str]) -> None:
    lookup = Lookup(None)
    with pytest.raises(SignatureError):
        await verify({"Host": "127.0.0.1:8000", **headers}, lookup, method="GET", body=b"")
    assert lookup.calls == []


# --- key lookup and rotation --------------------------------------------------------------------------


@pytest.mark.parametrize("rfc9421", [False, True], ids=["cavage", "rfc9421"])
async def test_key_rotation_refreshes_once_and_verifies(
    rsa_keys: KeyPair, new_rsa_keys: KeyPair, rfc9421: bool
) -> None:
    headers = signed_post(new_rsa_keys, rfc9421=rfc9421)
    lookup = Lookup(rsa_keys.public_pem, refreshed=new_rsa_keys.public_pem)
    assert (await verify(headers, lookup)).owner == OWNER
    assert lookup.calls == [(KEY_ID, False), (KEY_ID, True)]


async def test_wrong_key_after_refresh_is_refused(rsa_keys: KeyPair, new_rsa_keys: KeyPair) -> None:
    headers = signed_post(new_rsa_keys)
    lookup = Lookup(rsa_keys.public_pem)
    with pytest.raises(SignatureError, match="does not verify"):
        await verify(headers, lookup)
    assert lookup.calls == [(KEY_ID, False), (KEY_ID, True)]


async def test_key_fetch_failure_becomes_signature_error(rsa_keys: KeyPair) -> None:
    headers = signed_post(rsa_keys)
    gone = RemoteStatusError("remote.example answered 410", status=410)
    lookup = Lookup(None, error=gone)
    with pytest.raises(SignatureError, match=f"could not fetch key {KEY_ID}") as caught:
        await verify(headers, lookup)
    assert caught.value.__cause__ is gone
    assert lookup.calls == [(KEY_ID, False)]


async def test_signature_error_from_the_lookup_passes_through(rsa_keys: KeyPair) -> None:
    headers = signed_post(rsa_keys)
    with pytest.raises(SignatureError, match="key owner does not list the key"):
        await verify(headers, Lookup(None, error=SignatureError("key owner does not list the key")))


async def test_unreadable_key_is_refused(rsa_keys: KeyPair) -> None:
    headers = signed_post(rsa_keys)
    with pytest.raises(SignatureError, match="not a readable public key"):
        await verify(headers, Lookup("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n"))
