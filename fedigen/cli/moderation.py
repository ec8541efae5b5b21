"""CLI moderation: ``fedigen account suspend|unsuspend|limit|unlimit|sensitive|unsensitive|disable|enable|
force-cw|delete-posts|delete|show NAME``, ``fedigen report list|show|resolve|reopen|forward|note`` and
``fedigen audit``.

The CLI acts as the instance's operator (who holds the machine): the audit log records these actions
with no account. NAME is a local account's name, or ``user@domain`` for a remote account already known
here. Everything goes through fedigen.social.account_moderation and fedigen.social.reports.
"""

from __future__ import annotations

import click
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fedigen.cli.common import with_services
from fedigen.errors import NotFoundError
from fedigen.services import Services
from fedigen.social import account_moderation, accounts, audit, reports
from storage.models import Actor, Report, User


async def _named(svc: Services, session: AsyncSession, name: str) -> Actor:
    """A local account by name, or a known remote one by user@domain."""
    username, _, domain = name.lstrip("@").partition("@")
    if not domain or domain.lower() == svc.urls.host.lower():
        # Deleted accounts too: a moderator looks at them, and is told what can no longer be done.
        return await accounts.get_local(session, username, include_deleted=True)
    actor = await session.scalar(
        select(Actor).where(
            func.lower(Actor.username) == username.lower(), func.lower(Actor.domain) == domain.lower()
        )
    )
    if actor is None:
        raise NotFoundError(f"no known account {name!r}")
    return actor


def _handle(svc: Services, actor: Actor) -> str:
    return f"@{actor.username}@{actor.domain or svc.urls.host}"


def _act(name: str, action: str, summary: str) -> click.Command:
    @click.argument("name")
    @click.option("--text", default="", help="Why (kept with the action in the account's history).")
    @click.option(
        "--report", "report_id", type=int, default=None, help="Resolve this report with the action."
    )
    @with_services
    async def command(svc: Services, name: str, text: str, report_id: int | None) -> None:
        async with svc.sessions() as session, session.begin():
            target = await _named(svc, session, name)
            report = await reports.get(session, report_id) if report_id is not None else None
            await account_moderation.act(svc, session, target, action, text=text, report=report)
        click.echo(f"{_handle(svc, target)}: {summary}")

    command.__doc__ = f"{summary[0].upper()}{summary[1:]} an account (NAME or user@domain)."
    return click.command(name)(command)


def _reverse(name: str, action: str, summary: str) -> click.Command:
    @click.argument("name")
    @with_services
    async def command(svc: Services, name: str) -> None:
        async with svc.sessions() as session, session.begin():
            target = await _named(svc, session, name)
            await account_moderation.reverse(svc, session, target, action)
        click.echo(f"{_handle(svc, target)}: {summary}")

    command.__doc__ = f"Undo: {summary} (NAME or user@domain)."
    return click.command(name)(command)


@click.command("force-cw")
@click.argument("name")
@click.argument("text", required=False, default="")
@with_services
async def force_cw(svc: Services, name: str, text: str) -> None:
    """Show a content warning TEXT on all the account's posts (no TEXT: stop)."""
    async with svc.sessions() as session, session.begin():
        target = await _named(svc, session, name)
        await account_moderation.force_cw(svc, session, target, text)
    click.echo(
        f"{_handle(svc, target)}: " + (f"content warning {text!r}" if text.strip() else "no forced warning")
    )


@click.command("delete-posts")
@click.argument("name")
@click.argument("status_ids", nargs=-1, type=int, required=True)
@click.option("--text", default="", help="Why.")
@with_services
async def delete_posts(svc: Services, name: str, status_ids: tuple[int, ...], text: str) -> None:
    """Delete some of an account's posts (by status id)."""
    async with svc.sessions() as session, session.begin():
        target = await _named(svc, session, name)
        gone = await account_moderation.delete_statuses(svc, session, target, list(status_ids), text=text)
    click.echo(f"{_handle(svc, target)}: deleted {len(gone)} posts ({', '.join(map(str, gone))})")


@click.command("delete-data")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_services
async def delete_account(svc: Services, name: str, yes: bool) -> None:
    """Suspend an account and delete its data now (a local one's Delete goes to every known server)."""
    if not yes and not click.confirm(f"Delete the data of {name} for good?"):
        raise click.Abort
    async with svc.sessions() as session, session.begin():
        target = await _named(svc, session, name)
        if target.suspended_at is None:
            await account_moderation.act(svc, session, target, "suspend", text="deleted by the operator")
        await account_moderation.delete_data(svc, session, target)
    svc.work_queued()
    click.echo(f"{_handle(svc, target)}: suspended and its data deleted")


@click.command("show")
@click.argument("name")
@with_services
async def show(svc: Services, name: str) -> None:
    """An account's role, moderation state and history."""
    async with svc.sessions() as session:
        target = await _named(svc, session, name)
        role = await session.scalar(select(User.role).where(User.actor_id == target.id))
        history = await account_moderation.warnings_of(session, target)
        open_reports = await session.scalar(
            select(func.count(Report.id)).where(Report.target_id == target.id, Report.resolved_at.is_(None))
        )
    click.echo(f"{_handle(svc, target)}\t{target.ap_id}")
    click.echo(f"id: {target.id}" + (f"\trole: {role}" if role else "\tremote"))
    states = (
        ("suspended", target.suspended_at), ("limited", target.silenced_at),
        ("sensitive", target.sensitized_at), ("disabled", target.disabled_at),
        ("data deleted", target.deleted_at),
    )  # fmt: skip
    flags = [(label, moment) for label, moment in states if moment is not None]
    state = ", ".join(f"{label} since {m:%Y-%m-%d %H:%M}" for label, m in flags)
    click.echo(f"state: {state or 'active'}")
    if target.forced_cw:
        click.echo(f"forced content warning: {target.forced_cw}")
    click.echo(f"open reports: {open_reports or 0}")
    for w in history:
        click.echo(f"  {w.created_at:%Y-%m-%d %H:%M}\t{w.action}\t{w.text}")


@click.group()
def report() -> None:
    """Reports: the moderation queue."""


@report.command("list")
@click.option("--resolved", is_flag=True, help="Resolved reports instead of open ones.")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@with_services
async def report_list(svc: Services, resolved: bool, limit: int) -> None:
    """Open (or resolved) reports, newest first."""
    async with svc.sessions() as session:
        rows = await reports.listing(session, resolved=resolved, limit=limit)
        names = {a.id: _handle(svc, a) for a in await session.scalars(select(Actor).where(
            Actor.id.in_({i for r in rows for i in (r.reporter_id, r.target_id) if i is not None})
        ))}  # fmt: skip
    for r in rows:
        reporter, target = names.get(r.reporter_id or 0, "?"), names.get(r.target_id or 0, "?")
        click.echo(f"#{r.id}\t{r.created_at:%Y-%m-%d %H:%M}\t{r.category}\t{reporter} -> {target}\t"
                   f"{len(r.status_ap_ids or [])} posts\t{r.comment[:60]!r}")  # fmt: skip
    if not rows:
        click.echo("no resolved reports" if resolved else "no open reports")


@report.command("show")
@click.argument("report_id", type=int)
@with_services
async def report_show(svc: Services, report_id: int) -> None:
    """One report: who, about whom, which posts, notes and state."""
    async with svc.sessions() as session:
        r = await reports.get(session, report_id)
        ids = [i for i in (r.reporter_id, r.target_id, r.assigned_account_id, r.action_taken_by_id) if i]
        names = {a.id: _handle(svc, a) for a in await session.scalars(select(Actor).where(Actor.id.in_(ids)))}
        notes = await reports.notes_of(session, r)
    click.echo(f"report #{r.id}\t{r.created_at:%Y-%m-%d %H:%M}\t{r.category}")
    click.echo(f"from: {names.get(r.reporter_id or 0, '?')}\tabout: {names.get(r.target_id or 0, '?')}")
    click.echo(f"comment: {r.comment}")
    for ap_id in r.status_ap_ids or []:
        click.echo(f"  post: {ap_id}")
    if r.rule_ids:
        click.echo(f"rules: {', '.join(map(str, r.rule_ids))}")
    click.echo(f"forwarded: {'yes' if r.forwarded else 'no'}")
    if r.assigned_account_id:
        click.echo(f"assigned to: {names.get(r.assigned_account_id, '?')}")
    state = f"resolved {r.resolved_at:%Y-%m-%d %H:%M}" if r.resolved_at else "open"
    click.echo(f"state: {state}")
    for n in notes:
        click.echo(f"  note {n.created_at:%Y-%m-%d %H:%M}: {n.content}")


def _report_step(name: str, doc: str) -> click.Command:
    @click.argument("report_id", type=int)
    @with_services
    async def command(svc: Services, report_id: int) -> None:
        async with svc.sessions() as session, session.begin():
            r = await reports.get(session, report_id)
            if name == "resolve":
                await reports.resolve(svc, session, r)
            elif name == "reopen":
                await reports.reopen(session, r)
            else:
                await reports.forward(svc, session, r)
        if name == "forward":
            svc.work_queued()
        click.echo(
            f"report #{report_id}: {name}d" if name != "forward" else f"report #{report_id}: forwarded"
        )

    command.__doc__ = doc
    return click.command(name)(command)


@report.command("note")
@click.argument("report_id", type=int)
@click.argument("text")
@with_services
async def report_note(svc: Services, report_id: int, text: str) -> None:
    """Add a moderator's note to a report."""
    async with svc.sessions() as session, session.begin():
        await reports.add_note(session, await reports.get(session, report_id), text)
    click.echo(f"report #{report_id}: note added")


@click.command("audit")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@with_services
async def audit_log(svc: Services, limit: int) -> None:
    """The audit log of moderator actions, newest first."""
    async with svc.sessions() as session:
        rows = await audit.entries(session, limit=limit)
        ids = {r.account_id for r in rows if r.account_id is not None}
        names = {a.id: a.username for a in await session.scalars(select(Actor).where(Actor.id.in_(ids)))}
    for row in rows:
        who = names.get(row.account_id, "?") if row.account_id is not None else "(operator)"
        click.echo(f"{row.created_at:%Y-%m-%d %H:%M:%S}\t{who}\t{row.action}\t{row.target_type} "
                   f"{row.target_label}" + (f"\t{row.detail}" if row.detail else ""))  # fmt: skip
    if not rows:
        click.echo("no moderator actions yet")


report.add_command(_report_step("resolve", "Mark a report resolved."))
report.add_command(_report_step("reopen", "Reopen a report."))
report.add_command(_report_step("forward", "Send a report about a remote account to its server (as Flag)."))

ACCOUNT_COMMANDS: list[click.Command] = [
    _act("suspend", "suspend", "suspended"),
    _act("limit", "silence", "limited"),
    _act("sensitive", "sensitive", "media marked sensitive"),
    _act("disable", "disable", "sign-in disabled"),
    _act("warn", "none", "warned"),
    _reverse("unsuspend", "unsuspend", "unsuspended"),
    _reverse("unlimit", "unsilence", "no longer limited"),
    _reverse("unsensitive", "unsensitive", "media no longer marked sensitive"),
    _reverse("enable", "enable", "sign-in enabled"),
    force_cw,
    delete_posts,
    delete_account,
    show,
]


def register(main: click.Group) -> None:
    """Add the commands to ``fedigen account`` and the ``report`` and ``audit`` groups to ``fedigen``."""
    account = main.commands["account"]
    assert isinstance(account, click.Group)
    for command in ACCOUNT_COMMANDS:
        account.add_command(command)
    main.add_command(report)
    main.add_command(audit_log)
