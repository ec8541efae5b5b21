"""CLI commands for sign-up: ``fedigen account`` approve, reject, confirm, reset-password, pending, and
``fedigen invite`` create, list, revoke. The operator, who holds the machine, may do all of them."""

from __future__ import annotations

import secrets
import sys

import click

from fedigen.cli.common import fail, with_services
from fedigen.services import Services
from fedigen.social import accounts, registrations
from storage.models import utcnow


@click.command("approve")
@click.argument("name")
@with_services
async def account_approve(svc: Services, name: str) -> None:
    """Approve an account waiting for approval: it can sign in (once its email is confirmed)."""
    async with svc.sessions() as session, session.begin():
        actor = await accounts.get_local(session, name)
        changed = await registrations.approve(session, actor)
    click.echo(f"@{actor.username}: {'approved' if changed else 'was approved already'}")


@click.command("reject")
@click.argument("name")
@with_services
async def account_reject(svc: Services, name: str) -> None:
    """Turn away an account waiting for approval: it is deleted."""
    async with svc.sessions() as session, session.begin():
        actor = await accounts.get_local(session, name)
        await registrations.reject(session, actor)
    click.echo(f"@{actor.username}: rejected and deleted")


@click.command("confirm")
@click.argument("name")
@with_services
async def account_confirm(svc: Services, name: str) -> None:
    """Confirm an account's email address for it (when the instance sends no mail)."""
    async with svc.sessions() as session, session.begin():
        actor = await accounts.get_local(session, name)
        changed = await registrations.confirm(session, actor)
    click.echo(f"@{actor.username}: {'confirmed' if changed else 'was confirmed already'}")


@click.command("reset-password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
@with_services
async def account_reset_password(svc: Services, name: str, password_stdin: bool) -> None:
    """Give an account a new password (printed unless read from stdin); its sessions end."""
    generated = not password_stdin
    password = secrets.token_urlsafe(12) if generated else sys.stdin.readline().rstrip("\n")
    if not password:
        fail("no password on standard input")
    async with svc.sessions() as session, session.begin():
        actor = await accounts.get_local(session, name)
        await registrations.set_password(session, actor, password)
    click.echo(f"@{actor.username}: password changed; every app signed in as it is signed out")
    if generated:
        click.echo(f"password: {password}")


@click.command("pending")
@with_services
async def account_pending(svc: Services) -> None:
    """List sign-ups that cannot sign in yet (awaiting approval or an email confirmation), with reasons."""
    async with svc.sessions() as session:
        rows = await registrations.waiting(session)
    for actor, signup in rows:
        approval = "approved" if signup.approved_at else "awaiting approval"
        confirmed = "email confirmed" if signup.confirmed_at else "email unconfirmed"
        reason = signup.reason.replace("\n", " ")
        click.echo(
            f"@{actor.username}\t{signup.created_at:%Y-%m-%d %H:%M}\t{approval}\t{confirmed}\t{reason}"
        )
    if not rows:
        click.echo("nobody is waiting")


ACCOUNT_COMMANDS: list[click.Command] = [
    account_approve, account_reject, account_confirm, account_reset_password, account_pending,
]  # fmt: skip


@click.group()
def invite() -> None:
    """Invite links: sign-up by invite, with expiry and use limits."""


@invite.command("create")
@click.option("--max-uses", type=int, default=None, help="How many sign-ups it allows (default: no limit).")
@click.option("--expires-in", default=None, help="How long it works: 30m, 12h, 1d, 2w (default: forever).")
@click.option(
    "--as", "as_name", default=None, help="Make it as this account (which must be allowed to invite)."
)
@with_services
async def invite_create(
    svc: Services, max_uses: int | None, expires_in: str | None, as_name: str | None
) -> None:
    """Make an invite and print its link."""
    lifetime = registrations.parse_duration(expires_in) if expires_in else None
    async with svc.sessions() as session, session.begin():
        by = await accounts.get_local(session, as_name) if as_name else None
        made = await registrations.create_invite(session, by=by, max_uses=max_uses, expires_in=lifetime)
    click.echo(registrations.invite_url(svc.urls, made.code))
    click.echo(f"code: {made.code}")


@invite.command("list")
@click.option("--all", "show_all", is_flag=True, help="Also revoked, expired and used-up invites.")
@with_services
async def invite_list(svc: Services, show_all: bool) -> None:
    """List invites: code, uses, expiry, state."""
    async with svc.sessions() as session:
        rows = await registrations.list_invites(session, include_inactive=show_all)
    now = utcnow()
    for item in rows:
        uses = f"{item.uses}/{item.max_uses}" if item.max_uses is not None else f"{item.uses}/unlimited"
        expires = f"{item.expires_at:%Y-%m-%d %H:%M} UTC" if item.expires_at else "never"
        state = (
            "revoked" if item.revoked_at else "expired" if item.expires_at and item.expires_at <= now
            else "used up" if item.max_uses is not None and item.uses >= item.max_uses else "active"
        )  # fmt: skip
        link = registrations.invite_url(svc.urls, item.code)
        click.echo(f"{item.code}\t{uses}\texpires {expires}\t{state}\t{link}")
    if not rows:
        click.echo("no invites" if show_all else "no usable invites: fedigen invite create")


@invite.command("revoke")
@click.argument("code")
@with_services
async def invite_revoke(svc: Services, code: str) -> None:
    """Stop an invite from working."""
    async with svc.sessions() as session, session.begin():
        revoked = await registrations.revoke_invite(session, code)
    click.echo(f"invite {revoked.code} revoked")
