"""Fetching remote ActivityStreams documents (and WebFinger JSON) safely, and posting deliveries.

A :class:`Fetcher` wraps the process-wide client from :mod:`activitypub.transport` (whose
connection guard refuses private addresses) and adds the remote-fetching rules of
docs/refusals.md: at most ``max_redirects`` redirects, each re-checked; at most ``max_bytes`` of
body; ``timeout`` seconds for the whole exchange; only AS2 / JSON content types; and the
document's ``id`` must be the URL we asked for (cases 21-24). Every failure is a
:class:`~activitypub.errors.FetchError` subclass; a fetched document with a refused JSON-LD
shape raises :class:`~activitypub.errors.InvalidActivityError` from
:func:`activitypub.jsonld.check_document`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from .delivery_http import DeliveryClient, normalised
from .domains import DomainPolicies
from .errors import (
    ContentTypeError,
    DomainRefusedError,
    FetchError,
    IdMismatchError,
    RemoteStatusError,
    ResponseTooLargeError,
    TooManyRedirectsError,
)
from .jsonld import check_bounds, check_document
from .schemes import (
    SignatureSchemes,
    Software,
    nodeinfo_link,
    nodeinfo_software,
    other,
    refused_signature,
)
from .signing import DRAFT_CAVAGE, HeaderSigner, SignatureAuth, SigningKey, load_private_key, sign_with_key
from .transport import check_url_scheme

# ActivityPub section 7 and FEDERATION.md "HTTP Signatures": what we ask for on fetches.
AS2_ACCEPT = 'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
JRD_ACCEPT = "application/jrd+json, application/json"

# Plain application/json is accepted because several servers serve AS2 that way; the
# ld+json profile parameter is not checked (peers send it with and without).
_AS2_TYPES = frozenset({"application/activity+json", "application/ld+json", "application/json"})
_JRD_TYPES = frozenset({"application/jrd+json", "application/json"})
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# How much of a 400 is read to see whether it is about the signature.
_PEEK_BYTES = 4096
_AS2 = "application/activity+json"
# Headers that describe the body as it was sent, not as it is returned (already read and decoded).
_FRAMING = frozenset({"content-encoding", "content-length", "transfer-encoding"})


@dataclass
class PreparedDelivery:
    """A delivery signed ahead of sending (:meth:`Fetcher.prepare_delivery`)."""

    url: str
    sent_url: str  # as sent, and signed
    body: bytes
    key: SigningKey
    pool: HeaderSigner | None
    scheme: str = DRAFT_CAVAGE
    headers: dict[str, str] | None = None  # the request's headers, signed in ``scheme``


@dataclass(frozen=True)
class Delivered:
    """What an inbox answered a delivery."""

    status: int
    retry_after: str | None


@dataclass(frozen=True)
class Fetched:
    """A fetched document and the final URL it was served from (after redirects)."""

    url: str
    document: dict[str, Any]


def strip_fragment(url: str) -> str:
    """Return ``url`` without its ``#fragment``."""
    return url.split("#", 1)[0]


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


def _media_type(response: httpx.Response) -> str:
    content_type: str = response.headers.get("content-type", "")
    return content_type.split(";", 1)[0].strip().lower()


class Fetcher:
    """GETs AS2 documents and JRDs, and POSTs deliveries, within size, time and redirect limits."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        auth: httpx.Auth | None = None,
        max_bytes: int = 1_000_000,
        max_redirects: int = 2,
        timeout: float = 10.0,
        schemes: SignatureSchemes | None = None,
    ) -> None:
        self._client = client
        # Signs fetches (the instance actor's key); deliveries bring the sending actor's own.
        self._auth = auth
        # Which scheme each host is signed for first (without it: draft-cavage, no second knock).
        self.schemes = schemes
        self._max_bytes = max_bytes
        self._max_redirects = max_redirects
        self._timeout = timeout
        # Suspended (or, in allowlist mode, not allowed) hosts are never asked anything, at any hop.
        self.domains: DomainPolicies | None = None
        # Signed deliveries go through this client when set (the worker's own; tests route httpx).
        self.delivery: DeliveryClient | None = None

    async def fetch_object(self, url: str, *, sign: bool = True, canonical: bool = False) -> Fetched:
        """GET an ActivityStreams document whose id is the URL asked for (signed if the fetcher has auth).

        With ``canonical``, a URL that is not the document's id but serves it (a post or profile URL
        copied from a browser: Mastodon serves the Note at ``/@bob/123`` whose id is
        ``/users/bob/statuses/123``) is followed once to the id, when that id is on the origin that
        served the document; the document is trusted only as fetched again at its id.
        """
        requested = strip_fragment(url)
        final_url, body = await self._get(requested, accept=AS2_ACCEPT, types=_AS2_TYPES, sign=sign)
        document = self._parse_object(body, final_url)
        ap_id = document.get("id")
        if (
            canonical
            and isinstance(ap_id, str)
            and ap_id not in (requested, final_url)
            and _origin(ap_id) == _origin(final_url)
        ):
            return await self.fetch_object(ap_id, sign=sign)
        self._check_id(document, requested, final_url)
        check_document(document)
        return Fetched(url=final_url, document=document)

    async def fetch_key_document(self, url: str) -> Fetched:
        """GET the document a signature's keyId names, whatever id it carries on the key's own origin.

        A keyId often does not name a document of its own. Mastodon's ``actor#main-key`` is served as
        the actor; GoToSocial's ``actor/main-key`` is served as a stub of the actor whose ``id`` is the
        actor's URL, not the key's. So the id is not checked against the URL here; the caller checks
        that the document holds the key (``publicKey.id`` or its own ``id`` equals the keyId) and then
        fetches the key's owner at its own id, strictly. The document must still come from the origin
        the keyId names, and its id (when it has one) must be on that origin too.
        """
        requested = strip_fragment(url)
        final_url, body = await self._get(requested, accept=AS2_ACCEPT, types=_AS2_TYPES, sign=True)
        document = self._parse_object(body, final_url)
        ap_id = document.get("id")
        if _origin(final_url) != _origin(requested) or (
            ap_id is not None and (not isinstance(ap_id, str) or _origin(ap_id) != _origin(final_url))
        ):
            raise IdMismatchError(f"the key document for {requested} is not on the key's origin")
        check_document(document)
        return Fetched(url=final_url, document=document)

    async def fetch_jrd(self, url: str) -> dict[str, Any]:
        """GET a WebFinger / host-meta JSON resource description, unsigned."""
        final_url, body = await self._get(url, accept=JRD_ACCEPT, types=_JRD_TYPES, sign=False)
        document = self._parse_object(body, final_url)
        check_bounds(document)
        return document

    async def fetch_software(self, base: str) -> Software | None:
        """What the NodeInfo of the host at ``base`` (scheme://host[:port]) says it runs, unsigned."""
        # Through the delivery client when there is one: asked right before the first delivery to the
        # host, its connection then carries the delivery.
        client = self.delivery
        fetch = self.fetch_jrd if client is None else functools.partial(self._jrd_direct, client)
        href = nodeinfo_link(await fetch(f"{base}/.well-known/nodeinfo"), base)
        return nodeinfo_software(await fetch(href)) if href is not None else None

    async def _jrd_direct(self, client: DeliveryClient, url: str) -> dict[str, Any]:
        """:meth:`fetch_jrd` through the delivery client, under the same rules (each redirect hop
        checked again, the domain policy, JRD / JSON only, at most max_bytes)."""
        async with self._deadline(url):
            current = url
            for _hop in range(self._max_redirects + 1):
                check_url_scheme(current)
                if self.domains is not None and await self.domains.refused(current):
                    raise DomainRefusedError(f"not fetching {current}: its domain is blocked here")
                answer = await client.get(current, {"accept": JRD_ACCEPT, "accept-encoding": "identity"})
                location = answer.header("location")
                if answer.status in _REDIRECT_STATUSES and location:
                    current = strip_fragment(str(httpx.URL(current).join(location)))
                    continue
                if not 200 <= answer.status < 300:
                    raise RemoteStatusError(
                        f"{current} answered {answer.status}", answer.status, answer.header("retry-after")
                    )
                media_type = (answer.header("content-type") or "").split(";", 1)[0].strip().lower()
                if media_type not in _JRD_TYPES:
                    raise ContentTypeError(f"{current} is served as {media_type or 'no content type'!r}")
                if answer.truncated:
                    raise ResponseTooLargeError(f"{current} sent more than {self._max_bytes} bytes")
                document = self._parse_object(answer.body, current)
                check_bounds(document)
                return document
        raise TooManyRedirectsError(f"more than {self._max_redirects} redirects fetching {url}")

    async def post(self, url: str, body: bytes, *, auth: httpx.Auth | None = None) -> httpx.Response:
        """POST a delivery (signed by ``auth``) without following redirects; at most max_bytes of answer."""
        check_url_scheme(url)
        request_headers = {"Accept-Encoding": "identity", "Content-Type": "application/activity+json"}
        async with self._deadline(url), self._network_errors(url):
            async with self._send(
                "POST", url, headers=request_headers, content=body, auth=auth, probe=True
            ) as response:
                content = await self._read_capped(response)
                # The body is already decoded, so the framing headers no longer describe it.
                kept = [
                    (name, value)
                    for name, value in response.headers.multi_items()
                    if name.lower() not in _FRAMING
                ]
                return httpx.Response(
                    response.status_code, headers=kept, content=content, request=response.request
                )

    async def prepare_delivery(
        self, url: str, body: bytes, key: SigningKey, pool: HeaderSigner | None
    ) -> PreparedDelivery:
        """Pick the scheme ``url``'s host is signed for first and sign the POST (by ``pool`` when given),
        ahead of :meth:`deliver`, so that a deliverer signs while earlier deliveries are being sent.
        Through the httpx client (no delivery client: tests route it), signing waits for the send."""
        prepared = PreparedDelivery(url, normalised(url), body, key, pool)
        if self.delivery is None:
            return prepared
        check_url_scheme(url)
        # No deadline of its own (a timer per delivery is a cost a fan-out of thousands feels): a NodeInfo
        # probe is bounded by the schemes' wait and each of its fetches by their deadlines; signing is CPU.
        if self.schemes is not None:
            prepared.scheme = await self.schemes.first(url, probe=True)
        prepared.headers = await self._signed(prepared, prepared.scheme)
        return prepared

    async def deliver(self, prepared: PreparedDelivery) -> Delivered:
        """POST a prepared delivery, not following redirects; a refused signature is sent once more in
        the other scheme, and what the host took is remembered (as :meth:`_send` does for httpx)."""
        client = self.delivery
        if client is None:
            auth = SignatureAuth(prepared.key, pool=prepared.pool)
            response = await self.post(prepared.url, prepared.body, auth=auth)
            return Delivered(response.status_code, response.headers.get("retry-after"))
        url, first = prepared.url, prepared.scheme
        async with self._deadline(url):
            headers = prepared.headers or await self._signed(prepared, first)
            answer = await client.post(prepared.sent_url, headers, prepared.body)
            if self.schemes is not None:
                used = first
                if refused_signature(answer.status, answer.body[:_PEEK_BYTES]):
                    used = other(first)
                    headers = await self._signed(prepared, used)
                    answer = await client.post(prepared.sent_url, headers, prepared.body)
                self.schemes.learned(url, first=first, used=used, status=answer.status)
        return Delivered(answer.status, answer.header("retry-after"))

    @staticmethod
    async def _signed(prepared: PreparedDelivery, scheme: str) -> dict[str, str]:
        key, url, body = prepared.key, prepared.sent_url, prepared.body
        if prepared.pool is not None:
            pool = prepared.pool
            signed = await pool.sign(key, scheme, method="POST", url=url, body=body, content_type=_AS2)
        else:
            signed = sign_with_key(
                scheme, method="POST", url=url, key_id=key.key_id,
                private_key=load_private_key(key.private_key_pem), body=body, content_type=_AS2,
            )  # fmt: skip
        headers = {"accept-encoding": "identity", "content-type": _AS2}
        headers |= {name.lower(): value for name, value in signed.items()}
        return headers

    async def _get(self, url: str, *, accept: str, types: frozenset[str], sign: bool) -> tuple[str, bytes]:
        async with self._deadline(url):
            return await self._follow(url, accept=accept, types=types, sign=sign)

    async def _follow(self, url: str, *, accept: str, types: frozenset[str], sign: bool) -> tuple[str, bytes]:
        current = url
        for _hop in range(self._max_redirects + 1):
            # Each hop is checked again: a redirect may point at file: or ftp: (bad-input case 26),
            # and the transport's address guard refuses private hosts at connect time (case 11).
            check_url_scheme(current)
            if self.domains is not None and await self.domains.refused(current):
                raise DomainRefusedError(f"not fetching {current}: its domain is blocked here")
            # Compressed bodies could expand far past max_bytes in a single chunk.
            headers = {"Accept": accept, "Accept-Encoding": "identity"}
            auth = self._auth if sign else None
            async with self._network_errors(current):
                async with self._send("GET", current, headers=headers, auth=auth, probe=False) as response:
                    location = response.headers.get("location")
                    if response.status_code in _REDIRECT_STATUSES and location:
                        current = strip_fragment(str(response.url.join(location)))
                        continue
                    self._check_response(response, current, types)
                    return current, await self._read_capped(response, refuse_over_limit=True)
        raise TooManyRedirectsError(f"more than {self._max_redirects} redirects fetching {url}")

    @contextlib.asynccontextmanager
    async def _send(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        auth: httpx.Auth | None,
        probe: bool,
        content: bytes | None = None,
    ) -> AsyncIterator[httpx.Response]:
        """Stream one request, not following redirects. Signed with a key, it is double-knocked: signed
        in the scheme activitypub.schemes picks for the host, and on a refusal of the signature once
        more in the other; what the host took is remembered (FEDERATION.md, "HTTP Signatures")."""
        schemes = self.schemes
        if not isinstance(auth, SignatureAuth) or auth.key is None or schemes is None:
            async with self._client.stream(
                method, url, headers=headers, content=content, auth=auth, follow_redirects=False
            ) as response:
                yield response
            return
        first = await schemes.first(url, probe=probe)
        async with self._client.stream(
            method, url, headers=headers, content=content, auth=auth.using(first), follow_redirects=False
        ) as response:
            peek = await self._peek(response) if response.status_code == 400 else b""
            if not refused_signature(response.status_code, peek):
                schemes.learned(url, first=first, used=first, status=response.status_code)
                yield response
                return
        second = other(first)
        async with self._client.stream(
            method, url, headers=headers, content=content, auth=auth.using(second), follow_redirects=False
        ) as response:
            schemes.learned(url, first=first, used=second, status=response.status_code)
            yield response

    @staticmethod
    async def _peek(response: httpx.Response) -> bytes:
        """The start of a response's body (the response is not read again afterwards)."""
        data = b""
        async for chunk in response.aiter_bytes():
            data += chunk
            if len(data) >= _PEEK_BYTES:
                break
        return data[:_PEEK_BYTES]

    def _check_response(self, response: httpx.Response, url: str, types: frozenset[str]) -> None:
        if not response.is_success:
            raise RemoteStatusError(
                f"{url} answered {response.status_code}",
                response.status_code,
                response.headers.get("retry-after"),
            )
        media_type = _media_type(response)
        if media_type not in types:
            raise ContentTypeError(f"{url} is served as {media_type or 'no content type'!r}")
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > self._max_bytes:
            raise ResponseTooLargeError(f"{url} announces {length} bytes; the limit is {self._max_bytes}")

    async def _read_capped(self, response: httpx.Response, *, refuse_over_limit: bool = False) -> bytes:
        """Read at most max_bytes; past that, raise (fetches) or truncate (delivery responses)."""
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self._max_bytes:
                if refuse_over_limit:
                    raise ResponseTooLargeError(f"{response.url} sent more than {self._max_bytes} bytes")
                chunks.append(chunk[: len(chunk) - (size - self._max_bytes)])
                break
            chunks.append(chunk)
        return b"".join(chunks)

    @staticmethod
    def _parse_object(body: bytes, url: str) -> dict[str, Any]:
        try:
            document = json.loads(body)
        except (ValueError, RecursionError) as exc:  # RecursionError: absurdly nested arrays
            raise FetchError(f"{url} did not return valid JSON") from exc
        if not isinstance(document, dict):
            raise FetchError(f"{url} returned JSON that is not an object")
        return document

    @staticmethod
    def _check_id(document: Mapping[str, Any], requested: str, final_url: str) -> None:
        # Mastodon discards a fetched document whose id is not where it came from (bad-input
        # case 21): the id must be the URL asked for or the one finally served, on the origin
        # that actually served it, so a redirect cannot lend one host's name to another's data.
        ap_id = document.get("id")
        if not isinstance(ap_id, str):
            raise IdMismatchError(f"the document at {final_url} has no id")
        if ap_id not in (requested, final_url) or _origin(ap_id) != _origin(final_url):
            raise IdMismatchError(f"the document at {final_url} claims id {ap_id!r}; expected {requested!r}")

    @contextlib.asynccontextmanager
    async def _deadline(self, url: str) -> AsyncIterator[None]:
        # One budget for the whole exchange, redirects and slow-dripped bodies included (case 23).
        try:
            async with asyncio.timeout(self._timeout):
                yield
        except TimeoutError as exc:
            raise FetchError(f"{url} took longer than {self._timeout} s") from exc

    @contextlib.asynccontextmanager
    async def _network_errors(self, url: str) -> AsyncIterator[None]:
        try:
            yield
        except httpx.TimeoutException as exc:
            raise FetchError(f"timed out talking to {url}: {exc}") from exc
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
            raise FetchError(f"cannot fetch {url}: {exc!r}") from exc
