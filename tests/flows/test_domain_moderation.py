"""Domain moderation through the real paths: two fedigen instances on the fake network (suspend, silence),
the fake Mastodon-like server (reject media, reject reports, allowlist mode), the admin API's permission
boundaries and entity shapes, and CSV block lists moved from one instance to another."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

import pytest
from sqlalchemy import func, select

from fedigen.errors import ValidationError
from fedigen.social import domains, follows, lookup, posts
from fedigen.social.posts import PostRequest
from fedigen.social.roles import Role
from storage import queue
from storage.models import Actor, Delivery, DomainAllow, DomainBlock, Follow, InboxItem, Report, Status
from tests.api.conftest import bearer, issue_token
from tests.conftest import Instance
from tests.remote_actor import RemoteActor, RemoteServer

INBOX = "/users/alice/inbox"
ALICE = "http://fedigen.test/users/alice"


async def count(inst: Instance, model: Any, *where: Any) -> int:
    async with inst.services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def local(inst: Instance, name: str) -> Actor:
    async with inst.services.sessions() as session:
        found = await session.scalar(select(Actor).where(Actor.username == name, Actor.domain.is_(None)))
        assert found is not None
        return found


async def post(inst: Instance, name: str, text: str, visibility: str = "public") -> Status:
    async with inst.services.sessions() as session, session.begin():
        author = await session.scalar(select(Actor).where(Actor.username == name, Actor.domain.is_(None)))
        assert author is not None
        return await posts.create_post(
            inst.services, session, author, PostRequest(text=text, visibility=visibility)
        )


async def follow(src: Instance, name: str, dst: Instance, handle: str) -> None:
    target = await lookup.find_actor(src.services, handle)
    async with src.services.sessions() as session, session.begin():
        me = await session.scalar(select(Actor).where(Actor.username == name, Actor.domain.is_(None)))
        assert me is not None
        await follows.follow(src.services, session, me, target)
    await src.drain()
    await dst.drain()
    await src.drain()


async def set_policy(inst: Instance, domain: str, **options: Any) -> None:
    async with inst.services.sessions() as session, session.begin():
        await domains.block(inst.services, session, domain, **options)


async def two_instances(
    stack: AsyncExitStack, make_instance: Any, **a_sections: Any
) -> tuple[Instance, Instance]:
    a = await make_instance(stack, "http://a.test", **a_sections)
    b = await make_instance(stack, "http://b.test")
    await a.create_account("alice")
    await b.create_account("bob")
    return a, b


async def status_on(inst: Instance, ap_id: str) -> Status | None:
    async with inst.services.sessions() as session:
        return await session.scalar(select(Status).where(Status.ap_id == ap_id))


# --- suspend -----------------------------------------------------------------------------------------


async def test_suspension_severs_follows_stops_delivery_both_ways_and_hides_content(
    make_instance: Any,
) -> None:
    async with AsyncExitStack() as stack:
        a, b = await two_instances(stack, make_instance)
        await follow(b, "bob", a, "@alice@a.test")
        await follow(a, "alice", b, "@bob@b.test")
        assert await count(a, Follow, Follow.state == "accepted") == 2
        before = await post(b, "bob", "before the suspension")
        await b.drain()
        await a.drain()
        seen = await status_on(a, before.ap_id)
        assert seen is not None
        token = await issue_token(a, "alice", "read")
        assert (await a.client.get(f"/api/v1/statuses/{seen.id}")).status_code == 200

        sent_to_b = await count(a, Delivery, Delivery.host == "b.test")
        await set_policy(a, "b.test", severity="suspend", private_comment="spam")

        # Follows severed both ways on a, and nothing was sent to b about it.
        assert await count(a, Follow) == 0
        assert await count(a, Delivery, Delivery.host == "b.test") == sent_to_b
        # Existing content hidden: the status, the public timeline, alice's view.
        assert (await a.client.get(f"/api/v1/statuses/{seen.id}")).status_code == 404
        got = await a.client.get(f"/api/v1/statuses/{seen.id}", headers=bearer(token))
        assert got.status_code == 404
        public = (await a.client.get("/api/v1/timelines/public")).json()
        assert seen.ap_id not in {s["uri"] for s in public}

        # a -> b: a post addressed to bob is not delivered (the delivery is dropped, b gets nothing).
        mention = await post(a, "alice", "hello @bob@b.test", visibility="direct")
        await a.drain()
        dropped = await count(a, Delivery, Delivery.host == "b.test", Delivery.state == queue.CANCELLED)
        assert dropped == 1 and await count(a, Delivery, Delivery.host == "b.test") == sent_to_b + 1
        assert await status_on(b, mention.ap_id) is None
        # b -> a: bob's new post (to alice, still a follower on b) is refused by a's inbox with 403.
        after = await post(b, "bob", "after the suspension @alice@a.test")
        items_before = await count(a, InboxItem)
        await b.drain()
        await a.drain()
        assert await status_on(a, after.ap_id) is None
        assert await count(a, InboxItem) == items_before
        async with b.services.sessions() as session:
            statuses = set(
                await session.scalars(select(Delivery.last_status).where(Delivery.host == "a.test"))
            )
        assert 403 in statuses

        # Unblocking shows what was hidden again (severed follows stay severed, as on Mastodon).
        async with a.services.sessions() as session, session.begin():
            await domains.unblock(a.services, session, "b.test")
        assert (await a.client.get(f"/api/v1/statuses/{seen.id}")).status_code == 200
        assert await count(a, Follow) == 0


# --- silence -----------------------------------------------------------------------------------------


async def test_silence_makes_follows_requests_and_hides_from_public_timelines_and_search(
    make_instance: Any,
) -> None:
    async with AsyncExitStack() as stack:
        a, b = await two_instances(stack, make_instance)
        await set_policy(a, "b.test", severity="silence")
        # alice's account is not locked, yet bob's follow waits for her approval.
        await follow(b, "bob", a, "@alice@a.test")
        alice = await local(a, "alice")
        assert not alice.locked
        assert await count(a, Follow, Follow.followee_id == alice.id, Follow.state == "requested") == 1
        token = await issue_token(a, "alice", "read write follow")
        requests = (await a.client.get("/api/v1/follow_requests", headers=bearer(token))).json()
        assert [r["acct"] for r in requests] == ["bob@b.test"]

        # Bob's public post arrives, but only his followers (and those he mentions) see it.
        await follow(a, "alice", b, "@bob@b.test")
        hidden = await post(b, "bob", "a public post from a silenced server")
        await b.drain()
        await a.drain()
        row = await status_on(a, hidden.ap_id)
        assert row is not None
        public = (await a.client.get("/api/v1/timelines/public")).json()
        assert hidden.ap_id not in {s["uri"] for s in public}
        assert (await a.client.get(f"/api/v1/statuses/{row.id}")).status_code == 404
        # alice follows bob: she sees it, in her home timeline and by id.
        home = (await a.client.get("/api/v1/timelines/home", headers=bearer(token))).json()
        assert hidden.ap_id in {s["uri"] for s in home}
        assert (await a.client.get(f"/api/v1/statuses/{row.id}", headers=bearer(token))).status_code == 200
        # Not discoverable by name; found when asked for by handle.
        found = (await a.client.get("/api/v2/search?q=bo&type=accounts", headers=bearer(token))).json()
        assert found["accounts"] == []
        local_post = await post(a, "alice", "a local post")
        public = (await a.client.get("/api/v1/timelines/public")).json()
        assert local_post.ap_id in {s["uri"] for s in public}


# --- noop with reject_media / reject_reports (the fake Mastodon-like server) -----------------------------


async def test_reject_media_shows_attachments_as_links(fedigen: Instance, bob: RemoteActor) -> None:
    await set_policy(fedigen, "remote.test", severity="noop", reject_media=True)
    image = {
        "type": "Document",
        "mediaType": "image/png",
        "url": "http://remote.test/media/1.png",
        "name": "x",
    }
    note = bob.note(mention=ALICE, attachment=[image])
    assert (await bob.post(fedigen.client, INBOX, bob.create(note))).status_code == 202
    await fedigen.drain()
    row = await status_on(fedigen, note["id"])
    assert row is not None
    entity = (await fedigen.client.get(f"/api/v1/statuses/{row.id}")).json()
    [media] = entity["media_attachments"]
    assert media["type"] == "unknown" and media["url"] == image["url"] and media["preview_url"] is None


async def test_reject_reports_drops_flags(fedigen: Instance, bob: RemoteActor) -> None:
    flag = bob.activity("Flag", [ALICE], content="spam")
    assert (await bob.post(fedigen.client, INBOX, flag)).status_code == 202
    await fedigen.drain()
    assert await count(fedigen, Report) == 1
    await set_policy(fedigen, "remote.test", severity="noop", reject_reports=True)
    flag = bob.activity("Flag", [ALICE], content="spam again")
    assert (await bob.post(fedigen.client, INBOX, flag)).status_code == 202
    await fedigen.drain()
    assert await count(fedigen, Report) == 1


# --- allowlist mode ------------------------------------------------------------------------------------


async def test_allowlist_mode_refuses_domains_not_allowed(
    make_instance: Any, remote: RemoteServer, bob: RemoteActor
) -> None:
    async with AsyncExitStack() as stack:
        inst = await make_instance(stack, "http://fedigen.test", federation={"mode": "allowlist"})
        await inst.create_account("alice")
        refused = await bob.post(inst.client, INBOX, bob.create(bob.note(mention=ALICE)))
        assert refused.status_code == 403 and refused.json()["error"]
        assert remote.received == [], "nothing is fetched from a domain not allowed"
        async with inst.services.sessions() as session, session.begin():
            await domains.allow(inst.services, session, "remote.test")
        accepted = await bob.post(inst.client, INBOX, bob.create(bob.note(mention=ALICE)))
        assert accepted.status_code == 202, accepted.text
        async with inst.services.sessions() as session, session.begin():
            await domains.disallow(inst.services, session, "remote.test")
        again = await bob.post(inst.client, INBOX, bob.create(bob.note(mention=ALICE)))
        assert again.status_code == 403


async def test_host_and_port_entries(fedigen: Instance) -> None:
    policies = fedigen.services.resolver.domains
    await set_policy(fedigen, "127.0.0.1:8001", severity="suspend")
    assert await policies.refused("http://127.0.0.1:8001/users/x")
    assert not await policies.refused("http://127.0.0.1:8002/users/x")
    await set_policy(fedigen, "example.com", severity="suspend")
    assert await policies.refused("https://social.example.com/users/x")
    assert not await policies.refused("https://notexample.com/users/x")
    assert not await policies.refused("http://fedigen.test/users/alice"), "never our own host"


# --- CSV -------------------------------------------------------------------------------------------------


async def test_csv_round_trip_gives_the_same_policy_on_another_instance(make_instance: Any) -> None:
    async with AsyncExitStack() as stack:
        a = await make_instance(stack, "http://a.test")
        c = await make_instance(stack, "http://c.test")
        await set_policy(a, "spam.example", severity="suspend", public_comment='spam, "lots"', obfuscate=True)
        await set_policy(a, "loud.example", severity="silence", reject_media=True)
        await set_policy(a, "pics.example:8443", severity="noop", reject_media=True, reject_reports=True)
        async with a.services.sessions() as session:
            text = domains.export_csv(await domains.blocks(session))
        assert (
            text.splitlines()[0]
            == "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate"
        )
        assert 'spam.example,suspend,false,false,"spam, ""lots""",true' in text.splitlines()
        entries = domains.parse_csv(text)
        async with c.services.sessions() as session, session.begin():
            result = await domains.import_blocks(c.services, session, entries)
        assert sorted(result.added) == ["loud.example", "pics.example:8443", "spam.example"]

        def policy(rows: Any) -> list[tuple[Any, ...]]:
            return [(r.domain, r.severity, r.reject_media, r.reject_reports, r.public_comment, r.obfuscate)
                    for r in rows]  # fmt: skip

        async with a.services.sessions() as sa, c.services.sessions() as sc:
            assert policy(await domains.blocks(sa)) == policy(await domains.blocks(sc))
        assert await c.services.resolver.domains.refused("https://spam.example/users/x")
        # Importing the same file again changes nothing.
        async with c.services.sessions() as session, session.begin():
            again = await domains.import_blocks(c.services, session, domains.parse_csv(text))
        assert again.added == again.updated == [] and len(again.unchanged) == 3


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("#domain,#severity\nok.example,suspend\nbad.example,obliterate\n", "line 3: severity"),
        ("#domain,#severity,#reject_media\nok.example,silence,maybe\n", "line 2: reject_media"),
        ("#domain,#severity\nok.example,suspend,extra\n", "line 2: expected 2 columns"),
        ("#domain,#colour\nok.example,red\n", "line 1: expected the columns"),
        ("ok.example\nnot a domain\n", "line 2: not a domain"),
    ],
)
async def test_malformed_csv_is_refused_with_its_line_and_nothing_stored(
    fedigen: Instance, text: str, line: str
) -> None:
    with pytest.raises(ValidationError, match=line):
        domains.parse_csv(text)
    assert await count(fedigen, DomainBlock) == 0


def test_plain_lists_and_mastodon_headers_in_any_order() -> None:
    assert [(e.domain, e.severity) for e in domains.parse_csv("one.example\nTwo.Example\n")] == [
        ("one.example", "suspend"), ("two.example", "suspend"),
    ]  # fmt: skip
    [entry] = domains.parse_csv("#severity,#domain\nsilence,x.example\n")
    assert (entry.domain, entry.severity, entry.reject_media) == ("x.example", "silence", False)


# --- the admin API -------------------------------------------------------------------------------------


async def _staff(inst: Instance) -> dict[str, str]:
    await inst.create_account("member")
    await inst.create_account("mod", role=Role.MODERATOR)
    await inst.create_account("boss", role=Role.ADMIN)
    return {
        name: await issue_token(inst, name, "read write admin:read admin:write")
        for name in ("member", "mod", "boss")
    }


async def test_admin_domain_blocks_permissions_and_shapes(instance: Instance) -> None:
    tokens = await _staff(instance)
    client = instance.client
    body = {"domain": "spam.example", "severity": "suspend", "private_comment": "p", "public_comment": "q"}
    for who in ("member", "mod"):
        refused = await client.post("/api/v1/admin/domain_blocks", json=body, headers=bearer(tokens[who]))
        assert refused.status_code == 403 and refused.json()["error"]
        listed = await client.get("/api/v1/admin/domain_blocks", headers=bearer(tokens[who]))
        assert listed.status_code == 403
    assert await count(instance, DomainBlock) == 0
    assert (await client.get("/api/v1/admin/domain_blocks")).status_code == 401

    made = await client.post("/api/v1/admin/domain_blocks", json=body, headers=bearer(tokens["boss"]))
    assert made.status_code == 200, made.text
    entity = made.json()
    assert set(entity) == {
        "id", "domain", "digest", "created_at", "severity", "reject_media", "reject_reports",
        "private_comment", "public_comment", "obfuscate",
    }  # fmt: skip
    assert (entity["domain"], entity["severity"], entity["private_comment"]) == (
        "spam.example",
        "suspend",
        "p",
    )
    assert await instance.services.resolver.domains.refused("https://spam.example/x")

    again = await client.post("/api/v1/admin/domain_blocks", json=body, headers=bearer(tokens["boss"]))
    assert again.status_code == 422 and again.json()["existing_domain_block"]["id"] == entity["id"]
    bad = await client.post("/api/v1/admin/domain_blocks", json={"domain": "x.example", "severity": "nuke"},
                            headers=bearer(tokens["boss"]))  # fmt: skip
    assert bad.status_code == 422 and "severity" in bad.json()["error"]
    assert (await client.post("/api/v1/admin/domain_blocks", json={"domain": "not a domain"},
                              headers=bearer(tokens["boss"]))).status_code == 422  # fmt: skip
    # Mastodon's default severity is silence.
    default = await client.post("/api/v1/admin/domain_blocks", json={"domain": "quiet.example"},
                                headers=bearer(tokens["boss"]))  # fmt: skip
    assert default.json()["severity"] == "silence"

    path = f"/api/v1/admin/domain_blocks/{entity['id']}"
    shown = await client.get(path, headers=bearer(tokens["boss"]))
    assert shown.json() == entity
    changed = await client.put(
        path, json={"severity": "noop", "reject_media": True}, headers=bearer(tokens["boss"])
    )
    assert (changed.json()["severity"], changed.json()["reject_media"]) == ("noop", True)
    assert not await instance.services.resolver.domains.refused("https://spam.example/x")
    assert (await client.delete(path, headers=bearer(tokens["mod"]))).status_code == 403
    assert (await client.delete(path, headers=bearer(tokens["boss"]))).status_code == 200
    assert (await client.get(path, headers=bearer(tokens["boss"]))).status_code == 404
    # A token without the admin scope cannot, whatever the role.
    plain = await issue_token(instance, "boss", "read write")
    assert (await client.get("/api/v1/admin/domain_blocks", headers=bearer(plain))).status_code == 403
    narrow = await issue_token(instance, "boss", "admin:read:domain_blocks")
    assert (await client.get("/api/v1/admin/domain_blocks", headers=bearer(narrow))).status_code == 200
    assert (await client.post("/api/v1/admin/domain_blocks", json={"domain": "z.example"},
                              headers=bearer(narrow))).status_code == 403  # fmt: skip


async def test_admin_domain_allows(instance: Instance) -> None:
    tokens = await _staff(instance)
    client = instance.client
    for who in ("member", "mod"):
        refused = await client.post("/api/v1/admin/domain_allows", json={"domain": "friend.example"},
                                    headers=bearer(tokens[who]))  # fmt: skip
        assert refused.status_code == 403
    made = await client.post("/api/v1/admin/domain_allows", json={"domain": "friend.example"},
                             headers=bearer(tokens["boss"]))  # fmt: skip
    assert made.status_code == 200 and set(made.json()) == {"id", "domain", "created_at"}
    listed = (await client.get("/api/v1/admin/domain_allows", headers=bearer(tokens["boss"]))).json()
    assert [a["domain"] for a in listed] == ["friend.example"]
    path = f"/api/v1/admin/domain_allows/{made.json()['id']}"
    assert (await client.get(path, headers=bearer(tokens["boss"]))).json() == made.json()
    assert (await client.delete(path, headers=bearer(tokens["boss"]))).status_code == 200
    assert await count(instance, DomainAllow) == 0


async def test_public_domain_blocks_with_digest_comment_and_obfuscation(instance: Instance) -> None:
    await instance.create_account("alice")
    await set_policy(instance, "spam.example", severity="suspend", public_comment="spam")
    await set_policy(instance, "secretive.example", severity="silence", obfuscate=True)
    await set_policy(instance, "pics.example", severity="noop", reject_media=True)
    assert (await instance.client.get("/api/v1/instance/domain_blocks")).status_code == 401  # "users"
    token = await issue_token(instance, "alice", "read")
    shown = (await instance.client.get("/api/v1/instance/domain_blocks", headers=bearer(token))).json()
    by_digest = {b["digest"]: b for b in shown}
    assert len(shown) == 2, "noop blocks are not listed, as on Mastodon"
    spam = by_digest[domains.digest("spam.example")]
    assert spam == {
        "domain": "spam.example",
        "digest": spam["digest"],
        "severity": "suspend",
        "comment": "spam",
    }
    hidden = by_digest[domains.digest("secretive.example")]
    assert hidden["domain"] == "secre****.***mple"  # Mastodon's DomainBlock#public_domain


async def test_nothing_is_fetched_from_a_suspended_domain(
    fedigen: Instance, remote: RemoteServer, bob: RemoteActor
) -> None:
    await set_policy(fedigen, "remote.test", severity="suspend")
    for ask in (f"@bob@{remote.host}", bob.ap_id):
        with pytest.raises(Exception, match="blocked"):
            await lookup.find_actor(fedigen.services, ask)
    with pytest.raises(Exception, match="blocked"):
        await fedigen.services.fetcher.fetch_object(f"{remote.base}/anything")
    assert remote.received == [], "not even WebFinger"
