"""`fedigen domain`: domain moderation (docs/moderation-domains.md). Block with a severity, unblock,
list, allow and disallow (allowlist mode), import and export Mastodon's CSV block lists.

Running servers apply every change within a second (activitypub.domains.CHECK_INTERVAL).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from activitypub.domains import SEVERITIES, SUSPEND
from fedigen.cli.common import fail, with_services
from fedigen.errors import ValidationError
from fedigen.services import Services
from fedigen.social import domains


@click.group("domain")
def domain() -> None:
    """Domain moderation: suspend, silence, reject media or reports; the allow list; CSV block lists."""


@domain.command("block")
@click.argument("name")
@click.option("--severity", type=click.Choice(SEVERITIES), default=SUSPEND, show_default=True,
              help="suspend: nothing either way; silence: limited; noop: only the options.")  # fmt: skip
@click.option("--reject-media", is_flag=True, help="Do not fetch or copy their media.")
@click.option("--reject-reports", is_flag=True, help="Drop reports from their server.")
@click.option("--comment", "--reason", "comment", default=None, help="A private comment for moderators.")
@click.option("--public-comment", default=None, help="Shown in the public list of moderated servers.")
@click.option("--obfuscate", is_flag=True, help="Star part of the domain in the public list.")
@with_services
async def block(
    svc: Services, name: str, severity: str, reject_media: bool, reject_reports: bool, comment: str | None,
    public_comment: str | None, obfuscate: bool,
) -> None:  # fmt: skip
    """Block a domain (and its subdomains; host:port for one port), or change its block."""
    async with svc.sessions() as session, session.begin():
        row = await domains.block(
            svc, session, name, severity=severity, reject_media=reject_media, reject_reports=reject_reports,
            private_comment=comment, public_comment=public_comment, obfuscate=obfuscate,
        )  # fmt: skip
        shown = row.domain
    click.echo(f"blocked {shown} ({_describe(severity, reject_media, reject_reports)})")


def _describe(severity: str, reject_media: bool, reject_reports: bool) -> str:
    parts = (
        [severity]
        + (["reject media"] if reject_media else [])
        + (["reject reports"] if reject_reports else [])
    )
    return ", ".join(parts)


@domain.command("unblock")
@click.argument("name")
@with_services
async def unblock(svc: Services, name: str) -> None:
    """Federate with a domain again."""
    async with svc.sessions() as session, session.begin():
        await domains.unblock(svc, session, name)
    click.echo(f"unblocked {name}")


@domain.command("list")
@with_services
async def list_(svc: Services) -> None:
    """List blocked domains (domain, comment, severity, options), then allowed ones."""
    async with svc.reads() as session:
        rows = await domains.blocks(session)
        allowed = await domains.allows(session)
    for row in rows:
        click.echo(
            f"{row.domain}\t{row.reason}\t{_describe(row.severity, row.reject_media, row.reject_reports)}"
        )
    if not rows:
        click.echo("no blocked domains")
    mode = svc.settings.federation.mode
    if allowed or mode == "allowlist":
        click.echo(
            f"allowed ({'applies' if mode == 'allowlist' else 'not used: [federation] mode is open'}):"
        )
        for entry in allowed:
            click.echo(f"{entry.domain}\tallowed")


@domain.command("allow")
@click.argument("name")
@with_services
async def allow(svc: Services, name: str) -> None:
    """Add a domain to the allow list ([federation] mode = "allowlist")."""
    async with svc.sessions() as session, session.begin():
        row = await domains.allow(svc, session, name)
        shown = row.domain
    note = (
        ""
        if svc.settings.federation.mode == "allowlist"
        else ' (used only with [federation] mode = "allowlist")'
    )
    click.echo(f"allowed {shown}{note}")


@domain.command("disallow")
@click.argument("name")
@with_services
async def disallow(svc: Services, name: str) -> None:
    """Take a domain off the allow list."""
    async with svc.sessions() as session, session.begin():
        await domains.disallow(svc, session, name)
    click.echo(f"disallowed {name}")


@domain.command("export")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@with_services
async def export(svc: Services, file: Path | None) -> None:
    """Write the block list as Mastodon's CSV (to FILE, or standard output)."""
    async with svc.reads() as session:
        text = domains.export_csv(await domains.blocks(session))
    if file is None:
        sys.stdout.write(text)
        return
    try:
        await asyncio.to_thread(file.write_text, text, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {file}: {exc.strerror}")
    click.echo(f"exported {text.count(chr(10)) - 1} domain blocks to {file}")


@domain.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Show what would change, change nothing.")
@with_services
async def import_(svc: Services, file: Path, dry_run: bool) -> None:
    """Read a block list in Mastodon's CSV format (or one domain a line) and apply it."""
    try:
        text = await asyncio.to_thread(file.read_text, encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {file}: {getattr(exc, 'strerror', None) or exc}")
    try:
        entries = domains.parse_csv(text)
    except ValidationError as exc:
        fail(f"{file}: {str(exc).removeprefix('file: ')}")
    async with svc.sessions() as session, session.begin():
        result = await domains.import_blocks(svc, session, entries, dry_run=dry_run)
    for label, names in (("add", result.added), ("update", result.updated)):
        for name in names:
            click.echo(f"{'would ' if dry_run else ''}{label} {name}")
    click.echo(
        f"{'dry run, nothing stored: ' if dry_run else ''}{len(result.added)} added,"
        f" {len(result.updated)} updated, {len(result.unchanged)} unchanged"
    )


COMMANDS = [domain]
