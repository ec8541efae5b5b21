"""The statuses API as Mastodon apps use it: post, read, edit, delete, threads, favourites, boosts and
bookmarks, with Mastodon's entity shapes, Idempotency-Key replay and the 401/403/404/422 cases."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select

from fedigen.api.grants import digest
from storage.clients import Bookmark, IdempotentRequest, OAuthApp, OAuthToken
from storage.models import Activity, Actor, Delivery, Favourite, Follow, Notification, Status
from tests.api.conftest import TokenMaker, bearer
from tests.conftest import Instance

# https://docs.joinmastodon.org/entities/Status/ and /entities/Account/
STATUS_KEYS = {
    "id", "uri", "created_at", "account", "content", "visibility", "sensitive", "spoiler_text",
    "media_attachments", "application", "mentions", "tags", "emojis", "reblogs_count", "favourites_count",
    "replies_count", "url", "in_reply_to_id", "in_reply_to_account_id", "reblog", "poll", "card", "language",
    "text", "edited_at", "favourited", "reblogged", "muted", "bookmarked", "pinned", "filtered",
}  # fmt: skip
ACCOUNT_KEYS = {
    "id", "username", "acct", "url", "display_name", "note", "avatar", "avatar_static", "header",
    "header_static", "locked", "fields", "emojis", "bot", "group", "discoverable", "created_at",
    "last_status_at", "statuses_count", "followers_count", "following_count",
}  # fmt: skip


async def count(instance: Instance, model: Any) -> int:
    async with instance.services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def app_token(instance: Instance) -> dict[str, str]:
    """A client_credentials token: an app acting for no account."""
    async with instance.services.sessions() as session, session.begin():
        app = OAuthApp(client_id="app", client_secret_hash=digest("s"), name="app", redirect_uris="urn:x")
        session.add(app)
        await session.flush()
        session.add(OAuthToken(token_hash=digest("app-token"), app_id=app.id, scopes="read write"))
    return bearer("app-token")


@pytest.fixture
async def people(instance: Instance, make_token: TokenMaker) -> dict[str, Any]:
    """alice and bob, local, each with a read/write token; bob follows alice."""
    alice = await instance.create_account("alice")
    bob = await instance.create_account("bob")
    async with instance.services.sessions() as session, session.begin():
        session.add(Follow(follower_id=bob.id, followee_id=alice.id, state="accepted"))
    return {
        "alice": alice,
        "bob": bob,
        "a": bearer(await make_token("alice")),
        "b": bearer(await make_token("bob")),
    }


async def post(instance: Instance, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    response = await instance.client.post("/api/v1/statuses", json=fields, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_post_read_edit_delete(instance: Instance, people: dict[str, Any]) -> None:
    created = await post(instance, people["a"], status="Hello #art world", spoiler_text="cw", language="en")
    assert STATUS_KEYS <= set(created)
    assert ACCOUNT_KEYS <= set(created["account"])
    assert created["account"]["username"] == "alice"
    assert created["spoiler_text"] == "cw" and created["sensitive"] is True
    assert created["tags"] == [{"name": "art", "url": "http://fedigen.test/tags/art"}]
    assert created["language"] == "en" and created["visibility"] == "public"
    # Public statuses are readable without a token.
    shown = await instance.client.get(f"/api/v1/statuses/{created['id']}")
    assert shown.status_code == 200 and shown.json()["id"] == created["id"]
    edited = await instance.client.put(
        f"/api/v1/statuses/{created['id']}", json={"status": "Hello again"}, headers=people["a"]
    )
    assert edited.status_code == 200, edited.text
    assert "Hello again" in edited.json()["content"] and edited.json()["edited_at"] is not None
    # bob may neither edit nor delete alice's post: it is not there for him.
    for method in ("PUT", "DELETE"):
        other = await instance.client.request(
            method, f"/api/v1/statuses/{created['id']}", json={"status": "x"}, headers=people["b"]
        )
        assert other.status_code == 404
    deleted = await instance.client.delete(f"/api/v1/statuses/{created['id']}", headers=people["a"])
    assert deleted.status_code == 200 and deleted.json()["text"] == "Hello again"
    assert (await instance.client.get(f"/api/v1/statuses/{created['id']}")).status_code == 404


async def test_posting_needs_a_token_and_the_scope(
    instance: Instance, people: dict[str, Any], make_token: TokenMaker
) -> None:
    anonymous = await instance.client.post("/api/v1/statuses", data={"status": "hi"})
    assert anonymous.status_code == 401 and "error" in anonymous.json()
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    read_only = bearer(await make_token("alice", "read"))
    refused = await instance.client.post("/api/v1/statuses", data={"status": "hi"}, headers=read_only)
    assert refused.status_code == 403
    app_only = await app_token(instance)
    assert (
        await instance.client.post("/api/v1/statuses", data={"status": "x"}, headers=app_only)
    ).status_code == 401
    assert await count(instance, Status) == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"status": "x", "visibility": "everyone"}, "visibility"),
        ({"status": ""}, "text"),
        ({"status": "x", "media_ids": ["999"]}, "media_ids"),
        ({"status": "x", "media_ids": ["abc"]}, "media_ids"),
        ({"status": "x", "in_reply_to_id": "abc"}, "in_reply_to_id"),
        ({"status": "x" * 5001}, "text"),
    ],
)
async def test_bad_posts_are_422_naming_the_field(
    instance: Instance, people: dict[str, Any], fields: dict[str, Any], field: str
) -> None:
    response = await instance.client.post("/api/v1/statuses", json=fields, headers=people["a"])
    assert response.status_code == 422, response.text
    assert field in response.json()["error"]
    assert await count(instance, Status) == 0
    assert await count(instance, Activity) == 0


async def test_idempotency_key_replays_the_first_answer(instance: Instance, people: dict[str, Any]) -> None:
    headers = {**people["a"], "Idempotency-Key": "key-1"}
    first = await instance.client.post("/api/v1/statuses", data={"status": "once"}, headers=headers)
    again = await instance.client.post("/api/v1/statuses", data={"status": "once"}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert await count(instance, Status) == 1
    assert await count(instance, IdempotentRequest) == 1
    # The key is per account: bob's request with the same key is his own.
    other = await instance.client.post(
        "/api/v1/statuses", data={"status": "mine"}, headers={**people["b"], "Idempotency-Key": "key-1"}
    )
    assert other.json()["id"] != first.json()["id"]
    # A failed request stores no answer: fixing it with the same key works.
    bad = await instance.client.post(
        "/api/v1/statuses", data={"status": ""}, headers={**people["a"], "Idempotency-Key": "key-2"}
    )
    assert bad.status_code == 422
    fixed = await instance.client.post(
        "/api/v1/statuses", data={"status": "ok"}, headers={**people["a"], "Idempotency-Key": "key-2"}
    )
    assert fixed.status_code == 200


async def test_private_and_direct_statuses_are_404_to_others(
    instance: Instance, people: dict[str, Any], make_token: TokenMaker
) -> None:
    await instance.create_account("carol")
    c = bearer(await make_token("carol"))
    private = await post(instance, people["a"], status="followers only", visibility="private")
    direct = await post(instance, people["a"], status="@carol psst", visibility="direct")
    url, dm = f"/api/v1/statuses/{private['id']}", f"/api/v1/statuses/{direct['id']}"
    assert (await instance.client.get(url)).status_code == 404
    assert (await instance.client.get(url, headers=c)).status_code == 404
    assert (await instance.client.get(url, headers=people["b"])).status_code == 200  # a follower
    assert (await instance.client.get(url, headers=people["a"])).status_code == 200
    assert (await instance.client.get(dm, headers=c)).status_code == 200  # mentioned
    assert (await instance.client.get(dm, headers=people["b"])).status_code == 404
    for action in ("favourite", "reblog", "bookmark"):
        assert (await instance.client.post(f"{url}/{action}", headers=c)).status_code == 404
    assert (await instance.client.get("/api/v1/statuses/nope")).status_code == 404
    bad_token = await instance.client.get(url, headers={"Authorization": "Bearer wrong"})
    assert bad_token.status_code == 401


async def test_replies_and_context(instance: Instance, people: dict[str, Any]) -> None:
    root = await post(instance, people["a"], status="root")
    reply = await post(instance, people["b"], status="reply", in_reply_to_id=root["id"])
    nested = await post(instance, people["a"], status="nested", in_reply_to_id=reply["id"])
    assert reply["in_reply_to_id"] == root["id"]
    assert reply["in_reply_to_account_id"] == str(people["alice"].id)
    context = (await instance.client.get(f"/api/v1/statuses/{reply['id']}/context")).json()
    assert set(context) == {"ancestors", "descendants"}
    assert [s["id"] for s in context["ancestors"]] == [root["id"]]
    assert [s["id"] for s in context["descendants"]] == [nested["id"]]
    again = (await instance.client.get(f"/api/v1/statuses/{root['id']}", headers=people["a"])).json()
    assert again["replies_count"] == 1
    gone = await instance.client.post(
        "/api/v1/statuses", json={"status": "x", "in_reply_to_id": "99999"}, headers=people["a"]
    )
    assert gone.status_code == 404


async def test_favourite_boost_bookmark_and_undo(instance: Instance, people: dict[str, Any]) -> None:
    status = await post(instance, people["a"], status="like me")
    url, b = f"/api/v1/statuses/{status['id']}", people["b"]
    faved = await instance.client.post(f"{url}/favourite", headers=b)
    assert faved.status_code == 200 and faved.json()["favourited"] is True
    assert faved.json()["favourites_count"] == 1
    assert (await instance.client.post(f"{url}/favourite", headers=b)).json()["favourites_count"] == 1
    boost = await instance.client.post(f"{url}/reblog", headers=b)
    assert boost.status_code == 200
    assert boost.json()["reblog"]["id"] == status["id"] and boost.json()["reblog"]["reblogged"] is True
    assert boost.json()["account"]["username"] == "bob"
    marked = await instance.client.post(f"{url}/bookmark", headers=b)
    assert marked.json()["bookmarked"] is True
    by = await instance.client.get(f"{url}/favourited_by")
    assert [a["username"] for a in by.json()] == ["bob"] and ACCOUNT_KEYS <= set(by.json()[0])
    boosters = await instance.client.get(f"{url}/reblogged_by")
    assert [a["username"] for a in boosters.json()] == ["bob"]
    async with instance.services.sessions() as session:
        kinds = set(await session.scalars(select(Notification.type)))
    assert kinds == {"favourite", "reblog"}
    unfaved = await instance.client.post(f"{url}/unfavourite", headers=b)
    assert unfaved.json()["favourited"] is False and unfaved.json()["favourites_count"] == 0
    unboosted = await instance.client.post(f"{url}/unreblog", headers=b)
    assert unboosted.json()["reblogged"] is False and unboosted.json()["reblogs_count"] == 0
    unmarked = await instance.client.post(f"{url}/unbookmark", headers=b)
    assert unmarked.json()["bookmarked"] is False
    assert await count(instance, Favourite) == 0 and await count(instance, Bookmark) == 0
    assert (await instance.client.get(f"{url}/reblogged_by")).json() == []


async def test_reactions_to_a_remote_post_federate(instance: Instance, people: dict[str, Any]) -> None:
    async with instance.services.sessions() as session, session.begin():
        remote = Actor(ap_id="https://remote.test/users/dan", username="dan", domain="remote.test",
                       inbox_url="https://remote.test/users/dan/inbox")  # fmt: skip
        session.add(remote)
        await session.flush()
        note = Status(ap_id="https://remote.test/notes/1", actor_id=remote.id, content="<p>hi</p>")
        session.add(note)
        await session.flush()
        note_id = note.id
    url = f"/api/v1/statuses/{note_id}"
    assert (await instance.client.post(f"{url}/favourite", headers=people["a"])).status_code == 200
    assert (await instance.client.post(f"{url}/reblog", headers=people["a"])).status_code == 200
    assert (await instance.client.post(f"{url}/unfavourite", headers=people["a"])).status_code == 200
    assert (await instance.client.post(f"{url}/unreblog", headers=people["a"])).status_code == 200
    async with instance.services.sessions() as session:
        activities = list(await session.scalars(select(Activity).order_by(Activity.id)))
        inboxes = set(await session.scalars(select(Delivery.inbox_url)))
    assert [a.ap_type for a in activities] == ["Like", "Announce", "Undo", "Undo"]
    assert activities[0].document["object"] == "https://remote.test/notes/1"
    assert activities[2].document["object"]["type"] == "Like"
    assert activities[3].document["object"]["type"] == "Announce"
    assert inboxes == {"https://remote.test/users/dan/inbox"}


async def test_an_edit_can_change_the_media(instance: Instance, people: dict[str, Any]) -> None:
    async def upload(colour: tuple[int, int, int]) -> str:
        data = io.BytesIO()
        Image.new("RGB", (16, 16), colour).save(data, "PNG")
        files = {"file": ("a.png", data.getvalue(), "image/png")}
        response = await instance.client.post("/api/v1/media", files=files, headers=people["a"])
        assert response.status_code == 200, response.text
        return str(response.json()["id"])

    first, second = await upload((255, 0, 0)), await upload((0, 0, 255))
    created = await post(instance, people["a"], status="pictures", media_ids=[first])
    edited = await instance.client.put(
        f"/api/v1/statuses/{created['id']}", json={"status": "pictures", "media_ids": [second, first]},
        headers=people["a"],
    )  # fmt: skip
    assert edited.status_code == 200, edited.text
    assert [m["id"] for m in edited.json()["media_attachments"]] == [second, first]
    dropped = await instance.client.put(
        f"/api/v1/statuses/{created['id']}",
        json={"status": "one", "media_ids": [second]},
        headers=people["a"],
    )
    assert [m["id"] for m in dropped.json()["media_attachments"]] == [second]
    bad = await instance.client.put(
        f"/api/v1/statuses/{created['id']}",
        json={"status": "x", "media_ids": ["999999"]},
        headers=people["a"],
    )
    assert bad.status_code == 422 and "media_ids" in bad.json()["error"]
