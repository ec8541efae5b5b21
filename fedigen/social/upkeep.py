"""What an operator looks after: how much media is stored and of what kind, pruning the copies of other
servers' images, and the instance's numbers (accounts, posts, domains, queues, database size).

The media store is content-addressed (:mod:`storage.media`): the same bytes are one file, which several
rows may name. A file is therefore deleted only when, after the prune, no row names it any more; local
accounts' media (uploads and generated images, rows without ``remote_url``) is never pruned, and a file
that one of them shares with a remote copy stays.

What a prune removes, as Mastodon's ``tootctl media remove`` does:

- copies of remote avatars made more than N days ago, of accounts no local account follows or is
  followed by (Mastodon's ``--prune-profiles`` rule); the row stays, marked ``pruned``, so the worker
  does not fetch the image again: the avatar is shown from its server until the account changes it;
  copies of avatars an account no longer uses are removed whoever follows it;
- copies of other servers' custom emoji made more than N days ago and used by no post received in those
  N days; the row stays (``pruned``) and the emoji is shown from its server, until its image changes.

Images attached to remote posts are never copied (clients load them from their server), so there is
nothing of theirs to prune.

With ``--orphans`` a prune also removes the files no row names (:mod:`fedigen.social.media_keys` lists
the columns that name one), as Mastodon's ``tootctl media remove-orphans`` does. They are left when a
file is stored and the row that was to name it is never committed (a crash, a failed transaction, a
post given up); but for a while every new file is one of them, since media is stored before its row
commits. Only files last written more than ``--orphan-hours`` ago go: storing bytes that are there
already refreshes the file's time (:mod:`storage.media`), and each is checked again as it is deleted.
What writes and prunes killed half-way left in a media folder (hidden temporary files, files moved
aside) goes too, once as old (:mod:`storage.media_leftovers`).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.emoji import READY
from fedigen.services import Services
from fedigen.social.emoji import PRUNED
from fedigen.social.media_keys import EMOJI as EMOJI
from fedigen.social.media_keys import KINDS as KINDS
from fedigen.social.media_keys import LOCAL_ORIGINALS as LOCAL_ORIGINALS
from fedigen.social.media_keys import LOCAL_VARIANTS as LOCAL_VARIANTS
from fedigen.social.media_keys import REMOTE_AVATARS as REMOTE_AVATARS
from fedigen.social.media_keys import named_keys
from storage import MediaError
from storage.media import MediaStore
from storage.media_leftovers import sweep_leftovers
from storage.models import (
    QUEUE_MODELS,
    Actor,
    CustomEmoji,
    DomainBlock,
    Follow,
    Host,
    MediaAttachment,
    Status,
    StatusEmoji,
    User,
    utcnow,
)
from storage.signup import Signup

# The grace period of `fedigen media prune --orphans`, in hours: its default and its bounds.
ORPHAN_HOURS = 24
MAX_ORPHAN_HOURS = 36500 * 24


@dataclass
class FileTally:
    """How many files and bytes."""

    files: int = 0
    bytes: int = 0

    def add(self, size: int) -> None:
        self.files += 1
        self.bytes += size

    def as_dict(self) -> dict[str, int]:
        return {"files": self.files, "bytes": self.bytes}


@dataclass
class PruneResult:
    """What a prune removed (or, with ``dry_run``, would remove)."""

    dry_run: bool
    cutoff: datetime
    avatars: int = 0  # avatar copies pruned
    emojis: int = 0  # emoji copies pruned
    freed: FileTally = field(default_factory=FileTally)
    # Files a pruned row named that another row still names (kept).
    shared: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run, "cutoff": self.cutoff.isoformat(), "avatars": self.avatars,
            "emojis": self.emojis, "freed": self.freed.as_dict(), "kept_shared_files": self.shared,
        }  # fmt: skip


async def _size(store: MediaStore, key: str) -> int | None:
    """The size of a stored file, None when it is missing (or the key is malformed)."""
    try:
        return await store.asize(key)
    except (OSError, MediaError):
        return None


async def _referenced_keys(session: AsyncSession) -> set[str]:
    """Every media key a row names (:func:`fedigen.social.media_keys.named_keys`)."""
    return (await named_keys(session)).all


def _related_locally(actor_id: Any) -> Any:
    """Whether an account follows, or is followed by, anyone we know of (locally stored follows)."""
    return exists().where(or_(Follow.follower_id == actor_id, Follow.followee_id == actor_id))


async def prune_media(svc: Services, days: int, *, dry_run: bool = False) -> PruneResult:
    """Prune cached copies of remote images older than ``days`` days (see the module's docstring)."""
    if not 1 <= days <= 36500:
        raise ValueError(f"--days must be from 1 to 36500, not {days}")
    cutoff = utcnow() - timedelta(days=days)
    result = PruneResult(dry_run=dry_run, cutoff=cutoff)
    candidates: set[str] = set()
    async with svc.sessions() as session:
        async with session.begin():
            avatar_copies = list(
                await session.execute(
                    select(MediaAttachment, Actor.icon_url)
                    .join(Actor, Actor.id == MediaAttachment.account_id)
                    .where(
                        Actor.domain.is_not(None),
                        MediaAttachment.remote_url.is_not(None),
                        MediaAttachment.status_id.is_(None),
                        MediaAttachment.state == READY,
                        MediaAttachment.created_at < cutoff,
                        or_(
                            Actor.icon_url.is_(None),
                            MediaAttachment.remote_url != Actor.icon_url,
                            ~_related_locally(Actor.id),
                        ),
                    )
                )
            )
            for row, icon_url in avatar_copies:
                candidates.update(k for k in (row.original_key, row.federation_key, row.thumbnail_key) if k)
                if row.remote_url == icon_url:  # the avatar in use: keep the row, so it is not fetched again
                    row.state = PRUNED
                    row.original_key = row.federation_key = row.thumbnail_key = None
                    row.meta = {}
                else:  # a copy of an avatar no longer used
                    await session.delete(row)
                result.avatars += 1
            recent_use = (
                select(StatusEmoji.id)
                .join(Status, Status.id == StatusEmoji.status_id)
                .where(StatusEmoji.emoji_id == CustomEmoji.id, Status.created_at >= cutoff)
                .exists()
            )
            emojis = list(
                await session.scalars(
                    select(CustomEmoji).where(
                        CustomEmoji.domain.is_not(None),
                        CustomEmoji.state == READY,
                        func.coalesce(CustomEmoji.fetched_at, CustomEmoji.created_at) < cutoff,
                        ~recent_use,
                    )
                )
            )
            for emoji in emojis:
                candidates.update(k for k in (emoji.image_key, emoji.static_key) if k)
                emoji.state, emoji.image_key, emoji.static_key = PRUNED, None, None
                result.emojis += 1
            await session.flush()
            still_named = await _referenced_keys(session)
            if dry_run:
                await session.rollback()
    doomed = sorted(candidates - still_named)
    result.shared = len(candidates & still_named)
    if not dry_run and doomed:
        # Named again since (the same bytes stored anew by a copy made meanwhile): keep those.
        async with svc.reads() as session:
            doomed = sorted(set(doomed) - await _referenced_keys(session))
    store = svc.media.store
    for key in doomed:
        size = await _size(store, key)
        if size is None:
            continue
        if not dry_run:
            await store.adelete(key)
        result.freed.add(size)
    return result


@dataclass
class OrphanResult:
    """What ``prune --orphans`` removed (or, with ``dry_run``, would remove): files no row names, last
    written before ``cutoff``; ``recent`` are those younger than the grace period, kept."""

    dry_run: bool
    hours: int
    cutoff: datetime
    freed: FileTally = field(default_factory=FileTally)
    recent: FileTally = field(default_factory=FileTally)
    # What killed writes and prunes left (storage.media_leftovers): removed, and files put back.
    leftovers: FileTally = field(default_factory=FileTally)
    restored: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "orphan_hours": self.hours, "cutoff": self.cutoff.isoformat(), "freed": self.freed.as_dict(),
            "kept_recent": self.recent.as_dict(), "leftovers": self.leftovers.as_dict(),
            "restored": self.restored,
        }  # fmt: skip


def check_orphan_hours(hours: int) -> int:
    """``hours`` if it is a grace period ``prune --orphans`` accepts; ValueError otherwise."""
    if not 1 <= hours <= MAX_ORPHAN_HOURS:
        raise ValueError(f"--orphan-hours must be from 1 to {MAX_ORPHAN_HOURS}, not {hours}")
    return hours


def check_orphan_store(svc: Services) -> None:
    """ValueError when the media store cannot be swept for orphans: the uploads share it (raw uploads are
    named by their row's meta, not by a key column, so they would all look orphaned)."""
    if svc.media.uploads_share_store:
        where = svc.media.store.location
        raise ValueError(f"--orphans: the uploads share the media store ({where}); set [media] upload_dir")


async def prune_orphans(
    svc: Services, hours: int = ORPHAN_HOURS, *, dry_run: bool = False, now: datetime | None = None
) -> OrphanResult:
    """Remove the files of the media store no row names that were last written more than ``hours``
    hours before ``now`` (see the module's docstring)."""
    cutoff = (now or utcnow()) - timedelta(hours=check_orphan_hours(hours))
    result = OrphanResult(dry_run=dry_run, hours=hours, cutoff=cutoff)
    check_orphan_store(svc)
    store = svc.media.store
    # First what killed writes and prunes left: a file put back under its key is then listed (and goes
    # below if no row names it).
    swept = await asyncio.to_thread(sweep_leftovers, store, cutoff, dry_run=dry_run)
    result.leftovers, result.restored = FileTally(swept.files, swept.bytes), swept.restored
    # Listed before the rows are read: a file stored after the listing is not looked at, and one stored
    # before it whose row commits before the read is named.
    listing = await store.alisting()
    async with svc.reads() as session:
        named = await _referenced_keys(session)
    doomed: list[str] = []
    for key, stored in sorted(listing.items()):
        if key in named:
            continue
        if stored.modified >= cutoff:
            result.recent.add(stored.size)
        elif dry_run:
            result.freed.add(stored.size)
        else:
            doomed.append(key)
    if doomed:
        async with svc.reads() as session:  # named since (the same bytes stored again): kept
            named = await _referenced_keys(session)
    for key in doomed:
        if key in named:
            continue
        # Removed only if still last written before the cutoff (stored again meanwhile: kept).
        size = await store.adelete_older(key, cutoff)
        if size is not None:
            result.freed.add(size)
    return result


@dataclass
class MediaUsage:
    """Files and bytes of the media directory by kind, and what no row names."""

    kinds: dict[str, FileTally]
    # Files on disk no row names (left by an interrupted write or an older prune), and the uploads
    # waiting for the image pipeline.
    unreferenced: FileTally
    uploads: FileTally
    # Keys a row names whose file is missing.
    missing: int

    @property
    def total(self) -> FileTally:
        tally = FileTally()
        for part in [*self.kinds.values(), self.unreferenced, self.uploads]:
            tally.files += part.files
            tally.bytes += part.bytes
        return tally

    def as_dict(self) -> dict[str, Any]:
        return {
            "kinds": {name: t.as_dict() for name, t in self.kinds.items()},
            "unreferenced": self.unreferenced.as_dict(),
            "uploads": self.uploads.as_dict(),
            "missing": self.missing,
            "total": self.total.as_dict(),
        }


async def media_usage(svc: Services) -> MediaUsage:
    """Bytes and files by kind: local originals, their variants, remote avatar copies, emoji copies."""
    async with svc.reads() as session:
        named = await named_keys(session)
    by_kind = named.by_kind
    on_disk = await svc.media.store.akeys()
    uploads_on_disk = await svc.media.uploads.akeys()
    counted: set[str] = set()
    kinds: dict[str, FileTally] = {}
    missing: set[str] = set()
    for kind in KINDS:  # a file several kinds share is counted once, under the first
        tally = kinds[kind] = FileTally()
        for key in sorted(by_kind[kind] - counted):
            counted.add(key)
            if key in on_disk:
                tally.add(on_disk[key])
            else:
                missing.add(key)
    # Named only by a local profile's or post's URL (see media_keys): a local variant when it is there.
    for key in sorted(named.by_url - counted):
        counted.add(key)
        if key in on_disk:
            kinds[LOCAL_VARIANTS].add(on_disk[key])
    unreferenced = FileTally()
    for key, size in on_disk.items():
        if key not in counted:
            unreferenced.add(size)
    uploads = FileTally()
    for size in uploads_on_disk.values():
        uploads.add(size)
    return MediaUsage(kinds=kinds, unreferenced=unreferenced, uploads=uploads, missing=len(missing))


async def instance_stats(svc: Services) -> dict[str, Any]:
    """Accounts by role and state, posts local and remote, known domains, queue depths, database size."""
    async with svc.reads() as session:
        roles = Counter(
            {
                str(role): int(n)
                for role, n in await session.execute(select(User.role, func.count()).group_by(User.role))
            }
        )
        states: Counter[str] = Counter()
        # One state each, the strongest first: deleted, suspended, disabled, pending (a sign-up not yet
        # confirmed or approved; accounts made at the CLI have no sign-up and are never pending), active.
        pending = and_(
            Signup.id.is_not(None), or_(Signup.confirmed_at.is_(None), Signup.approved_at.is_(None))
        )
        for deleted, suspended, disabled, waiting, n in await session.execute(
            select(Actor.deleted_at.is_not(None), Actor.suspended_at.is_not(None),
                   Actor.disabled_at.is_not(None), pending, func.count())
            .join(User, User.actor_id == Actor.id)
            .outerjoin(Signup, Signup.actor_id == Actor.id)
            .group_by(Actor.deleted_at.is_not(None), Actor.suspended_at.is_not(None),
                      Actor.disabled_at.is_not(None), pending)
        ):  # fmt: skip
            state = ("deleted" if deleted else "suspended" if suspended else "disabled" if disabled
                     else "pending" if waiting else "active")  # fmt: skip
            states[state] += int(n)
        remote_accounts = await session.scalar(
            select(func.count())
            .select_from(Actor)
            .where(Actor.domain.is_not(None), Actor.deleted_at.is_(None))
        )
        statuses: dict[str, int] = {"local": 0, "remote": 0}
        for local, n in await session.execute(
            select(Status.local, func.count()).where(Status.deleted_at.is_(None)).group_by(Status.local)
        ):
            statuses["local" if local else "remote"] += int(n)
        domains = await session.scalar(
            select(func.count(func.distinct(Actor.domain))).where(Actor.domain.is_not(None))
        )
        hosts = await session.scalar(select(func.count()).select_from(Host))
        unavailable = await session.scalar(
            select(func.count()).select_from(Host).where(Host.unavailable_since.is_not(None))
        )
        blocked = await session.scalar(select(func.count()).select_from(DomainBlock))
        queues: dict[str, dict[str, int]] = {}
        for model in QUEUE_MODELS:
            table = model.__table__  # type: ignore[attr-defined]
            counts = {
                str(getattr(state, "value", state)): int(n)
                for state, n in await session.execute(
                    select(table.c.state, func.count()).group_by(table.c.state)
                )
            }
            queues[str(table.name)] = dict(sorted(counts.items()))
        size = await database_size(session, svc.engine.dialect.name)
    return {
        "users": {
            "total": sum(roles.values()), "by_role": dict(sorted(roles.items())),
            "by_state": dict(sorted(states.items())),
        },
        "remote_accounts": int(remote_accounts or 0),
        "statuses": statuses,
        "domains": {
            "known": int(domains or 0), "hosts_contacted": int(hosts or 0),
            "unavailable": int(unavailable or 0), "blocked": int(blocked or 0),
        },
        "queues": queues,
        "database": {"dialect": svc.engine.dialect.name, "bytes": size},
    }  # fmt: skip


async def database_size(session: AsyncSession, dialect: str) -> int | None:
    """The database's size in bytes (SQLite: its pages; PostgreSQL: pg_database_size)."""
    if dialect == "sqlite":
        pages = await session.scalar(text("PRAGMA page_count"))
        page_size = await session.scalar(text("PRAGMA page_size"))
        return int(pages or 0) * int(page_size or 0)
    if dialect == "postgresql":
        value = await session.scalar(text("SELECT pg_database_size(current_database())"))
        return int(value) if value is not None else None
    return None
