"""Which HTTP signature scheme each host gets first, and what a refusal teaches ("double-knocking").

Mastodon verifies RFC 9421 signatures by default from 4.5 on (4.4 behind a feature flag), and
draft-cavage still (https://docs.joinmastodon.org/spec/security/#http-message-signatures: one
signature, ``created``, ``@method`` and ``@target-uri`` covered, ``Content-Digest`` on POSTs,
``rsa-v1_5-sha256``). It advertises that nowhere on the wire: no ``Accept-Signature`` (RFC 9421
section 5.1) on its 401s. Bridgy Fed and most other servers verify draft-cavage only. Hence the rule
(FEDERATION.md, "Which scheme a host gets"):

1. What a host taught us comes first: ``rfc9421`` once it accepted an RFC 9421 signature (first
   try, or the second after a 401 to draft-cavage); ``draft-cavage`` once it refused RFC 9421 and
   took draft-cavage, for :data:`CAVAGE_MEMORY`, after which the signals below are heard again.
2. Bridgy Fed (``brid.gy`` and its subdomains) gets draft-cavage.
3. RFC 9421 when the host is known to verify it: its NodeInfo names Mastodon 4.5 or later (asked
   before the first delivery to a host, again after :data:`NODEINFO_TTL`; never for fetches, which
   may run while an inbox request waits), or it signed a request to us with RFC 9421 (whoever signs
   RFC 9421 verifies it: Fedify, Mastodon's successors).
4. Otherwise draft-cavage.

A 401, or a 400 whose body speaks of a signature, gets one retry in the other scheme, and an accepted
retry is remembered (rule 1). What is learned lives on the ``hosts`` row (shared by every worker)
and in a per-process cache read again after :data:`CACHE_TTL`. Writes happen in the background: a
fetch may run while its caller holds SQLite's write lock, and must not wait for itself.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from activitypub.signing import DRAFT_CAVAGE, RFC9421
from storage.db import SessionFactory
from storage.models import Host, utcnow

log = logging.getLogger(__name__)

#: A host that refused RFC 9421 is not offered it again for this long (it may upgrade meanwhile).
CAVAGE_MEMORY = timedelta(days=30)
#: NodeInfo is asked again after this long.
NODEINFO_TTL = timedelta(days=7)
#: A process reads a host's row again after this many seconds (another worker may have learned).
CACHE_TTL = 300.0
CACHE_SIZE = 10_000
#: What is learned is written this long after (together with what else is learned meanwhile).
WRITE_EVERY = 0.05
#: A delivery waits this long for a NodeInfo answer, then goes on (draft-cavage) while it arrives.
PROBE_WAIT = 3.0
#: Domains (and their subdomains) that verify draft-cavage only: Bridgy Fed signs and verifies with
#: the httpsig library (https://github.com/snarfed/bridgy-fed, activitypub.py).
CAVAGE_ONLY_DOMAINS = ("brid.gy",)
#: NodeInfo software.name -> the first version that verifies RFC 9421 by default.
RFC9421_SOFTWARE: dict[str, tuple[int, int]] = {"mastodon": (4, 5)}
_VERSION = re.compile(r"(\d+)\.(\d+)")
_NODEINFO_SCHEMAS = (
    "http://nodeinfo.diaspora.software/ns/schema/2.1",
    "http://nodeinfo.diaspora.software/ns/schema/2.0",
)


@dataclass(frozen=True)
class Software:
    """What a host's NodeInfo says it runs."""

    name: str
    version: str


#: ``base URL -> Software | None``; may raise anything (a failure counts as "not known").
NodeInfoReader = Callable[[str], Awaitable[Software | None]]


@dataclass(frozen=True)
class HostSchemes:
    """The scheme part of a ``hosts`` row."""

    signature_scheme: str | None = None
    signature_scheme_at: datetime | None = None
    software_name: str | None = None
    software_version: str | None = None
    nodeinfo_checked_at: datetime | None = None


@functools.lru_cache(maxsize=8192)
def host_of(url: str) -> str:
    """The ``hosts.domain`` of a URL: its host[:port], lowercased."""
    return urlsplit(url).netloc.lower()


def other(scheme: str) -> str:
    """The scheme a refused request is retried in."""
    return DRAFT_CAVAGE if scheme == RFC9421 else RFC9421


def refused_signature(status: int, body: bytes = b"") -> bool:
    """Whether a response says the signature was not taken: 401, or a 400 that says "signature"."""
    return status == 401 or (status == 400 and b"signature" in body.lower())


def accepted(status: int) -> bool:
    """Whether a response shows the signature was taken (2xx and 3xx; 404 and 410 of a fetch too)."""
    return status < 400 or status in (404, 410)


def verifies_rfc9421(software: Software | None) -> bool:
    """Whether NodeInfo names software that verifies RFC 9421 by default."""
    if software is None:
        return False
    first = RFC9421_SOFTWARE.get(software.name.lower())
    found = _VERSION.match(software.version)
    return first is not None and found is not None and (int(found[1]), int(found[2])) >= first


_CAVAGE_ONLY_SUFFIXES = tuple("." + domain for domain in CAVAGE_ONLY_DOMAINS)


def cavage_only_domain(host: str) -> bool:
    """Whether ``host`` (a name with an optional port) is, or is under, one of CAVAGE_ONLY_DOMAINS
    (asked once per delivery: one tuple ``endswith``, no generator)."""
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return name in CAVAGE_ONLY_DOMAINS or name.endswith(_CAVAGE_ONLY_SUFFIXES)


def nodeinfo_software(document: Mapping[str, Any]) -> Software | None:
    """``software`` of a NodeInfo 2.x document."""
    software = document.get("software")
    if not isinstance(software, dict):
        return None
    name, version = software.get("name"), software.get("version")
    if not isinstance(name, str) or not name:
        return None
    return Software(name[:64], version[:64] if isinstance(version, str) else "")


def nodeinfo_link(jrd: Mapping[str, Any], base: str) -> str | None:
    """The NodeInfo 2.1 (else 2.0) document URL of a ``/.well-known/nodeinfo`` JRD, on ``base``'s origin."""
    links = jrd.get("links")
    if not isinstance(links, list):
        return None
    found = {
        link.get("rel"): link.get("href")
        for link in links
        if isinstance(link, dict) and isinstance(link.get("href"), str)
    }
    origin = urlsplit(base)
    for schema in _NODEINFO_SCHEMAS:
        href = found.get(schema)
        if href is not None:
            parts = urlsplit(href)
            # Only the host's own document: a link elsewhere would make us fetch for anyone.
            if (parts.scheme, parts.netloc.lower()) == (origin.scheme, origin.netloc.lower()):
                return str(href)
    return None


def _from_row(row: Any) -> HostSchemes:
    """What a ``hosts`` row (a Host, or a plain row with the same column names; None: no row) says."""
    if row is None:
        return HostSchemes()
    return HostSchemes(
        row.signature_scheme,
        row.signature_scheme_at,
        row.software_name,
        row.software_version,
        row.nodeinfo_checked_at,
    )


class SignatureSchemes:
    """The per-host memory of signature schemes, on the ``hosts`` table."""

    def __init__(
        self,
        sessions: SessionFactory,
        reads: SessionFactory | None = None,
        *,
        nodeinfo: NodeInfoReader | None = None,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessions = sessions
        self.reads = reads or sessions
        #: Set by the composition root once the fetcher exists (it reads NodeInfo unsigned).
        self.nodeinfo = nodeinfo
        self._now = now
        self._cache: dict[str, tuple[float, HostSchemes]] = {}
        self._probes: dict[str, asyncio.Task[None]] = {}
        self._writes: set[asyncio.Task[None]] = set()
        self._pending: dict[str, dict[str, Any]] = {}  # host -> values learned and not yet written
        self._writer: asyncio.Task[None] | None = None

    # --- choosing -------------------------------------------------------------------------------

    async def first(self, url: str, *, probe: bool = False) -> str:
        """The scheme to sign a request to ``url`` in first; ``probe`` may ask the host's NodeInfo."""
        host = host_of(url)
        known = await self._get(host)
        now = self._now()
        if known.signature_scheme == RFC9421:
            return RFC9421
        if self._cavage_remembered(known, now):
            return DRAFT_CAVAGE
        if cavage_only_domain(host):
            return DRAFT_CAVAGE
        stale = known.nodeinfo_checked_at is None or now - known.nodeinfo_checked_at >= NODEINFO_TTL
        if probe and stale and self.nodeinfo is not None:
            await self._probe(host, url)
            known = await self._get(host)
        if known.software_name is not None and verifies_rfc9421(
            Software(known.software_name, known.software_version or "")
        ):
            return RFC9421
        return DRAFT_CAVAGE

    # --- learning -------------------------------------------------------------------------------

    def learned(self, url: str, *, first: str, used: str, status: int) -> None:
        """Record what a request signed in ``first`` (and retried in ``used``) ended with."""
        if not accepted(status):
            return
        host = host_of(url)
        if used != first:
            self._remember(host, signature_scheme=used, signature_scheme_at=self._now())
        elif used == RFC9421 and self._cached(host).signature_scheme != RFC9421:
            self._remember(host, signature_scheme=RFC9421, signature_scheme_at=self._now())

    async def heard(self, url: str, scheme: str) -> None:
        """A request from ``url``'s host verified in ``scheme``: one that signs RFC 9421 verifies it."""
        if scheme != RFC9421:
            return
        host = host_of(url)
        known = await self._get(host)
        if known.signature_scheme != RFC9421 and not self._cavage_remembered(known, self._now()):
            self._remember(host, signature_scheme=RFC9421, signature_scheme_at=self._now())

    async def flush(self) -> None:
        """Wait for the background writes (and NodeInfo probes) under way."""
        while self._writes or self._probes:
            await asyncio.gather(*self._writes, *self._probes.values(), return_exceptions=True)

    @staticmethod
    def _cavage_remembered(known: HostSchemes, now: datetime) -> bool:
        at = known.signature_scheme_at
        return known.signature_scheme == DRAFT_CAVAGE and at is not None and now - at < CAVAGE_MEMORY

    # --- the cache and the table ----------------------------------------------------------------

    def _cached(self, host: str) -> HostSchemes:
        entry = self._cache.get(host)
        return entry[1] if entry is not None else HostSchemes()

    def _put(self, host: str, value: HostSchemes) -> None:
        if len(self._cache) >= CACHE_SIZE and host not in self._cache:
            self._cache.pop(next(iter(self._cache)))
        self._cache[host] = (time.monotonic(), value)

    def prime(self, rows: Mapping[str, Any]) -> None:
        """Take the ``hosts`` rows a caller read anyway (host -> row, None: no row), for the hosts this
        process has no fresh word of: the deliverer reads a claim's hosts in one query, instead of one
        query per host here. A row is a ``Host`` or any row with its scheme columns (``_from_row``)."""
        now = time.monotonic()
        for host, row in rows.items():
            entry = self._cache.get(host)
            if (entry is not None and now - entry[0] < CACHE_TTL) or host in self._pending:
                continue
            self._put(host, _from_row(row))

    async def _get(self, host: str) -> HostSchemes:
        entry = self._cache.get(host)
        if entry is not None and time.monotonic() - entry[0] < CACHE_TTL:
            return entry[1]
        try:
            async with self.reads() as session:
                row = await session.scalar(select(Host).where(Host.domain == host))
        except SQLAlchemyError:
            log.exception("could not read what is known of %s's signatures", host)
            return entry[1] if entry is not None else HostSchemes()
        value = _from_row(row)
        self._put(host, value)
        return value

    def _remember(self, host: str, **values: Any) -> None:
        self._put(host, replace(self._cached(host), **values))
        log.info("learned of %s: %s", host, values)
        self._pending[host] = self._pending.get(host, {}) | values
        if self._writer is None:  # one writer at a time; what arrives meanwhile waits for the next round
            self._writer = asyncio.get_running_loop().create_task(self._write_pending())
            self._writes.add(self._writer)
            self._writer.add_done_callback(self._writes.discard)

    async def _write_pending(self) -> None:
        """Write what was learned, many hosts per transaction (a fan-out learns of a thousand at once):
        one statement per set of columns learned, until nothing is left."""
        try:
            while self._pending:
                await asyncio.sleep(WRITE_EVERY)  # let a round of learning gather
                pending, self._pending = self._pending, {}
                groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
                for host, values in pending.items():
                    groups.setdefault(tuple(sorted(values)), []).append(
                        {"domain": host[:255], "failures": 0, **values}
                    )
                try:
                    async with self.sessions() as session, session.begin():
                        dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
                        insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
                        for columns, rows in groups.items():
                            statement = insert(Host)
                            set_ = {column: statement.excluded[column] for column in columns}
                            await session.execute(
                                statement.on_conflict_do_update(index_elements=["domain"], set_=set_), rows
                            )
                except SQLAlchemyError:
                    log.exception("could not record what was learned of %d hosts' signatures", len(pending))
        finally:
            self._writer = None

    async def _probe(self, host: str, url: str) -> None:
        task = self._probes.get(host)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._read_nodeinfo(host, url))
            self._probes[host] = task
            task.add_done_callback(lambda _done: self._probes.pop(host, None))
        try:
            await asyncio.wait_for(asyncio.shield(task), PROBE_WAIT)
        except TimeoutError:
            log.info("NodeInfo of %s is slow; signing as if it were unknown meanwhile", host)

    async def _read_nodeinfo(self, host: str, url: str) -> None:
        assert self.nodeinfo is not None
        parts = urlsplit(url)
        software: Software | None
        try:
            software = await self.nodeinfo(f"{parts.scheme}://{parts.netloc}")
        except Exception as exc:  # noqa: BLE001 - any failure means "not known"; the delivery goes on
            log.info("no NodeInfo from %s: %s", host, exc)
            software = None
        self._remember(
            host,
            software_name=software.name if software else None,
            software_version=software.version if software else None,
            nodeinfo_checked_at=self._now(),
        )
