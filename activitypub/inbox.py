"""Receiving: the checks an inbox POST passes before it becomes one queue row (side effects come later).

On the hot path nothing here opens a database session once the sender's key and the domain policies
are cached: the row goes to the process's :class:`~activitypub.inbox_writer.InboxWriter`, which stores
it with others in one transaction and answers when it is durable.

Order matters: cheap checks first, then the signature (which may fetch a key), then origin rules, and
only then the dedupe record, so a forged activity can never suppress the genuine one with the same id.

An activity whose actor is not the HTTP signer was forwarded (a reply Mastodon passes on to the
followers of the thread's author, a relay): it is taken only with a good Linked Data signature by its
actor (:mod:`activitypub.ldsig`), and what is queued is then the signed document as ldsig reads it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from activitypub import ldsig
from activitypub.errors import (
    BlockedError,
    InvalidActivityError,
    OriginError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)
from activitypub.inbox_writer import InboxWriter
from activitypub.jsonld import check_document, id_of, type_of
from activitypub.resolver import Resolver
from activitypub.schemes import SignatureSchemes
from activitypub.signatures import VerifiedSignature, verify_request
from activitypub.urls import same_origin
from activitypub.vocab import NOTE_TYPES
from storage.db import SessionFactory
from storage.models import Actor

log = logging.getLogger(__name__)
_KEY_ID = re.compile(r'keyid="([^"]+)"', re.IGNORECASE)

ACCEPTED_MEDIA_TYPES = ("application/activity+json", "application/ld+json", "application/json")
# Activities Mastodon sends without an id: its Add and Remove of a pinned post (AddNoteSerializer).
IDLESS_TYPES = frozenset({"Add", "Remove"})


@dataclass(frozen=True)
class Received:
    """The outcome of an accepted POST: ``duplicate`` for a replay, ``ignored`` for a quiet drop."""

    activity_ap_id: str | None
    duplicate: bool = False
    ignored: bool = False


def check_content_type(value: str | None) -> None:
    """Refuse bodies that are not ActivityStreams or plain JSON (415)."""
    media_type = (value or "").split(";", 1)[0].strip().lower()
    if media_type not in ACCEPTED_MEDIA_TYPES:
        raise UnsupportedMediaTypeError(f"unsupported content type {media_type or '(none)'}")


def parse_body(body: bytes, max_bytes: int) -> dict[str, Any]:
    """Size-check and parse an inbox body into a JSON object."""
    if len(body) > max_bytes:
        raise PayloadTooLargeError(f"body over {max_bytes} bytes")
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidActivityError("body is not valid JSON (or nested too deeply)") from exc
    if not isinstance(doc, dict):
        raise InvalidActivityError("body is not a JSON object")
    check_document(doc, raw=body)
    return doc


def derived_id(doc: dict[str, Any], headers: Mapping[str, str], body: bytes) -> str | None:
    """An id for an activity sent without one, on its actor's host: a digest of the signed request, so
    an exact replay is the same activity (and deduplicated) while a new signing is a new one."""
    actor = id_of(doc.get("actor"))
    if not actor or type_of(doc) not in IDLESS_TYPES:
        return None
    signed = "\n".join(headers.get(h, "") for h in ("signature", "signature-input")).encode()
    digest = hashlib.sha256(signed + b"\n" + body).hexdigest()[:32]
    return f"{actor}#{str(doc['type']).lower()}-{digest}"


def check_origin(doc: dict[str, Any], signed: VerifiedSignature) -> str:
    """Origin rules every activity must pass; returns the actor id (docs/refusals.md cases 13-16)."""
    actor = id_of(doc.get("actor"))
    ap_id = doc.get("id")
    ap_type = doc.get("type")
    if not isinstance(ap_type, str) or not actor:
        raise InvalidActivityError("activity lacks type or actor")
    if not isinstance(ap_id, str) or urlsplit(ap_id).scheme not in ("http", "https"):
        raise InvalidActivityError("activity lacks an http(s) id")
    if signed.owner != actor:
        raise OriginError("the signer is not the activity's actor")
    if not same_origin(ap_id, actor):
        raise OriginError("activity id is not on the actor's host")
    obj = doc.get("object")
    if ap_type in ("Create", "Update") and isinstance(obj, dict):
        obj_id = obj.get("id")
        if not isinstance(obj_id, str) or not same_origin(obj_id, actor):
            raise OriginError("object id is not on the actor's host")
        if type_of(obj) in NOTE_TYPES:
            attributed = id_of(obj.get("attributedTo"))
            if attributed != actor:
                raise OriginError("object is attributed to someone other than the actor")
    return actor


async def _deletes_an_actor_we_never_saw(reads: SessionFactory, doc: dict[str, Any]) -> bool:
    actor = id_of(doc.get("actor"))
    if doc.get("type") != "Delete" or not actor or id_of(doc.get("object")) != actor:
        return False
    async with reads() as session:
        return await session.scalar(select(Actor.id).where(Actor.ap_id == actor)) is None


def _signature_key_id(headers: Mapping[str, str]) -> str | None:
    """The keyId of a draft-cavage Signature or an RFC 9421 Signature-Input header, read loosely."""
    for name in ("signature", "signature-input"):
        value = headers.get(name) or ""
        match = _KEY_ID.search(value)
        if match:
            return match.group(1)
    return None


async def receive(
    *,
    writer: InboxWriter,
    resolver: Resolver,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    recipient_id: int | None,
    max_bytes: int,
    clock_window: timedelta,
    schemes: SignatureSchemes | None = None,
) -> Received:
    """Check an inbox POST and queue it; raises an ActivityPubError subclass for every refusal."""
    check_content_type(headers.get("content-type"))
    doc = parse_body(body, max_bytes)
    # A suspended (or, in allowlist mode, not allowed) domain is refused before anything is fetched or
    # verified: by the activity's actor and by the signature's keyId.
    # These read this process's copy of the policies; the writer checks again against the version
    # committed when it stores the activity, so a change made by any process (the CLI, an admin in
    # another server process) refuses the very next POST.
    claimed_actor = id_of(doc.get("actor"))
    if await resolver.domains.refused(claimed_actor or ""):
        raise BlockedError("your domain is blocked here")
    key_id = _signature_key_id(headers)
    if key_id and await resolver.is_domain_blocked_cached(key_id):
        raise BlockedError("your domain is blocked here")
    if await _deletes_an_actor_we_never_saw(resolver.reads, doc):
        # A deleted account's server tells everyone it ever knew; its key is gone with it (a fetch would
        # answer 410), and there is nothing of it here to remove: accept quietly, fetch nothing.
        return Received(None, ignored=True)
    signed = await verify_request(
        method=method, url=url, headers=headers, body=body,
        key_lookup=resolver.lookup_key, clock_window=clock_window,
    )  # fmt: skip
    sender = signed
    actor_ap_id = id_of(doc.get("actor"))
    if actor_ap_id and signed.owner != actor_ap_id and "signature" in doc:
        # Forwarded: the forwarder's own domain must not be blocked, and the actor's signature must hold
        # (docs/refusals.md case 19).
        if await resolver.is_domain_blocked_cached(sender.owner):
            raise BlockedError("your domain is blocked here")
        signed, doc = await ldsig.verify(doc, resolver.lookup_key)
        log.info("accepting %s of %s forwarded by %s", doc.get("id"), signed.owner, sender.owner)
    if doc.get("id") is None and (made := derived_id(doc, headers, body)):
        doc["id"] = made
    actor_ap_id = check_origin(doc, signed)
    if await resolver.is_domain_blocked_cached(actor_ap_id):
        raise BlockedError("your domain is blocked here")
    if schemes is not None:
        await schemes.heard(sender.owner, sender.scheme)  # whoever signs RFC 9421 verifies it
    # No session here: the writer stores the row with others in one transaction and answers once it is
    # durable, checking again there that the sender was not refused meanwhile (deleted or suspended as an
    # account, its domain suspended by another process).
    row = {
        "activity_ap_id": doc["id"],
        "ap_type": str(doc["type"])[:32],
        "actor_ap_id": actor_ap_id,
        "host": urlsplit(actor_ap_id).netloc.lower()[:255],
        "recipient_id": recipient_id,
        "document": doc,
    }
    hosts = [actor_ap_id, sender.owner, *([key_id] if key_id else [])]
    new = await writer.submit(row, hosts)
    return Received(doc["id"], duplicate=not new)
