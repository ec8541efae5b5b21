"""What this instance does with each remote domain: the policies every check reads, in every process.

The policies live in the database (``domain_blocks``, ``domain_allows``, the federation mode from the
settings); each process keeps a copy. Every change bumps ``moderation_version.value`` in the same
transaction, and each check reads that one-row table (a primary-key lookup) at most once every
``CHECK_INTERVAL`` seconds, reloading the copy when it moved: a change made anywhere (the CLI, another
``fedigen serve``, a worker) is applied by every process within ``CHECK_INTERVAL`` of its commit (fetches,
deliveries, media), by the process that made it at once (:meth:`DomainPolicies.forget`), and by every
inbox at once: the inbox writer (:mod:`activitypub.inbox_writer`) reads the counter in the transaction
that stores each group of accepted activities and checks them again when it moved
(:meth:`DomainPolicies.up_to`). The composition root
also calls :meth:`DomainPolicies.forget` when another process announces a change (an event carried
by PostgreSQL LISTEN/NOTIFY), so in practice every process applies it at once.

A block or allow entry names a host (``example.com``, covering its subdomains) or a host with a port
(``127.0.0.1:8001``, covering that port only), as the keys of :func:`candidates`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from sqlalchemy import select

from storage.db import SessionFactory
from storage.models import DomainAllow, DomainBlock, ModerationVersion

# Seconds a process trusts its copy before reading the version counter again.
CHECK_INTERVAL = 1.0

SUSPEND, SILENCE, NOOP = "suspend", "silence", "noop"
SEVERITIES = (SUSPEND, SILENCE, NOOP)
OPEN, ALLOWLIST = "open", "allowlist"


@dataclass(frozen=True)
class Policy:
    """The decision for one host: ``refused`` means nothing goes either way (suspended or not allowed)."""

    domain: str | None = None
    severity: str | None = None
    reject_media: bool = False
    reject_reports: bool = False
    not_allowed: bool = False

    @property
    def refused(self) -> bool:
        return self.not_allowed or self.severity == SUSPEND

    @property
    def silenced(self) -> bool:
        return self.severity == SILENCE


OPEN_POLICY = Policy()


def host_of(url: str) -> str:
    """The host[:port] of a URL, or the value itself when it is already a domain (or a handle)."""
    if "://" in url:
        return (urlsplit(url).netloc.rsplit("@", 1)[-1]).lower()
    return url.rsplit("@", 1)[-1].strip().lower()


def candidates(url_or_host: str) -> list[str]:
    """The entries that cover a URL or host, most specific first: host:port, the host, each parent."""
    netloc = host_of(url_or_host)
    host = urlsplit(f"//{netloc}").hostname or netloc
    found = [netloc] if netloc != host else []
    labels = host.split(".")
    if host.replace(".", "").isdigit() or ":" in host:  # an IP address has no parent domains
        return [*found, host]
    return found + [".".join(labels[i:]) for i in range(len(labels) - 1 if len(labels) > 1 else 1)]


@lru_cache(maxsize=8192)
def _covering(url_or_host: str) -> tuple[str, tuple[str, ...]]:
    """host_of and candidates of one URL, remembered: every inbox POST checks the same few actor and key
    URLs several times."""
    return host_of(url_or_host), tuple(candidates(url_or_host))


@dataclass(frozen=True)
class _Snapshot:
    version: int
    blocks: dict[str, Policy]
    allows: frozenset[str]


class DomainPolicies:
    """The policies of this instance, as every check reads them (see the module docstring)."""

    def __init__(self, reads: SessionFactory, *, mode: str = OPEN, local_hosts: Iterable[str] = ()) -> None:
        self.reads = reads
        self.mode = mode
        self.local_hosts = frozenset(h.lower() for h in local_hosts)
        self._snapshot: _Snapshot | None = None
        self._checked_at = 0.0

    def forget(self) -> None:
        """Read the policies again on the next check (this process just changed them)."""
        self._snapshot = None

    def known_version(self) -> int | None:
        """The version of the copy held now (None before the first read)."""
        snapshot = self._snapshot
        return None if snapshot is None else snapshot.version

    async def up_to(self, version: int) -> bool:
        """Make sure the copy is of ``version`` (a value just read from ``moderation_version``); True when
        it had to be read again, so that checks made against the old copy must be made again."""
        snapshot = self._snapshot
        if snapshot is not None and snapshot.version == version:
            return False
        await self._current(fresh=True)
        return True

    async def _current(self, fresh: bool = False) -> _Snapshot:
        now = time.monotonic()
        snapshot = self._snapshot
        if snapshot is not None and not fresh:
            if now - self._checked_at < CHECK_INTERVAL:
                return snapshot
            # One read at a time: the requests that arrive while it runs keep the copy of a moment ago
            # (as those of the second before did), rather than each reading the counter again.
            previous, self._checked_at = self._checked_at, now
            try:
                return await self._read(snapshot, now)
            except BaseException:
                self._checked_at = previous
                raise
        return await self._read(snapshot, now)

    async def _read(self, snapshot: _Snapshot | None, now: float) -> _Snapshot:
        async with self.reads() as session:
            version = await session.scalar(select(ModerationVersion.value).where(ModerationVersion.id == 1))
            version = version or 0
            if snapshot is None or snapshot.version != version:
                blocks = {
                    b.domain: Policy(b.domain, b.severity, b.reject_media, b.reject_reports)
                    for b in await session.scalars(select(DomainBlock))
                }
                allows = frozenset(await session.scalars(select(DomainAllow.domain)))
                snapshot = self._snapshot = _Snapshot(version, blocks, allows)
        self._checked_at = now
        return snapshot

    async def policy(self, url_or_host: str, *, fresh: bool = False) -> Policy:
        """The policy for the host of a URL (or a host): the most specific block covering it.

        ``fresh`` reads the version counter now (one primary-key lookup) rather than within
        CHECK_INTERVAL: the inbox does, so a change committed anywhere refuses the very next POST.
        """
        netloc, keys = _covering(url_or_host)
        if not keys or keys[0] in self.local_hosts or netloc in self.local_hosts:
            return OPEN_POLICY
        snapshot = await self._current(fresh)
        block = next((snapshot.blocks[k] for k in keys if k in snapshot.blocks), None)
        if self.mode == ALLOWLIST and snapshot.allows.isdisjoint(keys):
            return Policy(block.domain if block else None, block.severity if block else None,
                          True, True, not_allowed=True)  # fmt: skip
        return block or OPEN_POLICY

    async def refused(self, url_or_host: str, *, fresh: bool = False) -> bool:
        """True when nothing may go to or come from this host (suspended, or not in the allow list)."""
        return (await self.policy(url_or_host, fresh=fresh)).refused

    async def domains_with(self, severity: str) -> list[str]:
        """The block entries of one severity (for filters in SQL)."""
        snapshot = await self._current()
        return sorted(d for d, p in snapshot.blocks.items() if p.severity == severity)
