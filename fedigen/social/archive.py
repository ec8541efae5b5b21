"""An account's data, out and in (docs/privacy.md): the export archive in Mastodon's layout, and the
import of Mastodon's CSV files.

The archive (a zip) holds ``actor.json``, ``outbox.json`` (its posts as Create activities, its boosts
as Announce, attachments pointing into the archive), ``likes.json``, ``bookmarks.json``, the media
files under ``media_attachments/files/``, and the CSVs Mastodon exports, byte for byte in its shape:
``following_accounts.csv`` and ``muted_accounts.csv`` with their header rows, ``blocked_accounts.csv``,
``bookmarks.csv``, ``lists.csv`` (list title, account address) and ``blocked_domains.csv`` without one
(as Mastodon writes them). ``export_csv`` gives each of those files alone.

Imports read those CSVs (with or without the header, as Mastodon accepts them), resolve the accounts
and posts they name first (WebFinger and fetches, with no transaction open), then apply everything in
one transaction through the one home of each action: following through ``follows.follow`` (a Follow
goes out for remote accounts), blocks and mutes through ``blocks``, bookmarks through ``reactions``,
list members through ``lists`` (only accounts the owner follows, as on Mastodon), domain blocks through
``user_domain_blocks`` (which ends follows with that domain's accounts).
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.activities import announce_of, create_of
from activitypub.actors import local_actor_to_ap
from activitypub.errors import ActivityPubError
from activitypub.vocab import AS_CONTEXT
from fedigen.errors import FedigenError, NotFoundError, ValidationError
from fedigen.services import Services
from fedigen.social import blocks, follows, lists, lookup, reactions, user_domain_blocks
from fedigen.social.media import media_url
from storage import StorageError
from storage.clients import AccountDomainBlock, AccountList, Bookmark, ListAccount, Mute
from storage.models import Actor, Block, Favourite, Follow, MediaAttachment, Status

FOLLOWING_HEADER = ["Account address", "Show boosts", "Notify on new posts", "Languages"]
MUTED_HEADER = ["Account address", "Hide notifications"]
# What each import type's rows hold, as Mastodon's Form::Import expects them (its first column names).
EXPECTED_HEADERS = {
    "following": FOLLOWING_HEADER,
    "blocking": ["Account address"],
    "muting": MUTED_HEADER,
    "domain_blocking": ["#domain"],
    "bookmarks": ["#uri"],
    "lists": ["List name", "Account address"],
}
IMPORT_TYPES = tuple(EXPECTED_HEADERS)
AVAILABLE_IMPORTS = IMPORT_TYPES
MODES = ("merge", "overwrite")
# Mastodon's limits (Form::Import).
MAX_IMPORT_BYTES = 20 * 1024 * 1024
MAX_IMPORT_ROWS = 20_000
MEDIA_DIR = "media_attachments/files"
# The CSVs of the archive, each also downloadable alone (Mastodon's /settings/exports/NAME.csv).
CSV_FILES = (
    "following_accounts.csv",
    "blocked_accounts.csv",
    "muted_accounts.csv",
    "bookmarks.csv",
    "lists.csv",
    "blocked_domains.csv",
)


def acct_of(svc: Services, actor: Actor) -> str:
    """user@host, with our host for local accounts (Mastodon's export form)."""
    return f"{actor.username}@{actor.domain or svc.urls.host}"


def _csv(rows: list[list[str]], header: list[str] | None = None) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _collection(items: list[Any]) -> dict[str, Any]:
    return {"@context": AS_CONTEXT, "id": "outbox.json", "type": "OrderedCollection",
            "totalItems": len(items), "orderedItems": items}  # fmt: skip


async def _targets(session: AsyncSession, query: Any) -> list[Actor]:
    return list(await session.scalars(query))


async def export_archive(svc: Services, session: AsyncSession, actor: Actor) -> bytes:
    """The account's archive as zip bytes."""
    statuses = list(
        await session.scalars(
            select(Status).where(Status.actor_id == actor.id, Status.deleted_at.is_(None)).order_by(Status.id)
        )
    )
    media_rows = list(
        await session.scalars(
            select(MediaAttachment).where(
                MediaAttachment.account_id == actor.id, MediaAttachment.status_id.is_not(None)
            )
        )
    )
    # The file each attachment URL names, and its place in the archive.
    in_archive: dict[str, str] = {}
    files: dict[str, str] = {}
    for media in media_rows:
        key = media.original_key or media.federation_key
        if not key:
            continue
        files[f"{MEDIA_DIR}/{key}"] = key
        for variant in (media.federation_key, media.original_key):
            if variant:
                in_archive[media_url(svc, variant)] = f"/{MEDIA_DIR}/{key}"
    boosted_ids = [s.reblog_of_id for s in statuses if s.reblog_of_id is not None]
    boosted = {s.id: s for s in await session.scalars(select(Status).where(Status.id.in_(boosted_ids)))}
    items: list[dict[str, Any]] = []
    for status in statuses:
        if status.reblog_of_id is not None:
            original = boosted.get(status.reblog_of_id)
            if original is not None:
                items.append(
                    {k: v for k, v in announce_of(status, actor, original).items() if k != "@context"}
                )
            continue
        doc = {k: v for k, v in create_of(status, actor, svc.urls).items() if k != "@context"}
        for attachment in doc["object"].get("attachment") or []:
            if isinstance(attachment, dict) and attachment.get("url") in in_archive:
                attachment["url"] = in_archive[attachment["url"]]
        items.append(doc)
    likes = list(
        await session.scalars(
            select(Status.ap_id).join(Favourite, Favourite.status_id == Status.id)
            .where(Favourite.actor_id == actor.id).order_by(Favourite.id)
        )
    )  # fmt: skip
    bookmarked = await _bookmarked(session, actor)
    actor_doc = local_actor_to_ap(actor, svc.urls)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("actor.json", json.dumps(actor_doc, indent=2, ensure_ascii=False))
        outbox = _collection(items)
        archive.writestr("outbox.json", json.dumps(outbox, indent=2, ensure_ascii=False))
        for name, ids in (("likes.json", likes), ("bookmarks.json", bookmarked)):
            doc = {**_collection(ids), "id": name}
            archive.writestr(name, json.dumps(doc, indent=2, ensure_ascii=False))
        for name in CSV_FILES:
            archive.writestr(name, await export_csv(svc, session, actor, name))
        for path, key in sorted(files.items()):
            try:
                data = await svc.media.store.aread(key)
            except (OSError, StorageError):
                continue  # a file gone from the store: the post still says what it was
            archive.writestr(path, data, compress_type=zipfile.ZIP_STORED)
    return buffer.getvalue()


async def _bookmarked(session: AsyncSession, actor: Actor) -> list[str]:
    return list(
        await session.scalars(
            select(Status.ap_id).join(Bookmark, Bookmark.status_id == Status.id)
            .where(Bookmark.account_id == actor.id).order_by(Bookmark.id.desc())
        )
    )  # fmt: skip


async def export_csv(svc: Services, session: AsyncSession, actor: Actor, name: str) -> str:
    """One of the archive's CSVs (``CSV_FILES``), in Mastodon's shape (its Export#to_*_csv)."""
    if name == "following_accounts.csv":
        following = await _targets(
            session,
            select(Actor).join(Follow, Follow.followee_id == Actor.id)
            .where(Follow.follower_id == actor.id).order_by(Follow.id.desc()),
        )  # fmt: skip
        return _csv([[acct_of(svc, a), "true", "false", ""] for a in following], FOLLOWING_HEADER)
    if name == "blocked_accounts.csv":
        blocked = await _targets(
            session,
            select(Actor).join(Block, Block.target_id == Actor.id)
            .where(Block.actor_id == actor.id).order_by(Block.id.desc()),
        )  # fmt: skip
        return _csv([[acct_of(svc, a)] for a in blocked])
    if name == "muted_accounts.csv":
        mutes = list(
            await session.execute(
                select(Actor, Mute.notifications).join(Mute, Mute.target_id == Actor.id)
                .where(Mute.account_id == actor.id).order_by(Mute.id.desc())
            )
        )  # fmt: skip
        return _csv([[acct_of(svc, a), _flag(n)] for a, n in mutes], MUTED_HEADER)
    if name == "bookmarks.csv":
        return _csv([[uri] for uri in await _bookmarked(session, actor)])
    if name == "lists.csv":
        rows: list[list[str]] = []
        for account_list in await session.scalars(
            select(AccountList).where(AccountList.account_id == actor.id).order_by(AccountList.id)
        ):
            members = await session.execute(lists.members_query(account_list).order_by(ListAccount.id))
            rows.extend([account_list.title, acct_of(svc, member)] for _, member in members)
        return _csv(rows)
    if name == "blocked_domains.csv":
        domains = await session.scalars(
            select(AccountDomainBlock.domain)
            .where(AccountDomainBlock.account_id == actor.id).order_by(AccountDomainBlock.id)
        )  # fmt: skip
        return _csv([[domain] for domain in domains])
    raise NotFoundError("Record not found")


@dataclass
class ImportResult:
    """What an import did: rows applied, and the rows that could not be (with why)."""

    imported: int = 0
    failed: list[str] = field(default_factory=list)


@dataclass
class _Row:
    value: str
    extra: dict[str, str] = field(default_factory=dict)


def parse_import(kind: str, data: bytes) -> list[_Row]:
    """The rows of a Mastodon CSV of this type, with or without its header row (422 when it is not one)."""
    if kind not in IMPORT_TYPES:
        raise ValidationError("type", f"must be one of {', '.join(IMPORT_TYPES)}")
    if kind not in AVAILABLE_IMPORTS:
        raise ValidationError("type", f"{kind} imports are not available on this server yet")
    if len(data) > MAX_IMPORT_BYTES:
        raise ValidationError("data", f"the file is over {MAX_IMPORT_BYTES} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError("data", "the file is not UTF-8 text") from None
    rows = [r for r in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in r)]
    header = EXPECTED_HEADERS[kind]
    if rows and rows[0] and rows[0][0].strip() in {h[0] for h in EXPECTED_HEADERS.values()}:
        header = [cell.strip() for cell in rows.pop(0)]
        if header[0] != EXPECTED_HEADERS[kind][0] or not set(header) <= set(EXPECTED_HEADERS[kind]):
            raise ValidationError("data", f"this file is not a {kind} CSV (its header is {','.join(header)})")
    if not rows:
        raise ValidationError("data", "the file has no rows")
    if len(rows) > MAX_IMPORT_ROWS:
        raise ValidationError("data", f"at most {MAX_IMPORT_ROWS} rows")
    parsed: list[_Row] = []
    for row in rows:
        cells = dict(zip(header, (c.strip() for c in row), strict=False))
        value = cells.get(header[0], "")
        if value:
            parsed.append(_Row(value, cells))
    return parsed


def _true(text: str | None, default: bool) -> bool:
    return default if not text else text.strip().lower() in ("true", "1", "yes")


async def import_csv(
    svc: Services, actor_id: int, kind: str, data: bytes, *, mode: str = "merge"
) -> ImportResult:
    """Import a Mastodon CSV for a local account: rows are resolved first (no transaction open), then
    applied in one transaction. ``overwrite`` also ends what the file does not list (follows, blocks,
    mutes, bookmarks, domain blocks; lists the file does not name are deleted and the others emptied
    first), as Mastodon's does. A row that cannot be applied is reported in ``failed``."""
    if mode not in MODES:
        raise ValidationError("mode", "must be merge or overwrite")
    rows = parse_import(kind, data)
    if kind == "domain_blocking":
        return await _import_domain_blocks(svc, actor_id, rows, mode)
    if kind == "lists":
        return await _import_lists(svc, actor_id, rows, mode)
    result = ImportResult()
    resolved: list[tuple[int, _Row]] = []
    for row in rows:
        try:
            if kind == "bookmarks":
                found: Actor | Status = await lookup.find_status(svc, row.value)
            else:
                found = await lookup.find_actor(svc, row.value)
        except (FedigenError, ActivityPubError, ValueError) as exc:
            result.failed.append(f"{row.value}: {exc}")
            continue
        resolved.append((found.id, row))
    async with svc.sessions() as session, session.begin():
        actor = await _importer(session, actor_id)
        keep: set[int] = set()
        for target_id, row in resolved:
            try:
                await _apply(svc, session, actor, kind, target_id, row)
            except FedigenError as exc:
                result.failed.append(f"{row.value}: {exc}")
                continue
            keep.add(target_id)
            result.imported += 1
        if mode == "overwrite":
            await _drop_unlisted(svc, session, actor, kind, keep)
    if result.imported:
        svc.work_queued()
    return result


async def _importer(session: AsyncSession, actor_id: int) -> Actor:
    actor = await session.get(Actor, actor_id)
    if actor is None or actor.domain is not None or actor.deleted_at is not None:
        raise ValidationError("account", "no such local account")
    return actor


async def _import_domain_blocks(svc: Services, actor_id: int, rows: list[_Row], mode: str) -> ImportResult:
    """Block each domain through ``user_domain_blocks`` (follows with its accounts end); overwrite also
    lifts the blocks of domains the file does not list."""
    result = ImportResult()
    domains: list[str] = []
    for row in rows:
        try:
            domains.append(user_domain_blocks.normalize(row.value))
        except FedigenError as exc:
            result.failed.append(f"{row.value}: {exc}")
    async with svc.sessions() as session, session.begin():
        actor = await _importer(session, actor_id)
        if mode == "overwrite":
            for stale in list(await session.scalars(
                select(AccountDomainBlock.domain).where(AccountDomainBlock.account_id == actor.id)
            )):  # fmt: skip
                if stale not in domains:
                    await user_domain_blocks.unblock_domain(session, actor, stale)
        for domain in dict.fromkeys(domains):
            try:
                await user_domain_blocks.block_domain(svc, session, actor, domain)
            except FedigenError as exc:
                result.failed.append(f"{domain}: {exc}")
                continue
            result.imported += 1
    if result.imported:
        svc.work_queued()
    return result


async def _import_lists(svc: Services, actor_id: int, rows: list[_Row], mode: str) -> ImportResult:
    """Add each account to the list of that title (made when missing) through ``lists``; a member must be
    an account the importer follows. Overwrite first deletes the lists the file does not name and empties
    the others (Mastodon's BulkImportService#import_lists!)."""
    result = ImportResult()
    found: dict[str, int] = {}
    resolved: list[tuple[_Row, int]] = []
    for row in rows:
        handle = row.extra.get("Account address", "")
        label = f"{row.value},{handle}"
        if not handle:
            result.failed.append(f"{label}: the account address is missing")
            continue
        try:
            if handle not in found:
                found[handle] = (await lookup.find_actor(svc, handle)).id
        except (FedigenError, ActivityPubError, ValueError) as exc:
            result.failed.append(f"{label}: {exc}")
            continue
        resolved.append((row, found[handle]))
    titles = list(dict.fromkeys(row.value for row in rows))
    async with svc.sessions() as session, session.begin():
        actor = await _importer(session, actor_id)
        owned = list(await session.scalars(
            select(AccountList).where(AccountList.account_id == actor.id).order_by(AccountList.id)
        ))  # fmt: skip
        if mode == "overwrite":
            for account_list in owned:
                if account_list.title not in titles:
                    await lists.delete_list(session, account_list)
                else:
                    members = await session.scalars(
                        select(ListAccount.account_id).where(ListAccount.list_id == account_list.id)
                    )
                    await lists.remove_accounts(session, account_list, list(members))
            owned = [o for o in owned if o.title in titles]
        # Every list the file names is there afterwards, even one whose members all fail (as Mastodon).
        by_title: dict[str, AccountList] = {}
        refused: dict[str, str] = {}
        for account_list in owned:
            by_title.setdefault(account_list.title, account_list)
        for title in titles:
            if title not in by_title:
                try:
                    by_title[title] = await lists.create_list(session, actor, title)
                except FedigenError as exc:
                    refused[title] = str(exc)
        for row, target_id in resolved:
            label = f"{row.value},{row.extra.get('Account address', '')}"
            if row.value in refused:
                result.failed.append(f"{label}: {refused[row.value]}")
                continue
            try:
                into = by_title[row.value]
                target = await session.get(Actor, target_id)
                if target is None:
                    raise ValidationError("acct", "the account is gone")
                if into not in await lists.lists_with(session, actor.id, target.id):
                    await lists.add_accounts(session, into, [target])
            except FedigenError as exc:
                result.failed.append(f"{label}: {exc}")
                continue
            result.imported += 1
    return result


async def _apply(
    svc: Services, session: AsyncSession, actor: Actor, kind: str, target_id: int, row: _Row
) -> None:
    if kind == "bookmarks":
        status = await session.get(Status, target_id)
        if status is None:
            raise ValidationError("uri", "the post is gone")
        await reactions.bookmark(session, actor, status)
        return
    target = await session.get(Actor, target_id)
    if target is None:
        raise ValidationError("acct", "the account is gone")
    if kind == "following":
        if await follows.find_follow(session, actor, target) is None:
            await follows.follow(svc, session, actor, target)
    elif kind == "blocking":
        await blocks.block(svc, session, actor, target)
    elif kind == "muting":
        await blocks.mute(
            session, actor, target, notifications=_true(row.extra.get("Hide notifications"), True)
        )


async def _drop_unlisted(
    svc: Services, session: AsyncSession, actor: Actor, kind: str, keep: set[int]
) -> None:
    """Overwrite mode: end the follows, blocks, mutes or bookmarks the imported file did not list."""
    if kind == "bookmarks":
        for status in list(
            await session.scalars(
                select(Status)
                .join(Bookmark, Bookmark.status_id == Status.id)
                .where(Bookmark.account_id == actor.id)
            )
        ):
            if status.id not in keep:
                await reactions.unbookmark(session, actor, status)
        return
    owner, target = {
        "following": (Follow.follower_id, Follow.followee_id),
        "blocking": (Block.actor_id, Block.target_id),
        "muting": (Mute.account_id, Mute.target_id),
    }[kind]
    stale = list(
        await session.scalars(select(Actor).where(Actor.id.in_(select(target).where(owner == actor.id))))
    )
    for other in stale:
        if other.id in keep:
            continue
        if kind == "following":
            await follows.unfollow(svc, session, actor, other)
        elif kind == "blocking":
            await blocks.unblock(svc, session, actor, other)
        else:
            await blocks.unmute(session, actor, other)
