"""Privacy and data across instances (docs/privacy.md): a Move carries the followers, a deleted
account's Delete reaches every server we know, the archive and its CSVs travel between instances."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from contextlib import AsyncExitStack
from typing import Any

import pytest
from sqlalchemy import func, select

from fedigen.errors import ConflictError, ValidationError
from fedigen.social import accounts, archive, blocks, follows, lookup, moves, posts, reactions
from fedigen.social.posts import PostRequest
from storage.clients import Bookmark, Mute, OAuthToken
from storage.models import (
    Activity,
    Actor,
    Block,
    Delivery,
    Follow,
    MediaAttachment,
    Notification,
    Status,
    User,
)
from storage.vocabulary import FollowState
from tests.api.conftest import bearer, issue_token
from tests.conftest import Instance

AS2 = {"Accept": "application/activity+json"}


async def _count(inst: Instance, model: Any, *where: Any) -> int:
    async with inst.services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def _settle(*instances: Instance, rounds: int = 5) -> None:
    """Run every instance's worker in turn until deliveries and their answers have all landed."""
    for _ in range(rounds):
        for inst in instances:
            await inst.drain()


async def _follow(follower_inst: Instance, name: str, handle: str) -> None:
    target = await lookup.find_actor(follower_inst.services, handle)
    async with follower_inst.services.sessions() as session, session.begin():
        me = await accounts.get_local(session, name)
        row = await session.get(Actor, target.id)
        assert row is not None
        await follows.follow(follower_inst.services, session, me, row)


async def _actor(inst: Instance, ap_id: str) -> Actor | None:
    async with inst.services.sessions() as session:
        return await session.scalar(select(Actor).where(Actor.ap_id == ap_id))


async def _follows(inst: Instance, follower: str, followee: str) -> str | None:
    async with inst.services.sessions() as session:
        a, b = await _actor(inst, follower), await _actor(inst, followee)
        if a is None or b is None:
            return None
        row = await session.scalar(
            select(Follow).where(Follow.follower_id == a.id, Follow.followee_id == b.id)
        )
        return None if row is None else str(row.state)


async def test_a_move_between_instances_carries_the_followers(make_instance: Any) -> None:
    async with AsyncExitStack() as stack:
        a = await make_instance(stack, "http://a.test")
        b = await make_instance(stack, "http://b.test")
        c = await make_instance(stack, "http://c.test")
        await a.create_account("alice")
        await b.create_account("bob")
        await c.create_account("carol")
        await a.create_account("ann")  # a local follower of the mover
        await _follow(c, "carol", "@alice@a.test")
        await _follow(a, "ann", "alice")
        await _settle(a, b, c)
        alice, bob, carol = (
            "http://a.test/users/alice",
            "http://b.test/users/bob",
            "http://c.test/users/carol",
        )
        assert await _follows(c, carol, alice) == FollowState.ACCEPTED

        # Before bob names alice as an alias, the move is refused and nothing changes.
        target = await moves.resolve_fresh(a.services, "@bob@b.test")
        async with a.services.sessions() as session:
            me = await accounts.get_local(session, "alice")
            row = await session.get(Actor, target.id)
            assert row is not None
            with pytest.raises(ValidationError, match="alias"):
                await moves.move_account(a.services, session, me, row)
            await session.rollback()
        assert (await _actor(a, alice)).moved_to_ap_id is None  # type: ignore[union-attr]

        old = await moves.resolve_fresh(b.services, "@alice@a.test")
        async with b.services.sessions() as session, session.begin():
            found = await moves.add_alias(b.services, session, await accounts.get_local(session, "bob"), old)
        assert found == [alice]
        await _settle(b)
        # The move fetches bob again (his alias is a moment old) and goes through.
        target = await moves.resolve_fresh(a.services, "@bob@b.test")
        async with a.services.sessions() as session, session.begin():
            row = await session.get(Actor, target.id)
            assert row is not None and row.also_known_as == [alice]
            await moves.move_account(a.services, session, await accounts.get_local(session, "alice"), row)
        await _settle(a, c, b)

        doc = (await a.client.get(alice, headers=AS2)).json()
        assert doc["movedTo"] == bob
        # carol's server believed the Move: she now follows bob (accepted by b) and no longer alice.
        assert await _follows(c, carol, bob) == FollowState.ACCEPTED
        assert await _follows(c, carol, alice) is None
        assert await _follows(b, carol, bob) == FollowState.ACCEPTED
        assert await _follows(a, carol, alice) is None  # her server's Undo reached a
        assert (await _actor(c, alice)).moved_to_ap_id == bob  # type: ignore[union-attr]
        assert await _count(c, Notification, Notification.type == "move") == 1
        # ann, alice's follower on a itself, moved with her.
        assert await _follows(a, "http://a.test/users/ann", bob) == FollowState.ACCEPTED
        assert await _follows(b, "http://a.test/users/ann", bob) == FollowState.ACCEPTED


async def test_deleting_an_account_removes_its_data_and_tells_every_known_server(make_instance: Any) -> None:
    async with AsyncExitStack() as stack:
        a = await make_instance(stack, "http://a.test")
        b = await make_instance(stack, "http://b.test")
        c = await make_instance(stack, "http://c.test")
        await a.create_account("alice", password="correct horse")
        await a.create_account("ann")
        await b.create_account("bob")
        await c.create_account("cid")
        await _follow(b, "bob", "@alice@a.test")
        await _follow(a, "alice", "@cid@c.test")  # a knows c's account; c knows alice
        await _follow(a, "ann", "alice")
        await _settle(a, b, c)
        async with a.services.sessions() as session, session.begin():
            me = await accounts.get_local(session, "alice")
            await posts.create_post(a.services, session, me, PostRequest(text="soon gone"))
        await _settle(a, b, c)
        token = await issue_token(a, "alice")
        alice = "http://a.test/users/alice"
        assert (await _actor(b, alice)) is not None and (await _actor(c, alice)) is not None

        # A wrong password changes nothing.
        wrong = await a.client.post(
            "/api/fedigen/account/delete", json={"password": "nope nope"}, headers=bearer(token)
        )
        assert wrong.status_code == 403 and "error" in wrong.json()
        assert await _count(a, Status, Status.actor_id == (await _actor(a, alice)).id) == 1  # type: ignore[union-attr]

        response = await a.client.post(
            "/api/fedigen/account/delete", json={"password": "correct horse"}, headers=bearer(token)
        )
        assert response.status_code == 200, response.text
        row = await _actor(a, alice)
        assert row is not None and row.deleted_at is not None and row.display_name == ""
        for model, column in (
            (Status, Status.actor_id),
            (User, User.actor_id),
            (OAuthToken, OAuthToken.account_id),
        ):
            assert await _count(a, model, column == row.id) == 0
        assert await _count(a, Follow) == 0  # alice's follow of cid and ann's of alice
        [delete] = [x async for x in _activities(a, row.id)]
        assert delete.document == {
            "@context": "https://www.w3.org/ns/activitystreams", "id": f"{alice}#delete", "type": "Delete",
            "actor": alice, "object": alice, "to": ["https://www.w3.org/ns/activitystreams#Public"],
        }  # fmt: skip
        async with a.services.sessions() as session:
            inboxes = set(
                await session.scalars(select(Delivery.inbox_url).where(Delivery.activity_id == delete.id))
            )
        assert inboxes == {"http://b.test/inbox", "http://c.test/inbox"}
        # The old token no longer works, the name cannot be taken again, WebFinger forgets it; the actor
        # document stays (its key verifies the Delete) and says the account is gone.
        assert (
            await a.client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
        ).status_code == 401
        with pytest.raises(ConflictError):
            await a.create_account("alice")
        finger = await a.client.get("/.well-known/webfinger", params={"resource": "acct:alice@a.test"})
        assert finger.status_code == 404
        doc = (await a.client.get(alice, headers=AS2)).json()
        assert doc["suspended"] is True and doc["publicKey"]["publicKeyPem"] and doc["name"] == ""

        await _settle(a, b, c)
        async with a.services.sessions() as session:
            states = set(
                await session.scalars(select(Delivery.state).where(Delivery.activity_id == delete.id))
            )
        assert states == {"done"}
        for peer in (b, c):
            gone = await _actor(peer, alice)
            assert gone is not None and gone.deleted_at is not None
        # Its Delete delivered, the private key goes; the public key stays for peers to verify with.
        await a.worker.purge_finished(force=True)
        kept = await _actor(a, alice)
        assert kept is not None and kept.private_key_pem is None and kept.public_key_pem
        assert (await _actor(a, "http://a.test/users/ann")).private_key_pem is not None  # type: ignore[union-attr]
        assert await _count(b, Follow) == 0


async def _activities(inst: Instance, actor_id: int) -> Any:
    async with inst.services.sessions() as session:
        for row in await session.scalars(select(Activity).where(Activity.actor_id == actor_id)):
            yield row


def _read_csv(archive_zip: zipfile.ZipFile, name: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(archive_zip.read(name).decode())))


async def test_the_archive_and_its_csvs_travel_to_another_instance(make_instance: Any) -> None:
    async with AsyncExitStack() as stack:
        a = await make_instance(stack, "http://a.test")
        b = await make_instance(stack, "http://b.test")
        c = await make_instance(stack, "http://c.test")
        for name in ("alice", "ann", "amy"):
            await a.create_account(name)
        await b.create_account("bea")
        await c.create_account("cid")
        await c.create_account("cat")
        await _follow(a, "alice", "@cid@c.test")
        await _follow(a, "alice", "ann")
        cat = await lookup.find_actor(a.services, "@cat@c.test")
        async with a.services.sessions() as session, session.begin():
            me = await accounts.get_local(session, "alice")
            amy = await accounts.get_local(session, "amy")
            await blocks.block(a.services, session, me, (await session.get(Actor, cat.id)))  # type: ignore[arg-type]
            await blocks.mute(session, me, amy, notifications=False)
            post = await posts.create_post(a.services, session, amy, PostRequest(text="keep this"))
            await reactions.bookmark(session, me, post)
            mine = await posts.create_post(a.services, session, me, PostRequest(text="my own words"))
            post_ap_id, mine_ap_id = post.ap_id, mine.ap_id
        await _settle(a, b, c)

        token = await issue_token(a, "alice")
        response = await a.client.get("/api/fedigen/export", headers=bearer(token))
        assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
        zipped = zipfile.ZipFile(io.BytesIO(response.content))
        names = set(zipped.namelist())
        assert {"actor.json", "outbox.json", "likes.json", "bookmarks.json", "following_accounts.csv",
                "blocked_accounts.csv", "muted_accounts.csv", "bookmarks.csv", "lists.csv",
                "blocked_domains.csv"} <= names  # fmt: skip
        assert json.loads(zipped.read("actor.json"))["id"] == "http://a.test/users/alice"
        outbox = json.loads(zipped.read("outbox.json"))
        assert outbox["type"] == "OrderedCollection"
        assert [i["object"]["id"] for i in outbox["orderedItems"] if i["type"] == "Create"] == [mine_ap_id]
        assert json.loads(zipped.read("bookmarks.json"))["orderedItems"] == [post_ap_id]
        following = _read_csv(zipped, "following_accounts.csv")
        assert following[0] == ["Account address", "Show boosts", "Notify on new posts", "Languages"]
        assert sorted(r[0] for r in following[1:]) == ["ann@a.test", "cid@c.test"]
        assert _read_csv(zipped, "blocked_accounts.csv") == [["cat@c.test"]]  # no header, as Mastodon's
        assert _read_csv(zipped, "muted_accounts.csv") == [["Account address", "Hide notifications"],
                                                           ["amy@a.test", "false"]]  # fmt: skip
        assert _read_csv(zipped, "bookmarks.csv") == [[post_ap_id]]

        # bea on b imports alice's lists: she follows (a Follow goes out), blocks and mutes the same.
        bea_token = await issue_token(b, "bea")
        results = {}
        for kind, name in (("following", "following_accounts.csv"), ("blocking", "blocked_accounts.csv"),
                           ("muting", "muted_accounts.csv"), ("bookmarks", "bookmarks.csv")):  # fmt: skip
            answer = await b.client.post(
                "/api/fedigen/import", data={"type": kind, "mode": "merge"},
                files={"data": (name, zipped.read(name), "text/csv")}, headers=bearer(bea_token),
            )  # fmt: skip
            assert answer.status_code == 200, answer.text
            results[kind] = answer.json()
        assert results["following"]["imported"] == 2 and results["following"]["failed"] == []
        await _settle(b, a, c)
        bea = "http://b.test/users/bea"
        assert await _follows(b, bea, "http://c.test/users/cid") == FollowState.ACCEPTED
        assert await _follows(b, bea, "http://a.test/users/ann") == FollowState.ACCEPTED
        assert await _follows(c, bea, "http://c.test/users/cid") == FollowState.ACCEPTED
        assert await _count(b, Block) == 1 and await _count(b, Mute, Mute.notifications.is_(False)) == 1
        assert await _count(b, Bookmark) == 1

        # Overwrite with one row: the other follow ends (an Undo goes to a).
        one = "Account address,Show boosts,Notify on new posts,Languages\ncid@c.test,true,false,\n"
        answer = await b.client.post(
            "/api/fedigen/import", data={"type": "following", "mode": "overwrite"},
            files={"data": ("f.csv", one.encode(), "text/csv")}, headers=bearer(bea_token),
        )  # fmt: skip
        assert answer.status_code == 200 and answer.json()["imported"] == 1
        await _settle(b, a)
        assert await _follows(b, bea, "http://a.test/users/ann") is None
        assert await _follows(a, bea, "http://a.test/users/ann") is None

        # Refusals: a type Mastodon does not have, a file of another type; nothing stored.
        for kind, body in (("filters", b"friends,cid@c.test\n"), ("muting", one.encode())):
            answer = await b.client.post(
                "/api/fedigen/import", data={"type": kind}, files={"data": ("x.csv", body, "text/csv")},
                headers=bearer(bea_token),
            )  # fmt: skip
            assert answer.status_code == 422 and "error" in answer.json()
        assert await _count(b, Mute) == 1


async def test_export_carries_media_files(make_instance: Any) -> None:
    async with AsyncExitStack() as stack:
        a = await make_instance(stack, "http://a.test")
        await a.create_account("alice")
        async with a.services.sessions() as session:
            me = await accounts.get_local(session, "alice")
        from PIL import Image

        buffer = io.BytesIO()
        Image.new("RGB", (40, 30), (200, 30, 30)).save(buffer, format="PNG")
        token = await issue_token(a, "alice")
        upload = await a.client.post(
            "/api/v1/media",
            files={"file": ("red.png", buffer.getvalue(), "image/png")},
            headers=bearer(token),
        )
        assert upload.status_code == 200, upload.text  # v1: processed before the answer
        posted = await a.client.post(
            "/api/v1/statuses",
            json={"status": "red", "media_ids": [upload.json()["id"]]},
            headers=bearer(token),
        )
        assert posted.status_code == 200, posted.text
        data = (await a.client.get("/api/fedigen/export", headers=bearer(token))).content
        zipped = zipfile.ZipFile(io.BytesIO(data))
        async with a.services.sessions() as session:
            media = await session.scalar(select(MediaAttachment).where(MediaAttachment.account_id == me.id))
        assert media is not None and media.original_key
        path = f"{archive.MEDIA_DIR}/{media.original_key}"
        assert zipped.read(path) == a.services.media.store.read(media.original_key)
        [create] = json.loads(zipped.read("outbox.json"))["orderedItems"]
        assert create["object"]["attachment"][0]["url"] == f"/{path}"
