"""The ``fedigen`` command line: set up, run, and administer an instance.

Errors are one line on stderr and a non-zero exit; nothing waits for input unless stdin is a terminal.
"""

from __future__ import annotations

import copy
import logging
import os
import secrets
import subprocess
import sys

import click
from sqlalchemy import select

from fedigen.cli import domains, images, models, ops, privacy, signup
from fedigen.cli import moderation as moderation_commands
from fedigen.cli.common import fail, run_async, settings_of, with_services
from fedigen.config import Settings, config_path
from fedigen.errors import FedigenError
from fedigen.services import Services, open_services, settle_heap
from fedigen.social import accounts, bot, follows, lookup, mentions, posts, profiles
from fedigen.social.roles import Role, parse_role
from fedigen.worker import Worker
from storage import offload
from storage.models import Actor, Notification, Status


@click.group()
@click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False),
    help="Config file (default: $FEDIGEN_CONFIG or ./config.toml).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
@click.pass_context
def main(ctx: click.Context, config: str | None, verbose: bool) -> None:
    """fedigen: a federated server whose posts are generated images."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    if not verbose:
        logging.getLogger("alembic").setLevel(logging.WARNING)
    ctx.ensure_object(dict)
    ctx.obj["config"] = config


CONFIG_TEMPLATE = """\
# fedigen configuration; every key is documented in config.example.toml.
# Any key can be overridden by environment: FEDIGEN_<SECTION>__<KEY>, e.g. FEDIGEN_INSTANCE__URL.

[instance]
url = "{url}"
name = "{name}"

[database]
url = "{database}"

[media]
dir = "data/media"

[server]
host = "{host}"
port = {port}

[federation]
allow_private_addresses = {allow_private}
webfinger_scheme = "{scheme}"
"""


@main.command()
@click.option("--url", default="http://127.0.0.1:8000", show_default=True, help="Public base URL.")
@click.option("--name", default="fedigen", show_default=True, help="Instance name.")
@click.option("--database", default="sqlite+aiosqlite:///data/fedigen.db", show_default=True)
@click.option(
    "--admin", "admin_name", default=None, help="Create this admin account (a password is printed)."
)
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
@click.pass_context
def init(ctx: click.Context, url: str, name: str, database: str, admin_name: str | None, force: bool) -> None:
    """Write config.toml, create the database, and optionally a first admin account."""
    path = config_path(ctx.obj.get("config"))
    local = url.startswith("http://127.") or url.startswith("http://localhost")
    if path.exists() and not force:
        click.echo(f"{path} exists; keeping it (use --force to overwrite)")
    else:
        host_port = url.split("://", 1)[1].rstrip("/")
        host, _, port = host_port.partition(":")
        path.write_text(
            CONFIG_TEMPLATE.format(
                url=url.rstrip("/"),
                name=name,
                database=database,
                host="127.0.0.1",
                port=int(port or 8000) if local else 8000,
                allow_private=str(local).lower(),
                scheme="http" if url.startswith("http://") else "https",
            ),  # fmt: skip
            encoding="utf-8",
        )
        click.echo(f"wrote {path}")
    settings = settings_of(ctx)
    run_async(_migrate(settings))
    click.echo(f"database ready at {settings.database_url}")
    if admin_name:
        password = secrets.token_urlsafe(12)
        created = run_async(
            _create_account(settings, admin_name, password, role=Role.OWNER, locked=False, exist_ok=True)
        )
        if created:
            click.echo(f"admin account @{admin_name}@{settings.host} created; password: {password}")
        else:
            click.echo(f"account @{admin_name} already exists")


async def _migrate(settings: Settings) -> None:
    from storage.migrate import upgrade  # alembic is loaded only by commands that migrate

    async with open_services(settings) as svc:
        await upgrade(svc.engine)
        async with svc.sessions() as session, session.begin():
            await accounts.ensure_instance_actor(session, svc.urls)
            await bot.ensure_bot(session, svc.settings, svc.urls)


async def _create_account(
    settings: Settings, name: str, password: str | None, *, role: Role, locked: bool, exist_ok: bool = False,
    indexable: bool = False, language: str | None = None,
) -> bool:  # fmt: skip
    async with open_services(settings) as svc:
        async with svc.sessions() as session, session.begin():
            try:
                await accounts.create_account(
                    session, svc.urls, name, password=password, role=role, locked=locked,
                    indexable=indexable, language=language,
                )  # fmt: skip
            except FedigenError as exc:
                if exist_ok and "taken" in str(exc):
                    return False
                raise
    return True


@main.group()
def db() -> None:
    """Database administration."""


@db.command("migrate")
@click.pass_context
def db_migrate(ctx: click.Context) -> None:
    """Bring the database schema up to date (safe to run repeatedly)."""
    settings = settings_of(ctx)
    run_async(_migrate(settings))
    click.echo("database is up to date")


@main.command()
@click.option("--host", default=None, help="Interface to listen on (default from config).")
@click.option("--port", type=int, default=None, help="Port (default from config).")
@click.option("--no-worker", is_flag=True, help="Do not run the background worker in this process.")
@click.option(
    "--no-migrate", is_flag=True,
    help="Do not run `fedigen db migrate` first (it has been run already, e.g. once for several processes).",
)  # fmt: skip
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, no_worker: bool, no_migrate: bool) -> None:
    """Run the web server (and, unless --no-worker, the worker) in one process."""
    import uvicorn

    from fedigen.app import create_app

    settings = settings_of(ctx)
    if not no_migrate:
        # Migrate in a child process so alembic (and mako) never occupy the long-running server's memory.
        migrate = [sys.executable, "-m", "fedigen", "db", "migrate"]
        env = {**os.environ, "FEDIGEN_CONFIG": str(config_path(ctx.obj.get("config")))}
        if subprocess.run(migrate, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL).returncode:
            fail("database migration failed (see the message above)")
    app = create_app(settings, run_worker=not no_worker and settings.server.worker, settle=True)
    # Access tokens given in the query string (?access_token=, as WebSocket clients must) never reach
    # the access log.
    log_config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    log_config.setdefault("filters", {})["redact"] = {"()": "fedigen.http.RedactSecrets"}
    log_config["handlers"]["access"]["filters"] = ["redact"]
    uvicorn.run(
        app, host=host or settings.server.host, port=port or settings.server.port,
        proxy_headers=True, log_level="info", server_header=False, log_config=log_config,
        # The streaming API's WebSockets, on the implementation uvicorn keeps (its older one is deprecated).
        ws="websockets-sansio",
    )  # fmt: skip


@main.command()
@click.pass_context
def worker(ctx: click.Context) -> None:
    """Run only the background worker (run several beside `serve --no-worker` on PostgreSQL)."""
    settings = settings_of(ctx)
    offload.lower_priority(settings.worker.nice)  # [worker] nice: serve gets the CPU first

    async def run() -> None:
        async with open_services(settings) as svc:
            await svc.events.start()  # woken by work queued in the other processes
            settle_heap()
            await Worker(svc).run()

    try:
        run_async(run())
    except KeyboardInterrupt:
        pass


@main.group()
def account() -> None:
    """Local accounts."""


@account.command("create")
@click.argument("name")
@click.option("--admin", is_flag=True, help="Give the account admin rights (as --role admin).")
@click.option("--role", "role_name", default=None, help="owner, admin, moderator or member (the default).")
@click.option("--locked", is_flag=True, help="Follow requests need approval.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--indexable", is_flag=True, help="Let anyone search the account's public posts.")
@click.option("--language", default=None, help="Default posting language (ISO 639-1).")
@click.pass_context
def account_create(
    ctx: click.Context, name: str, admin: bool, role_name: str | None, locked: bool, password_stdin: bool,
    indexable: bool, language: str | None,
) -> None:  # fmt: skip
    """Create a local account."""
    settings = settings_of(ctx)
    try:
        role = parse_role(role_name) if role_name else (Role.ADMIN if admin else Role.MEMBER)
    except FedigenError as exc:
        fail(str(exc))
    generated = False
    if password_stdin:
        password: str | None = sys.stdin.readline().rstrip("\n")
        if not password:
            fail("no password on standard input")
    elif sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password, generated = secrets.token_urlsafe(12), True
    run_async(
        _create_account(settings, name, password, role=role, locked=locked, indexable=indexable,
                        language=language)
    )  # fmt: skip
    click.echo(f"created @{name}@{settings.host}" + (f" ({role})" if role != Role.MEMBER else ""))
    if generated:
        click.echo(f"password: {password}")


@account.command("list")
@with_services
async def account_list(svc: Services) -> None:
    """List local accounts."""
    async with svc.sessions() as session:
        rows = await accounts.list_accounts(session)
    for actor, user in rows:
        flags = [f for f, on in ((user.role, user.role != Role.MEMBER), ("locked", actor.locked)) if on]
        click.echo(f"@{actor.username}@{svc.urls.host}\t{actor.ap_id}\t{','.join(flags)}")
    if not rows:
        click.echo("no accounts yet: fedigen account create NAME")


@account.command("set-role")
@click.argument("name")
@click.argument("role")
@with_services
async def account_set_role(svc: Services, name: str, role: str) -> None:
    """Make an account owner, admin, moderator or member (the operator may give any role)."""
    wanted = parse_role(role)
    async with svc.sessions() as session, session.begin():
        actor = await accounts.get_local(session, name)
        before = await accounts.set_role(session, actor, wanted)
    click.echo(f"@{actor.username}: {before} -> {wanted}")


@account.command("set")
@click.argument("name")
@click.option("--indexable/--not-indexable", default=None, help="Whether anyone may search its public posts.")
@click.option("--language", default=None, help='Default posting language (ISO 639-1; "" for none).')
@click.option(
    "--ai-opt-out/--no-ai-opt-out", default=None, help="Ask that its posts not train AI (docs/privacy.md)."
)
@click.option("--allow-remixes/--no-allow-remixes", default=None, help="Whether others may remix its posts.")
@with_services
async def account_set(
    svc: Services, name: str, indexable: bool | None, language: str | None, ai_opt_out: bool | None,
    allow_remixes: bool | None,
) -> None:  # fmt: skip
    """Change an account's settings (sends its profile Update, as an edit from an app does)."""
    async with svc.sessions() as session, session.begin():
        actor = await accounts.get_local(session, name)
        changes = profiles.ProfileChanges(
            indexable=indexable,
            language=language,
            ai_training_opt_out=ai_opt_out,
            allow_remixes=allow_remixes,
        )
        await profiles.update_profile(svc, session, actor, changes)
    state = "indexable" if actor.indexable else "not indexable"
    privacy_state = (
        f"{'opted out of' if actor.ai_training_opt_out else 'not opted out of'} AI training, "
        f"remixes {'allowed' if actor.allow_remixes else 'refused'}"
    )
    language = actor.default_language or "the instance default"
    click.echo(f"@{actor.username}: {state}, posts in {language}, {privacy_state}")


@main.command()
@click.option("--as", "as_name", required=True)
@click.option("--language", default=None, help="Change the post's language (ISO 639-1).")
@click.argument("status_id", type=int)
@click.argument("text")
@with_services
async def edit(svc: Services, as_name: str, language: str | None, status_id: int, text: str) -> None:
    """Edit a post's text (sends Update)."""
    await mentions.learn_mentions(svc, text)
    async with svc.sessions() as session, session.begin():
        author = await accounts.get_local(session, as_name)
        status = await posts.edit_post(svc, session, author, status_id, text, language=language)
    click.echo(f"edited {status.url}")


@main.command()
@click.option("--as", "as_name", required=True)
@click.argument("status_id", type=int)
@with_services
async def delete(svc: Services, as_name: str, status_id: int) -> None:
    """Delete a post (sends Delete with a Tombstone)."""
    async with svc.sessions() as session, session.begin():
        author = await accounts.get_local(session, as_name)
        await posts.delete_post(svc, session, author, status_id)
    click.echo(f"deleted {status_id}")


@main.command()
@click.option("--as", "as_name", required=True)
@click.argument("handle")
@with_services
async def follow(svc: Services, as_name: str, handle: str) -> None:
    """Follow @user@host (sends Follow; the worker delivers it)."""
    target = await lookup.find_actor(svc, handle)
    async with svc.sessions() as session, session.begin():
        me = await accounts.get_local(session, as_name)
        row = await follows.follow(svc, session, me, target)
    click.echo(f"{'following' if row.state == 'accepted' else 'requested'} {target.ap_id}")


@main.command()
@click.option("--as", "as_name", required=True)
@click.argument("handle")
@with_services
async def unfollow(svc: Services, as_name: str, handle: str) -> None:
    """Stop following @user@host (sends Undo{Follow})."""
    target = await lookup.find_actor(svc, handle)
    async with svc.sessions() as session, session.begin():
        me = await accounts.get_local(session, as_name)
        await follows.unfollow(svc, session, me, target)
    click.echo(f"unfollowed {target.ap_id}")


@main.group("follow-requests")
def follow_requests() -> None:
    """Pending follow requests of locked accounts."""


@follow_requests.command("list")
@click.option("--as", "as_name", required=True)
@with_services
async def requests_list(svc: Services, as_name: str) -> None:
    """List accounts waiting for approval."""
    async with svc.sessions() as session:
        me = await accounts.get_local(session, as_name)
        pending = await follows.pending_requests(session, me)
    for actor in pending:
        click.echo(f"@{actor.username}@{actor.domain or svc.urls.host}\t{actor.ap_id}")
    if not pending:
        click.echo("no pending requests")


async def _answer(svc: Services, as_name: str, handle: str, approve: bool) -> str:
    requester = await lookup.find_actor(svc, handle)
    async with svc.sessions() as session, session.begin():
        me = await accounts.get_local(session, as_name)
        await follows.answer_request(svc, session, me, requester, approve=approve)
        return requester.ap_id


@follow_requests.command("approve")
@click.option("--as", "as_name", required=True)
@click.argument("handle")
@with_services
async def requests_approve(svc: Services, as_name: str, handle: str) -> None:
    """Approve a follow request (sends Accept)."""
    click.echo(f"approved {await _answer(svc, as_name, handle, True)}")


@follow_requests.command("reject")
@click.option("--as", "as_name", required=True)
@click.argument("handle")
@with_services
async def requests_reject(svc: Services, as_name: str, handle: str) -> None:
    """Reject a follow request (sends Reject)."""
    click.echo(f"rejected {await _answer(svc, as_name, handle, False)}")


@main.command()
@click.option("--as", "as_name", required=True)
@click.option("--limit", default=20, show_default=True)
@with_services
async def notifications(svc: Services, as_name: str, limit: int) -> None:
    """Show an account's latest notifications (follows, mentions, likes, boosts, moves)."""
    async with svc.sessions() as session:
        me = await accounts.get_local(session, as_name)
        rows = await session.execute(
            select(Notification, Actor, Status)
            .join(Actor, Actor.id == Notification.from_actor_id)
            .outerjoin(Status, Status.id == Notification.status_id)
            .where(Notification.recipient_id == me.id)
            .order_by(Notification.id.desc())
            .limit(limit)
        )
        items = [(n, a, s) for n, a, s in rows]
    for note, sender, status in items:
        who = f"@{sender.username}@{sender.domain or svc.urls.host}"
        where = f"\t{status.url or status.ap_id}" if status is not None else ""
        click.echo(f"{note.created_at:%Y-%m-%d %H:%M}\t{note.type}\t{who}{where}")
    if not items:
        click.echo("no notifications")


@main.command("run-worker-once", hidden=True)
@with_services
async def run_worker_once(svc: Services) -> None:
    """Process due queue rows once and exit (for scripts and tests)."""
    click.echo(f"worked {await Worker(svc).run_once()} rows")


for command in [*images.COMMANDS, *models.COMMANDS]:
    main.add_command(command)
for command in privacy.COMMANDS:  # account delete, export, import, alias, move (docs/privacy.md)
    account.add_command(command)
for command in signup.ACCOUNT_COMMANDS:
    account.add_command(command)
main.add_command(signup.invite)
for command in domains.COMMANDS:
    main.add_command(command)
for command in ops.COMMANDS:
    main.add_command(command)
for command in ops.DB_COMMANDS:
    db.add_command(command)

from fedigen.cli import image_moderation  # noqa: E402 - registered last, as its own group

for command in image_moderation.COMMANDS:
    main.add_command(command)
moderation_commands.register(main)
