"""A fake remote fediverse server for flow tests, served on the fake network (conftest's HostRouter).

:class:`RemoteServer` is a small Starlette app that serves Mastodon-shaped actor documents (each with
an RSA key under ``<actor>#main-key``), standalone key documents, notes and WebFinger, answers 410 for
what it has deleted, and records every request it receives (deliveries from fedigen included).
:class:`RemoteActor` builds that actor's activities and POSTs them to fedigen's inbox, signed with
``activitypub.signatures.sign_request`` (draft-cavage) or ``sign_request_rfc9421``, as a peer would.

RSA keys are slow to make: :func:`keypair` makes each named key once per test process.
"""

from __future__ import annotations

import base64
import email.utils
import functools
import hashlib
import hmac
import itertools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from activitypub import cavage, signing
from activitypub.signatures import (
    PublicKey,
    verify_request,
)
from activitypub.signing import sign_request, sign_request_rfc9421

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
MASTODON_CONTEXT: list[Any] = [
    AS_CONTEXT,
    "https://w3id.org/security/v1",
    {
        "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
        "toot": "http://joinmastodon.org/ns#",
        "featured": {"@id": "toot:featured", "@type": "@id"},
        "discoverable": "toot:discoverable",
        "indexable": "toot:indexable",
        "alsoKnownAs": {"@id": "as:alsoKnownAs", "@type": "@id"},
        "movedTo": {"@id": "as:movedTo", "@type": "@id"},
        "Hashtag": "as:Hashtag",
        "sensitive": "as:sensitive",
    },
]
AS2_TYPE = "application/activity+json"
# Covered headers exactly as Mastodon signs a POST.
POST_COVERED = ("(request-target)", "host", "date", "digest", "content-type")


@dataclass(frozen=True)
class KeyPair:
    """An RSA-2048 key pair as PEM text."""

    private_pem: str
    public_pem: str


@functools.cache
def keypair(name: str) -> KeyPair:
    """The RSA key pair called ``name``, generated once per test process (RSA generation is slow)."""
    private_pem, public_pem = signing.generate_rsa_keypair()
    return KeyPair(private_pem, public_pem)


@dataclass(frozen=True)
class ReceivedRequest:
    """One request the fake server received."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class RemoteActor:
    """One account on a :class:`RemoteServer`, with its key, its documents and its activities."""

    def __init__(self, server: RemoteServer, username: str, keys: KeyPair, extra: dict[str, Any]) -> None:
        self.server = server
        self.username = username
        self.keys = keys
        self.extra = extra
        self._ids = itertools.count(1)

    @property
    def ap_id(self) -> str:
        return f"{self.server.base}/users/{self.username}"

    @property
    def key_id(self) -> str:
        return f"{self.ap_id}#main-key"

    @property
    def inbox(self) -> str:
        return f"{self.ap_id}/inbox"

    @property
    def followers(self) -> str:
        return f"{self.ap_id}/followers"

    @property
    def handle(self) -> str:
        return f"@{self.username}@{self.server.host}"

    def document(self) -> dict[str, Any]:
        """The actor document, shaped like Mastodon's."""
        doc: dict[str, Any] = {
            "@context": MASTODON_CONTEXT,
            "id": self.ap_id,
            "type": "Person",
            "preferredUsername": self.username,
            "name": self.username.title(),
            "summary": "<p>A remote test account.</p>",
            "url": f"{self.server.base}/@{self.username}",
            "inbox": self.inbox,
            "outbox": f"{self.ap_id}/outbox",
            "followers": self.followers,
            "following": f"{self.ap_id}/following",
            "featured": f"{self.ap_id}/collections/featured",
            "endpoints": {"sharedInbox": f"{self.server.base}/inbox"},
            "manuallyApprovesFollowers": False,
            "discoverable": True,
            "indexable": True,
            "published": "2024-01-01T00:00:00Z",
            "publicKey": {"id": self.key_id, "owner": self.ap_id, "publicKeyPem": self.keys.public_pem},
            "icon": {
                "type": "Image",
                "mediaType": "image/png",
                "url": f"{self.server.base}/avatars/{self.username}.png",
            },
            "attachment": [],
            "alsoKnownAs": [],
            "tag": [],
        }
        doc.update(self.extra)
        return doc

    def rotate_key(self, keys: KeyPair) -> None:
        """Start serving a new key under the same keyId (what a peer does on key rotation)."""
        self.keys = keys

    # --- activities ---------------------------------------------------------------------------------

    def new_id(self, kind: str = "activities") -> str:
        """A fresh id on this actor's host."""
        return f"{self.ap_id}/{kind}/{next(self._ids)}"

    def note(
        self,
        content: str = "<p>Hello from afar</p>",
        *,
        mention: str | None = None,
        ap_type: str = "Note",
        **fields: Any,
    ) -> dict[str, Any]:
        """A public Note (or another note type); ``mention`` is an actor id to tag and address."""
        note: dict[str, Any] = {
            "id": self.new_id("statuses"),
            "type": ap_type,
            "attributedTo": self.ap_id,
            "content": content,
            "published": "2026-01-01T12:00:00Z",
            "to": [PUBLIC],
            "cc": [self.followers],
            "tag": [],
            "attachment": [],
            "sensitive": False,
        }
        if mention is not None:
            note["cc"].append(mention)
            note["tag"].append({"type": "Mention", "href": mention, "name": "@" + mention.rsplit("/", 1)[-1]})
        note.update(fields)
        return note

    def activity(self, ap_type: str, obj: Any, **fields: Any) -> dict[str, Any]:
        """An activity by this actor; a Create/Update copies its object's audience, as Mastodon does."""
        doc: dict[str, Any] = {
            "@context": MASTODON_CONTEXT,
            "id": self.new_id(),
            "type": ap_type,
            "actor": self.ap_id,
            "object": obj,
        }
        if isinstance(obj, dict) and "to" in obj:
            doc["to"], doc["cc"] = obj["to"], obj.get("cc", [])
        doc.update(fields)
        return doc

    def create(self, note: dict[str, Any] | str, **fields: Any) -> dict[str, Any]:
        return self.activity("Create", note, **fields)

    # --- signing and sending ------------------------------------------------------------------------

    def sign(
        self,
        url: str,
        body: bytes,
        *,
        scheme: str = "cavage",
        keys: KeyPair | None = None,
        key_id: str | None = None,
        content_type: str = AS2_TYPE,
        now: datetime | None = None,
    ) -> dict[str, str]:
        """Signature headers for a POST of ``body`` to ``url`` (draft-cavage or RFC 9421)."""
        sign = sign_request_rfc9421 if scheme == "rfc9421" else sign_request
        return sign(
            method="POST", url=url, key_id=key_id or self.key_id,
            private_key_pem=(keys or self.keys).private_pem, body=body, content_type=content_type, now=now,
        )  # fmt: skip

    async def post(
        self,
        client: httpx.AsyncClient,
        path: str,
        activity: Mapping[str, Any] | bytes,
        *,
        headers: Mapping[str, str] | None = None,
        **sign_options: Any,
    ) -> httpx.Response:
        """POST an activity to ``path`` on the client's base URL, signed as this actor."""
        body = activity if isinstance(activity, bytes) else json.dumps(activity).encode()
        url = str(client.base_url.join(path))
        signed = self.sign(url, body, **sign_options)
        return await client.post(path, content=body, headers={**signed, **(headers or {})})


def _http_date(moment: datetime | None = None) -> str:
    return email.utils.format_datetime(moment or datetime.now(UTC), usegmt=True)


@functools.lru_cache(maxsize=256)
def _rsa_private_key(pem: str) -> rsa.RSAPrivateKey:
    # Parsed once per PEM and without the key check, as fedigen parses its own keys (the check: ~50 ms).
    key = serialization.load_pem_private_key(pem.encode(), password=None, unsafe_skip_rsa_key_validation=True)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def sign_cavage(
    *,
    url: str,
    body: bytes,
    key_id: str,
    private_pem: str,
    covered: Iterable[str] = POST_COVERED,
    digest: str | None = None,
    content_type: str = AS2_TYPE,
) -> dict[str, str]:
    """draft-cavage headers with knobs a well-behaved signer never turns (coverage, Digest value)."""
    parts = urlsplit(url)
    headers = {
        "host": parts.netloc,
        "date": _http_date(),
        "digest": digest if digest is not None else cavage.digest_header(body),
        "content-type": content_type,
    }
    signature = cavage.sign(
        key_id=key_id, private_key=_rsa_private_key(private_pem), covered=tuple(covered),
        method="POST", target=parts.path, headers=headers,
    )  # fmt: skip
    return {**{k.title(): v for k, v in headers.items()}, "Signature": signature}


def hmac_forgery(*, url: str, body: bytes, key_id: str, secret: str, algorithm: str | None) -> dict[str, str]:
    """A draft-cavage signature made with HMAC-SHA256 keyed by ``secret`` (say, the RSA *public* PEM)."""
    parts = urlsplit(url)
    headers = {
        "host": parts.netloc,
        "date": _http_date(),
        "digest": cavage.digest_header(body),
        "content-type": AS2_TYPE,
    }
    sig = cavage.CavageSignature(key_id, algorithm, POST_COVERED, b"", None, None)
    data = cavage.signing_string(sig, method="POST", target=parts.path, headers=headers)
    mac = base64.b64encode(hmac.new(secret.encode(), data, hashlib.sha256).digest()).decode()
    alg = f'algorithm="{algorithm}",' if algorithm else ""
    signature = f'keyId="{key_id}",{alg}headers="{" ".join(POST_COVERED)}",signature="{mac}"'
    return {**{k.title(): v for k, v in headers.items()}, "Signature": signature}


@dataclass
class RemoteServer:
    """A fake fediverse server at ``http://<host>``; register ``app`` on the HostRouter."""

    host: str = "remote.test"
    actors: dict[str, RemoteActor] = field(default_factory=dict)
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # url -> (content type, bytes)
    received: list[ReceivedRequest] = field(default_factory=list)
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["GET", "POST"])])

    @property
    def base(self) -> str:
        return f"http://{self.host}"

    def add_actor(self, username: str, *, keys: KeyPair | None = None, **extra: Any) -> RemoteActor:
        """Create an account; ``extra`` overrides fields of its actor document."""
        actor = RemoteActor(self, username, keys or keypair(f"{self.host}/{username}"), extra)
        self.actors[username] = actor
        return actor

    def serve(self, doc: dict[str, Any], url: str | None = None) -> None:
        """Serve ``doc`` as AS2 at ``url`` (default: its id)."""
        self.documents[url or doc["id"]] = doc

    def serve_file(self, url: str, data: bytes, content_type: str = "image/png") -> None:
        """Serve raw bytes (an image, say) at ``url`` with that Content-Type."""
        self.files[url] = (data, content_type)

    def delete(self, url: str) -> None:
        """Answer 410 Gone at ``url`` from now on."""
        self.gone.add(url)

    def posts(self) -> list[ReceivedRequest]:
        """The POSTs received (deliveries to inboxes)."""
        return [r for r in self.received if r.method == "POST"]

    def requests_to(self, url: str) -> list[ReceivedRequest]:
        return [r for r in self.received if r.url == url]

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        url = f"{self.base}{request.url.path}"
        self.received.append(
            ReceivedRequest(request.method, url, {k: v for k, v in request.headers.items()}, body)
        )
        if request.method == "POST":
            return Response(status_code=202)
        if url in self.gone:
            return JSONResponse({"id": url, "type": "Tombstone"}, status_code=410, media_type=AS2_TYPE)
        if url in self.files:
            data, content_type = self.files[url]
            return Response(data, media_type=content_type)
        if request.url.path == "/.well-known/webfinger":
            return self._webfinger(request.query_params.get("resource", ""))
        path = request.url.path
        if path.startswith("/users/") and path.count("/") == 2 and path[len("/users/") :] in self.actors:
            return JSONResponse(self.actors[path[len("/users/") :]].document(), media_type=AS2_TYPE)
        if url in self.documents:
            return JSONResponse(self.documents[url], media_type=AS2_TYPE)
        if url in self.files:
            content_type, content = self.files[url]
            return Response(content, media_type=content_type)
        return JSONResponse({"error": "not found"}, status_code=404)

    def _webfinger(self, resource: str) -> Response:
        user, _, host = resource.removeprefix("acct:").partition("@")
        actor = self.actors.get(user)
        if actor is None or host != self.host:
            return JSONResponse({"error": "not found"}, status_code=404)
        return JSONResponse(
            {"subject": f"acct:{user}@{host}", "aliases": [actor.ap_id],
             "links": [{"rel": "self", "type": AS2_TYPE, "href": actor.ap_id}]},
            media_type="application/jrd+json",
        )  # fmt: skip


async def verify_delivery(received: ReceivedRequest, fedigen: httpx.AsyncClient) -> PublicKey:
    """Verify a delivery fedigen made, as a peer would: fetch the keyId's actor document from fedigen."""
    found: list[PublicKey] = []

    async def lookup(key_id: str, refresh: bool) -> PublicKey:
        response = await fedigen.get(key_id.split("#", 1)[0], headers={"Accept": AS2_TYPE})
        response.raise_for_status()
        key = response.json()["publicKey"]
        assert key["id"] == key_id, "the actor document does not list the keyId"
        found.append(PublicKey(key_id, key["owner"], key["publicKeyPem"]))
        return found[-1]

    await verify_request(
        method=received.method,
        url=received.url,
        headers=received.headers,
        body=received.body,
        key_lookup=lookup,
    )
    return found[-1]
