"""``fedigen rules`` (the prompt rules, edited without a restart) and ``fedigen refusals`` (what the
instance refused). The CLI acts as the instance's operator, who holds the machine."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import click
from sqlalchemy import select

from fedigen.cli.common import fail, with_services
from fedigen.errors import FedigenError
from fedigen.services import Services
from fedigen.social import prompt_rules
from fedigen.social.refusals import parse_since
from storage.models import Actor, Refusal, utcnow

_AGO = re.compile(r"^(\d+)\s*([dhm])$")


def since_of(value: str) -> datetime:
    """``--since``: an ISO 8601 date or time, or an age such as 7d, 12h or 30m."""
    if match := _AGO.match(value.strip().lower()):
        amount, unit = int(match.group(1)), match.group(2)
        return utcnow() - timedelta(**{{"d": "days", "h": "hours", "m": "minutes"}[unit]: amount})
    try:
        return parse_since(value)
    except ValueError:
        fail(f"--since: expected an ISO 8601 date or time, or an age such as 7d or 12h, got {value!r}")


@click.group()
def rules() -> None:
    """The prompt rules (blocked terms and patterns): in force at once in every process."""


@rules.command("list")
@with_services
async def rules_list(svc: Services) -> None:
    """The rules in force: id, kind, source and value."""
    await prompt_rules.seed(svc)
    async with svc.reads() as session:
        rows = await prompt_rules.active(session)
    for row in rows:
        click.echo(f"{row.id}\t{row.kind}\t{row.source}\t{row.value}")
    if not rows:
        click.echo("no prompt rules")


@rules.command("add")
@click.argument("value")
@click.option("--pattern", is_flag=True, help="VALUE is a regular expression, not a term.")
@with_services
async def rules_add(svc: Services, value: str, pattern: bool) -> None:
    """Block a term (a word or phrase, matched case-insensitively on word boundaries) or a pattern."""
    kind = prompt_rules.PATTERN if pattern else prompt_rules.TERM
    await prompt_rules.seed(svc)
    async with svc.sessions() as session, session.begin():
        row = await prompt_rules.add(session, kind, value)
    click.echo(f"added {row.kind} {row.id}: {row.value}")


@rules.command("remove")
@click.argument("value", required=False)
@click.option("--pattern", is_flag=True, help="VALUE is a pattern, not a term.")
@click.option("--id", "rule_id", type=int, default=None, help="Remove the rule with this id instead.")
@with_services
async def rules_remove(svc: Services, value: str | None, pattern: bool, rule_id: int | None) -> None:
    """Stop blocking a term (or, with --pattern, a pattern; or the rule --id names)."""
    if (value is None) == (rule_id is None):
        fail("name the rule: its VALUE, or --id")
    await prompt_rules.seed(svc)
    kind = prompt_rules.PATTERN if pattern else prompt_rules.TERM
    try:
        async with svc.sessions() as session, session.begin():
            row = await prompt_rules.remove(session, rule_id, kind=kind, value=value)
    except FedigenError:
        fail(f"no prompt rule {rule_id if rule_id is not None else repr(value)}")
    click.echo(f"removed {row.kind} {row.id}: {row.value}")


@click.command("refusals")
@click.option(
    "--since", default=None, help="Only those since: an ISO 8601 date or time, or an age (7d, 12h)."
)
@click.option("--kind", type=click.Choice(["prompt", "image"]), default=None)
@click.option("--limit", type=click.IntRange(1, 1000), default=40, show_default=True)
@with_services
async def refusals_list(svc: Services, since: str | None, kind: str | None, limit: int) -> None:
    """Prompts and images the instance refused, newest first: id, time, kind, origin, account, reason,
    prompt."""
    query = (
        select(Refusal, Actor).outerjoin(Actor, Actor.id == Refusal.account_id)
        .order_by(Refusal.id.desc()).limit(limit)
    )  # fmt: skip
    if since is not None:
        query = query.where(Refusal.created_at >= since_of(since))
    if kind is not None:
        query = query.where(Refusal.kind == kind)
    async with svc.reads() as session:
        rows = [(row, actor) for row, actor in await session.execute(query)]
    for row, actor in rows:
        who = "-" if actor is None else f"@{actor.username}" + (f"@{actor.domain}" if actor.domain else "")
        prompt = (row.prompt or "").replace("\t", " ").replace("\n", " ")[:80]
        when = f"{row.created_at:%Y-%m-%d %H:%M:%S}"
        click.echo("\t".join([str(row.id), when, row.kind, row.origin, who, row.reason, prompt]))
    if not rows:
        click.echo("no refusals")


COMMANDS: list[click.Command] = [rules, refusals_list]
