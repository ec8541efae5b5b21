"""Remote actors and keys: looked up in the database first, fetched (signed, safely) when unknown or stale."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.actors import remote_actor_fields
from activitypub.domains import DomainPolicies
from activitypub.emoji import link_actor, read_emoji_tags
from activitypub.errors import BlockedError, FetchError, InvalidActivityError, SignatureError
from activitypub.fetch import Fetcher, strip_fragment
from activitypub.jsonld import id_of, type_of
from activitypub.notes import RemoteNote, read_note
from activitypub.signatures import PublicKey
from activitypub.urls import LocalUrls, same_origin
from activitypub.vocab import ACTOR_TYPES, NOTE_TYPES
from activitypub.webfinger import resolve_handle
from storage.db import SessionFactory
from storage.models import Actor, RemoteKey, utcnow

log = logging.getLogger(__name__)

ACTOR_TTL = timedelta(days=1)
# A key is fetched again on a verification failure at most this often (key rotation, not a DoS vector).
KEY_REFRESH_INTERVAL = 60.0
MEMORY_CACHE_SIZE = 4096


class Resolver:
    """Finds actors and public keys, caching them in the database and in memory."""

    def __init__(
        self,
        sessions: SessionFactory,
        fetcher: Fetcher,
        urls: LocalUrls,
        *,
        webfinger_scheme: str = "https",
        allow_private_addresses: bool = False,
        reads: SessionFactory | None = None,
        domains: DomainPolicies | None = None,
    ) -> None:
        self.sessions = sessions
        # Sessions for lookups that only read (on SQLite they never take the write lock).
        self.reads = reads or sessions
        self.fetcher = fetcher
        self.urls = urls
        self.webfinger_scheme = webfinger_scheme
        # Whether media URLs on private addresses are kept (tests and local setups only).
        self.allow_private_addresses = allow_private_addresses
        self._keys: dict[str, PublicKey] = {}
        self._refreshed_at: dict[str, float] = {}
        # Suspended and (in allowlist mode) not-allowed domains: nothing is fetched from them.
        self.domains = domains or DomainPolicies(self.reads, local_hosts=[urls.host])

    @asynccontextmanager
    async def _session(self, session: AsyncSession | None) -> AsyncIterator[AsyncSession]:
        """The caller's session (its transaction stays the caller's), or a new one committed at the end.

        SQLite has one writer: a second session opened while the caller holds the write lock would wait
        for it forever, so code running inside a transaction passes its session down.
        """
        if session is not None:
            yield session
            return
        async with self.sessions() as own, own.begin():
            yield own

    async def is_domain_blocked_cached(self, url: str) -> bool:
        """True when the URL's host is suspended or not allowed (see activitypub.domains)."""
        return await self.domains.refused(url)

    def forget_blocklist(self) -> None:
        """Read the domain policies again on next use (after they changed in this process)."""
        self.domains.forget()

    async def is_domain_blocked(self, session: AsyncSession, url: str) -> bool:
        """The same as is_domain_blocked_cached (``session`` is unused, kept for callers)."""
        return await self.domains.refused(url)

    async def get_actor(
        self, ap_id: str, *, refresh: bool = False, session: AsyncSession | None = None
    ) -> Actor:
        """The Actor row for ap_id, fetching and storing it when unknown, stale or refresh is asked."""
        ap_id = ap_id.split("#", 1)[0]
        async with self._session(session) as db:
            actor = await db.scalar(select(Actor).where(Actor.ap_id == ap_id))
            if actor is not None and (actor.local or actor.deleted_at is not None):
                return actor
            if await self.is_domain_blocked(db, ap_id):
                raise BlockedError(f"domain of {ap_id} is blocked")
            fresh = actor is not None and actor.fetched_at and utcnow() - actor.fetched_at < ACTOR_TTL
            if actor is not None and fresh and not refresh:
                return actor
        if self.urls.is_local(ap_id):
            raise InvalidActivityError(f"no local actor {ap_id}")
        fetched = await self.fetcher.fetch_object(ap_id)
        return await self.store_actor(fetched.document, fetched.url, session=session)

    async def store_actor(
        self, doc: dict[str, Any], fetched_url: str, *, session: AsyncSession | None = None
    ) -> Actor:
        """Insert or update a remote actor from its (already fetched and id-checked) document."""
        values = remote_actor_fields(doc, fetched_url, allow_private=self.allow_private_addresses)
        if self.urls.is_local(values["ap_id"]):
            raise InvalidActivityError("a remote document claims a local actor id")
        async with self._session(session) as db:
            actor = await db.scalar(select(Actor).where(Actor.ap_id == values["ap_id"]))
            if actor is None:
                actor = Actor(**values)
                db.add(actor)
            else:
                for key, value in values.items():
                    setattr(actor, key, value)
            actor.fetched_at = utcnow()
            if values["public_key_id"] and values["public_key_pem"]:
                await self._store_key(db, values["public_key_id"], actor.ap_id, values["public_key_pem"])
            await db.flush()
            # The custom emoji of its name, bio and fields (images copied later, by the worker).
            await link_actor(
                db, actor, read_emoji_tags(doc.get("tag"), allow_private=self.allow_private_addresses)
            )
        return actor

    async def _store_key(self, session: AsyncSession, key_id: str, owner: str, pem: str) -> None:
        row = await session.scalar(select(RemoteKey).where(RemoteKey.key_id == key_id))
        if row is None:
            session.add(RemoteKey(key_id=key_id, owner_ap_id=owner, public_key_pem=pem))
        elif row.owner_ap_id != owner:
            log.warning("not letting %s take over key %s of %s", owner, key_id, row.owner_ap_id)
            return
        else:
            row.owner_ap_id, row.public_key_pem, row.fetched_at = owner, pem, utcnow()
        self._keys.pop(key_id, None)

    async def resolve_handle(self, handle: str, *, session: AsyncSession | None = None) -> Actor:
        """@user@host -> Actor, by WebFinger then a fetch of the actor."""
        ap_id = await resolve_handle(self.fetcher, handle, scheme=self.webfinger_scheme)
        return await self.get_actor(ap_id, session=session)

    async def fetch_note(
        self, ap_id: str, *, session: AsyncSession | None = None
    ) -> tuple[Actor, RemoteNote]:
        """Fetch a post by id or by its copied URL and read it, with its author (InvalidActivityError
        if it is not a post)."""
        found = await self.fetch_url(ap_id, session=session)
        if isinstance(found, Actor):
            raise InvalidActivityError(f"{ap_id} is not a post")
        return found

    async def fetch_url(
        self, url: str, *, session: AsyncSession | None = None
    ) -> Actor | tuple[Actor, RemoteNote]:
        """What a URL pasted by a person names: an actor (stored) or a post with its author.

        The URL may be the object's id or the page URL a browser shows (followed to the id on the same
        host, see Fetcher.fetch_object). InvalidActivityError when it is neither an actor nor a post.
        """
        async with self.reads() as db:
            if await self.is_domain_blocked(db, url):
                raise BlockedError(f"domain of {url} is blocked")
        fetched = await self.fetcher.fetch_object(url, canonical=True)
        doc = fetched.document
        if type_of(doc) in ACTOR_TYPES:
            return await self.store_actor(doc, fetched.url, session=session)
        if type_of(doc) not in NOTE_TYPES:
            raise InvalidActivityError(f"{url} is neither an account nor a post")
        author = await self.get_actor(id_of(doc.get("attributedTo")) or "", session=session)
        note = read_note(doc, author, allow_private=self.allow_private_addresses)
        if not same_origin(note.ap_id, author.ap_id):
            raise InvalidActivityError(f"{url} is not on its author's host")
        return author, note

    async def lookup_key(self, key_id: str, refresh: bool) -> PublicKey:
        """The KeyLookup for signature verification: cache, database, then the network."""
        if not refresh:
            cached = self._keys.get(key_id)
            if cached is not None:
                return cached
            async with self.reads() as session:
                local = await session.scalar(
                    select(Actor).where(Actor.public_key_id == key_id, Actor.domain.is_(None))
                )
                if local is not None and local.public_key_pem:
                    return self._remember(PublicKey(key_id, local.ap_id, local.public_key_pem))
                row = await session.scalar(select(RemoteKey).where(RemoteKey.key_id == key_id))
                if row is not None:
                    return self._remember(PublicKey(key_id, row.owner_ap_id, row.public_key_pem))
        else:
            last = self._refreshed_at.get(key_id, 0.0)
            if time.monotonic() - last < KEY_REFRESH_INTERVAL:
                raise SignatureError("key was refreshed moments ago; not fetching it again")
            self._refreshed_at[key_id] = time.monotonic()
        return await self._fetch_key(key_id)

    def _remember(self, key: PublicKey) -> PublicKey:
        if len(self._keys) >= MEMORY_CACHE_SIZE:
            self._keys.pop(next(iter(self._keys)))
        self._keys[key.key_id] = key
        return key

    async def _fetch_key(self, key_id: str) -> PublicKey:
        if urlsplit(key_id).scheme not in ("http", "https"):
            raise SignatureError("keyId is not an http(s) URL")
        async with self.sessions() as session:
            if await self.is_domain_blocked(session, key_id):
                raise BlockedError("signer's domain is blocked")
        try:
            fetched = await self.fetcher.fetch_key_document(key_id)
        except FetchError as exc:
            raise SignatureError(f"could not fetch key {key_id}: {exc}") from exc
        doc = fetched.document
        if doc.get("id") == strip_fragment(key_id) and "inbox" in doc:
            # Mastodon's form: the keyId is the actor's URL with a fragment, and the actor embeds its key.
            try:
                actor = await self.store_actor(doc, fetched.url)
            except InvalidActivityError as exc:
                raise SignatureError(f"the key's actor document is unusable: {exc}") from exc
            if actor.public_key_id != key_id or not actor.public_key_pem:
                raise SignatureError("the actor document does not list this key")
            return self._remember(PublicKey(key_id, actor.ap_id, actor.public_key_pem))
        # Any other document must hold the key: GoToSocial serves a stub of the actor with the key in
        # publicKey (its id is the actor's, not the key's); others serve a standalone key document
        # (id = keyId, owner or controller, publicKeyPem). Either way the owner is then fetched at its own
        # id and must list the key back (Mastodon's and Fedify's check), and must be on the key's origin.
        owner, pem = _key_in_document(doc, key_id)
        if owner is None or pem is None:
            raise SignatureError("the document at the keyId does not hold that key with an owner")
        if not same_origin(owner, key_id):
            raise SignatureError("the key's owner is on another host than the key")
        try:
            actor = await self.get_actor(owner, refresh=True)
        except (FetchError, InvalidActivityError) as exc:
            raise SignatureError(f"could not fetch the key's owner: {exc}") from exc
        if actor.public_key_id != key_id:
            raise SignatureError("the key's owner does not list the key")
        async with self.sessions() as session, session.begin():
            await self._store_key(session, key_id, actor.ap_id, pem)
        return self._remember(PublicKey(key_id, actor.ap_id, pem))


def _key_in_document(doc: dict[str, Any], key_id: str) -> tuple[str | None, str | None]:
    """(owner, PEM) of the key ``key_id`` as a fetched document holds it, or (None, None).

    The key is the document itself (a standalone key: id, owner/controller, publicKeyPem) or one of its
    ``publicKey`` entries (an actor or actor stub: the owner is the entry's, else the document's id).
    """
    candidates: list[tuple[dict[str, Any], str | None]] = [(doc, None)]
    keys = doc.get("publicKey")
    for entry in keys if isinstance(keys, list) else [keys]:
        if isinstance(entry, dict):
            candidates.append((entry, id_of(doc.get("id"))))
    for entry, fallback_owner in candidates:
        if entry.get("id") != key_id:
            continue
        owner = id_of(entry.get("owner") or entry.get("controller")) or fallback_owner
        pem = entry.get("publicKeyPem")
        if owner and isinstance(pem, str):
            return owner, pem
    return None, None
