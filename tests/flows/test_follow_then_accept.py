"""Two fedigen instances on a fake network: follow, accept, post, edit, delete, react."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

from sqlalchemy import func, select

from fedigen.social import follows, lookup, posts
from fedigen.social.posts import PostRequest
from storage.models import Actor, Favourite, Follow, Notification, Status, Tombstone


async def _count(inst: Any, model: Any, *where: Any) -> int:
    async with inst.services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def test_remote_follow_post_edit_delete(make_instance: Any) -> None:
    async with AsyncExitStack() as stack:
        a = await make_instance(stack, "http://a.test")
        b = await make_instance(stack, "http://b.test")
        await a.create_account("alice")
        await b.create_account("bob")

        target = await lookup.find_actor(b.services, "@alice@a.test")  # before the transaction
        async with b.services.sessions() as session, session.begin():
            bob = (await session.scalars(select(Actor).where(Actor.username == "bob"))).one()
            row = await follows.follow(b.services, session, bob, target)
            assert row.state == "requested"
        await b.drain()  # delivers Follow to a
        await a.drain()  # a accepts, delivers Accept to b
        await b.drain()  # b processes Accept
        assert await _count(b, Follow, Follow.state == "accepted") == 1
        assert await _count(a, Follow, Follow.state == "accepted") == 1
        assert await _count(a, Notification, Notification.type == "follow") == 1

        async with a.services.sessions() as session, session.begin():
            alice = (await session.scalars(select(Actor).where(Actor.username == "alice"))).one()
            status = await posts.create_post(
                a.services, session, alice, PostRequest(text="hello #Fediverse @bob@b.test")
            )
            status_id, status_ap_id = status.id, status.ap_id
        await a.drain()
        await b.drain()
        async with b.services.sessions() as session:
            got = await session.scalar(select(Status).where(Status.ap_id == status_ap_id))
            assert got is not None and "hello" in got.content and got.visibility == "public"
        assert await _count(b, Notification, Notification.type == "mention") == 1

        async with a.services.sessions() as session, session.begin():
            alice = await session.get(Actor, alice.id)
            assert alice is not None
            await posts.edit_post(a.services, session, alice, status_id, "edited text")
        await a.drain()
        await b.drain()
        async with b.services.sessions() as session:
            got = await session.scalar(select(Status).where(Status.ap_id == status_ap_id))
            assert got is not None and "edited text" in got.content and got.edited_at is not None

        # bob likes the post: alice is notified
        async with b.services.sessions() as session, session.begin():
            bob = (await session.scalars(select(Actor).where(Actor.username == "bob"))).one()
        like = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": "http://b.test/likes/1",
            "type": "Like",
            "actor": bob.ap_id,
            "object": status_ap_id,
        }
        from activitypub.outbox import publish

        async with b.services.sessions() as session, session.begin():
            bob = await session.get(Actor, bob.id)
            assert bob is not None
            await publish(session, bob, like, extra_inboxes=["http://a.test/users/alice/inbox"])
        await b.drain()
        await a.drain()
        assert await _count(a, Favourite) == 1
        assert await _count(a, Notification, Notification.type == "favourite") == 1

        async with a.services.sessions() as session, session.begin():
            alice = await session.get(Actor, alice.id)
            assert alice is not None
            await posts.delete_post(a.services, session, alice, status_id)
        await a.drain()
        await b.drain()
        async with b.services.sessions() as session:
            got = await session.scalar(select(Status).where(Status.ap_id == status_ap_id))
            assert got is not None and got.deleted_at is not None
        assert await _count(b, Tombstone, Tombstone.ap_id == status_ap_id) == 1
