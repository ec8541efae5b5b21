"""The privacy endpoints' refusals and the alias and move endpoints between two instances."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

import pytest
from sqlalchemy import select

from fedigen.errors import ForbiddenError, ValidationError
from fedigen.social import accounts
from fedigen.social.roles import Role
from storage.models import Activity, Actor
from tests.api.conftest import bearer, issue_token

AS2 = {"Accept": "application/activity+json"}


async def test_aliases_and_move_through_the_api(make_instance: Any) -> None:
    async with AsyncExitStack() as stack:
        a = await make_instance(stack, "http://a.test")
        b = await make_instance(stack, "http://b.test")
        await a.create_account("alice", password="old password")
        await b.create_account("bob", password="new password")
        alice_token, bob_token = await issue_token(a, "alice"), await issue_token(b, "bob")

        # Moving before bob names alice: refused (422), nothing sent.
        early = await a.client.post(
            "/api/fedigen/account/move", json={"acct": "@bob@b.test", "password": "old password"},
            headers=bearer(alice_token),
        )  # fmt: skip
        assert early.status_code == 422 and "alias" in early.json()["error"]
        wrong = await a.client.post(
            "/api/fedigen/account/move", json={"acct": "@bob@b.test", "password": "not it at all"},
            headers=bearer(alice_token),
        )  # fmt: skip
        assert wrong.status_code == 403

        added = await b.client.post(
            "/api/fedigen/account/aliases", json={"acct": "@alice@a.test"}, headers=bearer(bob_token)
        )
        assert added.status_code == 200 and added.json() == {"aliases": ["http://a.test/users/alice"]}
        listed = await b.client.get("/api/fedigen/account/aliases", headers=bearer(bob_token))
        assert listed.json() == {"aliases": ["http://a.test/users/alice"]}
        actor = (await b.client.get("http://b.test/users/bob", headers=AS2)).json()
        assert actor["alsoKnownAs"] == ["http://a.test/users/alice"]
        self_alias = await b.client.post(
            "/api/fedigen/account/aliases", json={"acct": "bob"}, headers=bearer(bob_token)
        )
        assert self_alias.status_code == 422

        moved = await a.client.post(
            "/api/fedigen/account/move", json={"acct": "@bob@b.test", "password": "old password"},
            headers=bearer(alice_token),
        )  # fmt: skip
        assert moved.status_code == 200 and moved.json() == {"moved_to": "http://b.test/users/bob"}
        assert (await a.client.get("http://a.test/users/alice", headers=AS2)).json()["movedTo"] == (
            "http://b.test/users/bob"
        )
        async with a.services.sessions() as session:
            [move] = await session.scalars(select(Activity).where(Activity.ap_type == "Move"))
        assert move.document["object"] == "http://a.test/users/alice"
        assert move.document["target"] == "http://b.test/users/bob"
        again = await a.client.post(
            "/api/fedigen/account/move", json={"acct": "@bob@b.test", "password": "old password"},
            headers=bearer(alice_token),
        )  # fmt: skip
        assert again.status_code == 409

        removed = await b.client.request(
            "DELETE", "/api/fedigen/account/aliases", json={"acct": "http://a.test/users/alice"},
            headers=bearer(bob_token),
        )  # fmt: skip
        assert removed.status_code == 200 and removed.json() == {"aliases": []}


async def test_who_may_delete_an_account(make_instance: Any) -> None:
    async with AsyncExitStack() as stack:
        a = await make_instance(stack, "http://a.test")
        await a.create_account("owner", role=Role.OWNER)
        await a.create_account("mod", role=Role.MODERATOR)
        await a.create_account("member")
        async with a.services.sessions() as session:
            owner = await accounts.get_local(session, "owner")
            mod = await accounts.get_local(session, "mod")
            member = await accounts.get_local(session, "member")
            with pytest.raises(ForbiddenError):
                await accounts.delete_local_account(a.services, session, owner, by=member)
            with pytest.raises(ForbiddenError):  # moderators may not delete user data
                await accounts.delete_local_account(a.services, session, member, by=mod)
            with pytest.raises(ValidationError, match="only owner"):
                await accounts.delete_local_account(a.services, session, owner, by=owner)
            await session.rollback()
        async with a.services.sessions() as session:
            assert (await session.scalar(select(Actor).where(Actor.username == "member"))).deleted_at is None  # type: ignore[union-attr]
        # The account itself may; a token-less or wrong-password request may not.
        token = await issue_token(a, "member")
        assert (await a.client.post("/api/fedigen/account/delete", json={})).status_code == 401
        missing = await a.client.post("/api/fedigen/account/delete", json={}, headers=bearer(token))
        assert missing.status_code == 403
        read_only = await issue_token(a, "member", "read")
        scoped = await a.client.post(
            "/api/fedigen/account/delete", json={"password": "x"}, headers=bearer(read_only)
        )
        assert scoped.status_code == 403
