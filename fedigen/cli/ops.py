"""CLI commands for running an instance: ``fedigen media prune|usage|move``, ``fedigen stats``, and
``fedigen db backup`` (docs/operating.md says when to use each)."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import click

from fedigen.cli.common import fail, run_async, settings_of, with_services
from fedigen.config import ConfigError
from fedigen.services import Services, media_stores
from fedigen.social import upkeep
from storage import StorageError
from storage.media_move import MoveResult, move_media

SQLITE_PREFIX = "sqlite+aiosqlite:///"


def human(size: int | None) -> str:
    """Bytes as a person reads them (1.5 MiB)."""
    if size is None:
        return "unknown"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _files(tally: upkeep.FileTally) -> str:
    return f"{tally.files} files, {human(tally.bytes)} ({tally.bytes} bytes)"


@click.group()
def media() -> None:
    """Stored media: what uses the space, and pruning copies of remote images and orphaned files."""


@media.command("prune")
@click.option(
    "--days", default="7", show_default=True, help="Prune copies made more than this many days ago."
)
@click.option("--orphans", is_flag=True, help="Also remove files no database row names (see --orphan-hours).")
@click.option(
    "--orphan-hours",
    default=None,
    help="With --orphans: only files last written more than this many hours ago "
    f"[default: {upkeep.ORPHAN_HOURS}].",
)
@click.option("--dry-run", is_flag=True, help="Report what would be freed; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@with_services
async def media_prune(
    svc: Services, days: str, orphans: bool, orphan_hours: str | None, dry_run: bool, as_json: bool
) -> None:
    """Remove cached copies of remote avatars and custom emoji older than --days (never local media);
    with --orphans, also the files of the media store no row names, once older than --orphan-hours
    (a file is stored just before the row naming it is committed: the grace period keeps those)."""
    try:
        count = int(days)
    except ValueError:
        fail(f"--days must be a whole number of days, not {days!r}")
    hours = upkeep.ORPHAN_HOURS
    if orphan_hours is not None:
        if not orphans:
            fail("--orphan-hours goes with --orphans")
        try:
            hours = int(orphan_hours)
        except ValueError:
            fail(f"--orphan-hours must be a whole number of hours, not {orphan_hours!r}")
    if orphans:
        try:  # before anything is pruned
            upkeep.check_orphan_hours(hours)
            upkeep.check_orphan_store(svc)
        except ValueError as exc:
            fail(str(exc))
    result = await upkeep.prune_media(svc, count, dry_run=dry_run)
    orphaned = await upkeep.prune_orphans(svc, hours, dry_run=dry_run) if orphans else None
    if as_json:
        click.echo(json.dumps(result.as_dict() | ({"orphans": orphaned.as_dict()} if orphaned else {})))
        return
    verb = "would free" if dry_run else "freed"
    click.echo(
        f"{'dry run: ' if dry_run else ''}{result.avatars} avatar copies and {result.emojis} emoji copies "
        f"older than {count} days; {verb} {_files(result.freed)}"
        + (f"; {result.shared} files kept (still used elsewhere)" if result.shared else "")
    )
    if orphaned is not None:
        click.echo(
            f"{'dry run: ' if dry_run else ''}orphans (files no row names) older than {hours} hours: "
            f"{verb} {_files(orphaned.freed)}"
            + (f"; {orphaned.recent.files} newer files kept (grace period)" if orphaned.recent.files else "")
        )
    if orphaned is not None and (orphaned.leftovers.files or orphaned.restored):
        click.echo(
            f"{'dry run: ' if dry_run else ''}left by interrupted writes or prunes: {verb} "
            f"{_files(orphaned.leftovers)}; {'would put' if dry_run else 'put'} {orphaned.restored} "
            "files back under their key"
        )


@media.command("usage")
@click.option("--json", "as_json", is_flag=True, help="Print the numbers as JSON.")
@with_services
async def media_usage(svc: Services, as_json: bool) -> None:
    """Files and bytes of the media directory by kind."""
    usage = await upkeep.media_usage(svc)
    if as_json:
        click.echo(json.dumps(usage.as_dict()))
        return
    for name, tally in usage.kinds.items():
        click.echo(f"{name + ':':<24}{_files(tally)}")
    click.echo(f"{'unreferenced files:':<24}{_files(usage.unreferenced)}")
    click.echo(f"{'uploads in progress:':<24}{_files(usage.uploads)}")
    click.echo(f"{'total:':<24}{_files(usage.total)}")
    if usage.missing:
        click.echo(
            f"warning: {usage.missing} files named by the database are missing from "
            f"{svc.media.store.location}"
        )


@media.command("move")
@click.option("--to", "to", type=click.Choice(["s3", "local"]), required=True, help="The store to move into.")
@click.option("--dry-run", is_flag=True, help="Count what would be moved; change nothing.")
@click.option("--keep-source", is_flag=True, help="Copy and verify, but delete nothing from the source.")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64), help="Objects at once.")
@click.pass_context
def media_move(ctx: click.Context, to: str, dry_run: bool, keep_source: bool, threads: int) -> None:
    """Move stored media (and uploads waiting for processing) between the local folder and the S3 bucket.

    Each object is copied, read back and checked against its content hash before it is deleted from the
    source, so the command may be run again after a crash or Ctrl-C. Then set [media] store and restart.
    """
    settings = settings_of(ctx)
    origin = "local" if to == "s3" else "s3"
    try:
        sources, targets = media_stores(settings, origin), media_stores(settings, to)
    except (ConfigError, StorageError) as exc:
        fail(f"media move: {exc}")
    results: list[MoveResult] = []
    for source, target, what in zip(sources, targets, ("media", "uploads"), strict=True):
        click.echo(f"{what}: {source.location} -> {target.location}", err=True)

        def report(result: MoveResult, key: str, what: str = what) -> None:
            if result.done % 100 == 0 or result.done == result.total:
                click.echo(
                    f"  {what}: {result.done}/{result.total} objects, {human(result.bytes)} copied", err=True
                )

        try:
            result = move_media(source, target, dry_run=dry_run, keep_source=keep_source, threads=threads,
                                progress=report)  # fmt: skip
        except (StorageError, OSError) as exc:
            fail(f"media move stopped ({what}): {exc}; nothing was deleted that was not copied, run it again")
        results.append(result)
        verb = "would copy" if dry_run else "copied"
        click.echo(
            f"{'dry run: ' if dry_run else ''}{what}: {result.total} objects; {verb} {result.copied} "
            f"({human(result.bytes)}), {result.present} already there, "
            f"{'would delete' if dry_run else 'deleted'} {result.deleted} from {source.location}"
        )
        for key, reason in result.failed:
            click.echo(f"fedigen: not moved: {key}: {reason}", err=True)
    if any(r.failed for r in results):
        fail(f"{sum(len(r.failed) for r in results)} objects were not moved (listed above)")
    if not dry_run and settings.media.store != to:
        click.echo(f'now set [media] store = "{to}" and restart fedigen (it still reads the {origin} store)')


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the numbers as JSON.")
@with_services
async def stats(svc: Services, as_json: bool) -> None:
    """Accounts, posts, known domains, queue depths and the database's size."""
    numbers = await upkeep.instance_stats(svc)
    if as_json:
        click.echo(json.dumps(numbers))
        return
    users = numbers["users"]
    click.echo(f"users: {users['total']} ({_pairs(users['by_role'])}; {_pairs(users['by_state'])})")
    click.echo(f"remote accounts: {numbers['remote_accounts']}")
    click.echo(f"statuses: {_pairs(numbers['statuses'])}")
    click.echo(f"domains: {_pairs(numbers['domains'])}")
    for name, states in numbers["queues"].items():
        click.echo(f"queue {name}: {_pairs(states) or 'empty'}")
    db = numbers["database"]
    click.echo(f"database: {db['dialect']}, {human(db['bytes'])}")


def _pairs(counts: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items())


def sqlite_path(url: str) -> Path:
    """The file of a SQLite database URL (as Settings.database_url resolves it)."""
    if not url.startswith(SQLITE_PREFIX) or url[len(SQLITE_PREFIX) :] in ("", ":memory:"):
        fail(
            "`fedigen db backup` copies a SQLite database file; "
            "for PostgreSQL use pg_dump (docs/operating.md)"
        )
    return Path(url[len(SQLITE_PREFIX) :].split("?", 1)[0])


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
@click.pass_context
def db_backup(ctx: click.Context, file: str, force: bool) -> None:
    """Copy the SQLite database to FILE while the server runs (SQLite's online backup)."""
    settings = settings_of(ctx)
    source = sqlite_path(settings.database_url)
    target = Path(file).resolve()
    if not source.is_file():
        fail(f"no database at {source}")
    if target == source.resolve():
        fail("FILE is the database itself")
    if target.exists() and not force:
        fail(f"{target} exists (use --force to overwrite)")
    if not target.parent.is_dir():
        fail(f"no directory {target.parent}")
    partial = target.with_name(f".{target.name}.partial")
    try:
        # The backup holds private keys: readable by its owner alone.
        partial.unlink(missing_ok=True)
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
        dst = sqlite3.connect(partial)
        try:
            # In one step: one read transaction, a consistent snapshot. In WAL mode (fedigen's) it does not
            # hold writers off; copied in steps, it would start over each time the server wrote.
            src.backup(dst)
            check = dst.execute("PRAGMA quick_check").fetchone()
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            dst.close()
            src.close()
        if not check or check[0] != "ok":
            fail(f"the copy failed its integrity check: {check}")
        os.replace(partial, target)
    except (OSError, sqlite3.Error) as exc:
        partial.unlink(missing_ok=True)
        fail(f"backup failed: {exc}")
    click.echo(f"backed up {source} to {target} ({human(target.stat().st_size)})")


@click.command("copy")
@click.option(
    "--to", "to_url", required=True, help="The empty target, e.g. postgresql+asyncpg://user:pw@host/db."
)
@click.pass_context
def db_copy(ctx: click.Context, to_url: str) -> None:
    """Copy every table into another, empty database (SQLite to PostgreSQL); stop fedigen first."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from storage.db import create_engine_nopool
    from storage.transfer import copy_database

    settings = settings_of(ctx)
    try:
        target = make_url(to_url)
    except ArgumentError:
        fail(f"--to: not a database URL: {to_url!r}")
    if target.drivername not in ("postgresql+asyncpg", "sqlite+aiosqlite"):
        fail(f"--to: use postgresql+asyncpg://... or sqlite+aiosqlite:///..., not {target.drivername}://")
    shown = target.render_as_string(hide_password=True)
    if target.drivername == "sqlite+aiosqlite" and target.database:
        target = target.set(database=str(Path(target.database).resolve()))
    if target.render_as_string(hide_password=False) == settings.database_url:
        fail("--to names the database fedigen already uses")

    async def run() -> dict[str, int]:
        source_engine = create_engine_nopool(settings.database_url)
        target_engine = create_engine_nopool(target.render_as_string(hide_password=False))
        try:
            return (await copy_database(source_engine, target_engine)).rows
        except (OSError, SQLAlchemyError) as exc:
            raise ValueError(f"copy to {shown} failed: {exc}".splitlines()[0]) from exc
        finally:
            await source_engine.dispose()
            await target_engine.dispose()

    rows = run_async(run())
    for table, count in rows.items():
        click.echo(f"{table}\t{count}")
    click.echo(f"copied {sum(rows.values())} rows of {len(rows)} tables to {shown}")


COMMANDS = [media, stats]
DB_COMMANDS = [db_backup, db_copy]
