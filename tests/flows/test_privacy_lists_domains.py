"""Lists and per-account domain blocks in the archive and the CSV import (docs/privacy.md): Mastodon's
``lists.csv`` and ``blocked_domains.csv`` byte for byte, carried from one instance to another, merge and
overwrite, bad rows reported, refused files storing nothing."""

from __future__ import annotations

import io
import zipfile
from contextlib import AsyncExitStack
from typing import Any

from sqlalchemy import func, select

from fedigen.social import accounts, follows, lists, lookup, user_domain_blocks
from storage.clients import AccountDomainBlock, AccountList, ListAccount
from storage.models import Actor, Follow
from tests.api.conftest import bearer, issue_token
from tests.conftest import Instance


async def _settle(*instances: Instance, rounds: int = 5) -> None:
    for _ in range(rounds):
        for inst in instances:
            await inst.drain()


async def _follow(inst: Instance, name: str, handle: str) -> None:
    target = await lookup.find_actor(inst.services, handle)
    async with inst.services.sessions() as session, session.begin():
        me = await accounts.get_local(session, name)
        row = await session.get(Actor, target.id)
        assert row is not None
        await follows.follow(inst.services, session, me, row)


async def _lists(inst: Instance, name: str) -> dict[str, list[str]]:
    """title -> the acct (user@host) of each member, in the order they were added."""
    async with inst.services.sessions() as session:
        me = await accounts.get_local(session, name)
        found: dict[str, list[str]] = {}
        for row in await session.scalars(
            select(AccountList).where(AccountList.account_id == me.id).order_by(AccountList.id)
        ):
            members = await session.scalars(
                select(Actor).join(ListAccount, ListAccount.account_id == Actor.id)
                .where(ListAccount.list_id == row.id).order_by(ListAccount.id)
            )  # fmt: skip
            found[row.title] = [f"{a.username}@{a.domain or inst.services.urls.host}" for a in members]
        return found


async def _blocked_domains(inst: Instance) -> list[str]:
    async with inst.services.sessions() as session:
        return list(await session.scalars(select(AccountDomainBlock.domain).order_by(AccountDomainBlock.id)))


async def _import(inst: Instance, token: str, kind: str, body: bytes, mode: str = "merge") -> Any:
    return await inst.client.post(
        "/api/fedigen/import", data={"type": kind, "mode": mode},
        files={"data": ("x.csv", body, "text/csv")}, headers=bearer(token),
    )  # fmt: skip


async def _follow_count(inst: Instance) -> int:
    async with inst.services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Follow)) or 0)


async def test_lists_and_domain_blocks_travel_to_another_instance(make_instance: Any) -> None:
    async with AsyncExitStack() as stack:
        a = await make_instance(stack, "http://a.test")
        b = await make_instance(stack, "http://b.test")
        c = await make_instance(stack, "http://c.test")
        evil = await make_instance(stack, "http://evil.test")
        await a.create_account("alice")
        await a.create_account("ann")
        await b.create_account("bea")
        await c.create_account("cid")
        await evil.create_account("eve")
        await _follow(a, "alice", "@cid@c.test")
        await _follow(a, "alice", "ann")
        await _settle(a, c)
        async with a.services.sessions() as session, session.begin():
            alice = await accounts.get_local(session, "alice")
            ann = await accounts.get_local(session, "ann")
            cid = await session.scalar(select(Actor).where(Actor.ap_id == "http://c.test/users/cid"))
            assert cid is not None
            friends = await lists.create_list(session, alice, "Friends")
            await lists.add_accounts(session, friends, [cid])
            await lists.add_accounts(session, friends, [ann])
            art = await lists.create_list(session, alice, "Art, etc")  # a comma: quoted, as Ruby's CSV
            await lists.add_accounts(session, art, [cid])
            await lists.create_list(session, alice, "Empty")  # no members: no rows (as Mastodon's)
            await user_domain_blocks.block_domain(a.services, session, alice, "spam.test")
            await user_domain_blocks.block_domain(a.services, session, alice, "evil.test")

        # The export: both files in the archive and alone, in Mastodon's exact bytes (no header rows).
        token = await issue_token(a, "alice")
        lists_csv = b'Friends,cid@c.test\nFriends,ann@a.test\n"Art, etc",cid@c.test\n'
        domains_csv = b"spam.test\nevil.test\n"
        zipped = zipfile.ZipFile(
            io.BytesIO((await a.client.get("/api/fedigen/export", headers=bearer(token))).content)
        )
        assert zipped.read("lists.csv") == lists_csv
        assert zipped.read("blocked_domains.csv") == domains_csv
        for name, body in (("lists.csv", lists_csv), ("blocked_domains.csv", domains_csv)):
            alone = await a.client.get(f"/api/fedigen/export/{name}", headers=bearer(token))
            assert alone.status_code == 200 and alone.content == body
            assert alone.headers["content-type"].startswith("text/csv")
        assert (
            await a.client.get("/api/fedigen/export/secrets.csv", headers=bearer(token))
        ).status_code == 404
        assert (await a.client.get("/api/fedigen/export/lists.csv")).status_code == 401

        # bea on b follows cid (not ann) and eve on evil.test, and already has a list and a domain block.
        await _follow(b, "bea", "@cid@c.test")
        await _follow(b, "bea", "@eve@evil.test")
        await _settle(b, c, evil)
        async with b.services.sessions() as session, session.begin():
            bea = await accounts.get_local(session, "bea")
            old = await lists.create_list(session, bea, "Old")
            cid_b = await session.scalar(select(Actor).where(Actor.ap_id == "http://c.test/users/cid"))
            assert cid_b is not None
            await lists.add_accounts(session, old, [cid_b])
            await user_domain_blocks.block_domain(b.services, session, bea, "other.test")
        bea_token = await issue_token(b, "bea")

        # Merge: cid's rows land; ann is not followed by bea and "Lonely" names nobody (both reported, the
        # rest goes on). Every list the file names is made, as Mastodon's import does.
        answer = await _import(b, bea_token, "lists", lists_csv + b"Lonely,\n")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["imported"] == 2
        assert len(body["failed"]) == 2
        assert any(f.startswith("Friends,ann@a.test:") and "followed" in f for f in body["failed"])
        assert any(f.startswith("Lonely,:") for f in body["failed"])
        assert await _lists(b, "bea") == {"Old": ["cid@c.test"], "Friends": ["cid@c.test"],
                                          "Art, etc": ["cid@c.test"], "Lonely": []}  # fmt: skip

        # Domain blocks, merged: blocking evil.test ends bea's follow of eve (an Undo goes to evil).
        answer = await _import(b, bea_token, "domain_blocking", domains_csv + b"not a domain!\n")
        assert answer.status_code == 200, answer.text
        assert answer.json()["imported"] == 2
        assert [f.split(":")[0] for f in answer.json()["failed"]] == ["not a domain!"]
        assert await _blocked_domains(b) == ["other.test", "spam.test", "evil.test"]
        await _settle(b, evil)
        async with b.services.sessions() as session:
            eve_b = await session.scalar(select(Actor).where(Actor.ap_id == "http://evil.test/users/eve"))
            assert eve_b is not None
            assert await session.scalar(select(Follow).where(Follow.followee_id == eve_b.id)) is None
        assert await _follow_count(evil) == 0

        # b's own export now holds what came from a, byte for byte (ann's row stayed behind).
        again = await b.client.get("/api/fedigen/export/lists.csv", headers=bearer(bea_token))
        assert (
            again.content == b'Old,cid@c.test\nFriends,cid@c.test\n"Art, etc",cid@c.test\n'
        )  # Lonely: no rows

        # Overwrite: lists the file does not name go, the others are emptied first; unlisted domains
        # are unblocked.
        answer = await _import(b, bea_token, "lists", b"Friends,cid@c.test\n", mode="overwrite")
        assert answer.status_code == 200 and answer.json() == {"type": "lists", "imported": 1, "failed": []}
        assert await _lists(b, "bea") == {"Friends": ["cid@c.test"]}
        answer = await _import(b, bea_token, "domain_blocking", b"spam.test\n", mode="overwrite")
        assert answer.status_code == 200 and answer.json()["imported"] == 1
        assert await _blocked_domains(b) == ["spam.test"]

        # Refusals store nothing: a following CSV offered as lists or domain blocks, an empty file, a
        # type Mastodon does not have, a bad mode.
        following = b"Account address,Show boosts,Notify on new posts,Languages\ncid@c.test,true,false,\n"
        for kind, data, mode in (
            ("lists", following, "overwrite"),
            ("domain_blocking", following, "overwrite"),
            ("domain_blocking", b"\n", "overwrite"),
            ("filters", b"x\n", "merge"),
            ("lists", b"Friends,cid@c.test\n", "replace"),
        ):
            refused = await _import(b, bea_token, kind, data, mode=mode)
            assert refused.status_code == 422 and "error" in refused.json(), (kind, refused.text)
        assert await _lists(b, "bea") == {"Friends": ["cid@c.test"]}
        assert await _blocked_domains(b) == ["spam.test"]
