"""``fedigen account`` commands for privacy and data (docs/privacy.md): delete, export, import, alias,
move. The operator runs them for any account; each calls the same use-case the API does."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from fedigen.cli.common import fail, with_services
from fedigen.services import Services
from fedigen.social import accounts, archive, moves


@click.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do it without asking (required when not on a terminal).")
@with_services
async def account_delete(svc: Services, name: str, yes: bool) -> None:
    """Delete a local account for good: its posts, media, follows and login go, a Delete goes to every
    server we know; the name stays taken."""
    if not yes:
        if not sys.stdin.isatty():
            fail("deleting an account cannot be undone: add --yes")
        click.confirm(f"Delete @{name} and everything it posted, for good?", abort=True)
    async with svc.sessions() as session, session.begin():
        actor = await accounts.get_local(session, name)
        keys = await accounts.delete_local_account(svc, session, actor, by=None)
        queued = await accounts.known_inboxes(session)
    async with svc.reads() as session:
        removed = await accounts.remove_media_files(svc, session, keys)
    click.echo(
        f"deleted @{actor.username}: Delete queued for {len(queued)} inboxes, {removed} media files removed"
    )


@click.command("export")
@click.argument("name")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the archive (default: archive-NAME.zip).")  # fmt: skip
@with_services
async def account_export(svc: Services, name: str, output: Path | None) -> None:
    """Write an account's archive: posts as ActivityStreams with their media, and Mastodon's CSVs."""
    async with svc.reads() as session:
        actor = await accounts.get_local(session, name)
        data = await archive.export_archive(svc, session, actor)
    path = output or Path(f"archive-{actor.username}.zip")
    try:
        await asyncio.to_thread(path.write_bytes, data)
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc}")
    click.echo(f"wrote {path} ({len(data)} bytes)")


@click.command("import")
@click.argument("name")
@click.argument("kind", metavar="TYPE", type=click.Choice(list(archive.IMPORT_TYPES)))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Also end what the file does not list (default: merge).")
@with_services
async def account_import(svc: Services, name: str, kind: str, file: Path, overwrite: bool) -> None:
    """Import a Mastodon CSV (following, blocking, muting, bookmarks, lists, domain_blocking) into an
    account."""
    async with svc.reads() as session:
        actor = await accounts.get_local(session, name)
    result = await archive.import_csv(
        svc,
        actor.id,
        kind,
        await asyncio.to_thread(file.read_bytes),
        mode="overwrite" if overwrite else "merge",
    )
    for line in result.failed:
        click.echo(f"not imported: {line}", err=True)
    click.echo(f"imported {result.imported} {kind} rows into @{actor.username}, {len(result.failed)} failed")


@click.command("alias")
@click.argument("name")
@click.argument("old")
@click.option("--remove", is_flag=True, help="Drop the alias instead.")
@with_services
async def account_alias(svc: Services, name: str, old: str, remove: bool) -> None:
    """Say the account was also OLD (@user@host), so OLD may move here; --remove drops it."""
    target = await moves.resolve_fresh(svc, old)
    async with svc.sessions() as session, session.begin():
        actor = await accounts.get_local(session, name)
        if remove:
            found = await moves.remove_alias(svc, session, actor, target.ap_id)
        else:
            found = await moves.add_alias(svc, session, actor, target)
    svc.work_queued()
    click.echo(f"@{actor.username} aliases: {', '.join(found) or 'none'}")


@click.command("move")
@click.argument("name")
@click.argument("target")
@with_services
async def account_move(svc: Services, name: str, target: str) -> None:
    """Move the account to TARGET (@user@host), which must already list it as an alias."""
    new = await moves.resolve_fresh(svc, target)
    async with svc.sessions() as session, session.begin():
        actor = await accounts.get_local(session, name)
        row = await session.get(type(new), new.id)
        assert row is not None
        await moves.move_account(svc, session, actor, row)
    svc.work_queued()
    click.echo(f"@{actor.username} moved to {new.ap_id}: its followers are being told")


COMMANDS = [account_delete, account_export, account_import, account_alias, account_move]
