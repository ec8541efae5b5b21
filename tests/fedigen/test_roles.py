"""Roles: what owner, admin, moderator and member may do, who may give which role, and where the role
shows (CLI, the CredentialAccount's Mastodon Role entity); existing admins become admins and owner."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from fedigen.errors import ForbiddenError, ValidationError
from fedigen.social import accounts
from fedigen.social.roles import Permission, Role, allowed, may_assign, parse_role, role_entity
from storage.db import create_engine
from storage.migrate import upgrade
from tests.api.conftest import bearer, issue_token
from tests.conftest import Instance
from tests.support.server import FedigenServer


def test_each_role_holds_the_permissions_of_those_below_it() -> None:
    assert not allowed(Role.MEMBER, Permission.MANAGE_REPORTS)
    assert allowed(Role.MODERATOR, Permission.MANAGE_REPORTS) and allowed(
        Role.MODERATOR, Permission.MANAGE_USERS
    )
    assert not allowed(Role.MODERATOR, Permission.MANAGE_FEDERATION)
    assert allowed(Role.ADMIN, Permission.MANAGE_FEDERATION) and allowed(
        Role.ADMIN, Permission.MANAGE_REPORTS
    )
    assert not allowed(Role.ADMIN, Permission.MANAGE_ROLES)
    assert all(allowed(Role.OWNER, p) for p in Permission)
    # An unknown stored value is never more than a member.
    assert not allowed("superuser", Permission.MANAGE_REPORTS)


def test_who_may_give_which_role() -> None:
    assert may_assign(Role.OWNER, Role.MEMBER, Role.OWNER)
    assert may_assign(Role.ADMIN, Role.MEMBER, Role.MODERATOR)
    assert not may_assign(Role.ADMIN, Role.MEMBER, Role.ADMIN), "no one gives a role as high as their own"
    assert not may_assign(Role.ADMIN, Role.ADMIN, Role.MEMBER), "nor touches a peer"
    assert not may_assign(Role.MODERATOR, Role.MEMBER, Role.MODERATOR), "a moderator cannot change roles"
    assert not may_assign(Role.MEMBER, Role.MEMBER, Role.MODERATOR)
    with pytest.raises(ValidationError, match="member, moderator, admin, owner"):
        parse_role("root")
    assert role_entity(Role.MEMBER)["id"] == "-99" and role_entity(Role.MEMBER)["name"] == ""
    assert role_entity(Role.ADMIN)["name"] == "Admin"
    assert int(str(role_entity(Role.OWNER)["permissions"])) & Permission.ADMINISTRATOR


async def test_roles_are_given_by_whom_they_may_be_and_an_owner_always_remains(instance: Instance) -> None:
    async with instance.services.sessions() as session, session.begin():
        owner = await accounts.create_account(session, instance.services.urls, "olga", role=Role.OWNER)
        admin = await accounts.create_account(session, instance.services.urls, "adam", admin=True)
        mod = await accounts.create_account(session, instance.services.urls, "mo", role=Role.MODERATOR)
        member = await accounts.create_account(session, instance.services.urls, "mem")
    async with instance.services.sessions() as session, session.begin():
        assert await accounts.set_role(session, member, Role.MODERATOR, by=admin) == Role.MEMBER
    refused = [(mod, member, Role.MEMBER), (admin, mod, Role.ADMIN), (admin, admin, Role.OWNER),
               (member, mod, Role.MEMBER)]  # fmt: skip
    for by, target, wanted in refused:
        async with instance.services.sessions() as session, session.begin():
            with pytest.raises(ForbiddenError):
                await accounts.set_role(session, target, wanted, by=by)
    async with instance.services.sessions() as session, session.begin():
        with pytest.raises(ValidationError, match="only owner"):
            await accounts.set_role(session, owner, Role.ADMIN)
        await accounts.set_role(session, admin, Role.OWNER, by=owner)
    async with instance.services.sessions() as session, session.begin():
        assert await accounts.set_role(session, owner, Role.MEMBER) == Role.OWNER  # another owner remains
    token = await issue_token(instance, "adam")
    me = (await instance.client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))).json()
    assert me["role"]["name"] == "Owner" and int(me["role"]["permissions"]) & Permission.MANAGE_ROLES
    olga = bearer(await issue_token(instance, "olga"))
    plain = (await instance.client.get("/api/v1/accounts/verify_credentials", headers=olga)).json()
    assert plain["role"]["id"] == "-99" and plain["role"]["permissions"] == "0"


def test_the_cli_gives_roles_and_refuses_bad_ones(tmp_path: Path) -> None:
    cli = FedigenServer(tmp_path)
    out = cli.cli("init", "--url", cli.base_url, "--admin", "boss").stdout
    assert "@boss@" in out
    made = cli.cli(
        "account", "create", "mo", "--role", "moderator", "--password-stdin", stdin="a long password\n"
    )
    assert "(moderator)" in made.stdout
    listed = cli.cli("account", "list").stdout
    assert any(line.startswith("@boss@") and "owner" in line for line in listed.splitlines())
    assert any(line.startswith("@mo@") and "moderator" in line for line in listed.splitlines())
    assert cli.cli("account", "set-role", "mo", "admin").stdout.strip() == "@mo: moderator -> admin"
    choices = "expected one of member, moderator, admin, owner"
    for args, message in ((("account", "set-role", "mo", "king"), choices),
                          (("account", "set-role", "nobody", "admin"), "nobody"),
                          (("account", "set-role", "boss", "member"), "only owner"),
                          (("account", "create", "x1", "--role", "god"), "expected one of")):  # fmt: skip
        result = cli.cli(*args, check=False, stdin="a long password\n")
        assert result.returncode != 0 and message in result.stderr, (args, result.stderr)
        assert result.stderr.strip().splitlines()[-1].startswith("fedigen: ")


async def test_upgrading_keeps_every_row_and_earlier_admins_become_admins_and_the_first_the_owner(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/old.db")
    try:
        await upgrade(engine, "0008_pins_language")
        async with engine.begin() as conn:
            for i, admin in ((1, True), (2, False), (3, True)):
                actor = {"id": i, "ap_id": f"http://x.test/users/u{i}", "username": f"u{i}"}
                await conn.execute(*await _insert(conn, "actors", actor))
                await conn.execute(*await _insert(conn, "users", {"id": i, "actor_id": i, "is_admin": admin}))
                status = {"id": i, "ap_id": f"http://x.test/users/u{i}/statuses/1", "actor_id": i}
                await conn.execute(*await _insert(conn, "statuses", status))
        await upgrade(engine)
        async with engine.connect() as conn:
            roles = dict((await conn.execute(text("SELECT id, role FROM users"))).all())
            statuses = (await conn.execute(text("SELECT count(*) FROM statuses"))).scalar()
    finally:
        await engine.dispose()
    assert roles == {1: "owner", 2: "member", 3: "admin"}
    # Migrations that copy a table (SQLite's batch mode) keep every row that refers to it.
    assert statuses == 3


async def _insert(conn: Any, table: str, values: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """An INSERT of ``values`` into a table of an older schema, every other required column given a
    plain value of its type (the models of that schema are gone)."""
    row = dict(values)
    for _, name, kind, notnull, default, _ in (await conn.execute(text(f"PRAGMA table_info({table})"))).all():
        if notnull and default is None and name not in row:
            kind = kind.upper()
            row[name] = (0 if "INT" in kind or "BOOL" in kind else "[]" if "JSON" in kind
                         else "2026-01-01 00:00:00" if "DATETIME" in kind else "")  # fmt: skip
    columns = ", ".join(f'"{c}"' for c in row)  # quoted: "to" and "cc" are SQL words
    return text(f"INSERT INTO {table} ({columns}) VALUES ({', '.join(':' + c for c in row)})"), row
