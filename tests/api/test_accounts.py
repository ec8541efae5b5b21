"""Accounts through the client API: the signed-in account, profile edits (sent as Update), lookup,
one account, its statuses with visibility and pagination, its followers and follows."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image
from sqlalchemy import func, select

from fedigen.social import accounts, follows, posts
from fedigen.social.posts import PostRequest
from storage.models import Actor, Follow, MediaAttachment
from tests.api.conftest import TokenMaker, bearer
from tests.conftest import Instance
from tests.remote_actor import RemoteActor

# https://docs.joinmastodon.org/entities/Account/
ACCOUNT_FIELDS = {
    "id", "username", "acct", "url", "display_name", "note", "avatar", "avatar_static", "header",
    "header_static", "locked", "fields", "emojis", "bot", "group", "discoverable", "noindex", "moved",
    "created_at", "last_status_at", "statuses_count", "followers_count", "following_count",
}  # fmt: skip
SOURCE_FIELDS = {"note", "fields", "privacy", "sensitive", "language", "follow_requests_count"}


def png(size: tuple[int, int] = (64, 64), color: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


async def post(instance: Instance, username: str, text: str, **fields: Any) -> int:
    svc = instance.services
    async with svc.sessions() as session, session.begin():
        author = await accounts.get_local(session, username)
        status = await posts.create_post(svc, session, author, PostRequest(text=text, **fields))
        return status.id


async def follow(instance: Instance, follower: str, followee: str) -> None:
    svc = instance.services
    async with svc.sessions() as session, session.begin():
        a = await accounts.get_local(session, follower)
        b = await accounts.get_local(session, followee)
        await follows.follow(svc, session, a, b)


async def account_id(instance: Instance, username: str) -> str:
    async with instance.services.sessions() as session:
        return str((await accounts.get_local(session, username)).id)


async def count(instance: Instance, model: Any, *where: Any) -> int:
    async with instance.services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


# ---- verify_credentials ----


async def test_verify_credentials_is_a_credential_account(instance: Instance, make_token: TokenMaker) -> None:
    await instance.create_account("alice")
    response = await instance.client.get(
        "/api/v1/accounts/verify_credentials", headers=bearer(await make_token("alice"))
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert ACCOUNT_FIELDS <= set(body)
    assert SOURCE_FIELDS <= set(body["source"])
    assert body["username"] == body["acct"] == "alice" and body["role"]["name"] == ""


async def test_verify_credentials_accepts_the_profile_scope(
    instance: Instance, make_token: TokenMaker
) -> None:
    await instance.create_account("alice")
    token = await make_token("alice", "profile")
    response = await instance.client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
    assert response.status_code == 200


async def test_verify_credentials_without_a_token_is_401_with_www_authenticate(instance: Instance) -> None:
    response = await instance.client.get("/api/v1/accounts/verify_credentials")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "error" in response.json()
    bad = await instance.client.get("/api/v1/accounts/verify_credentials", headers=bearer("nope"))
    assert bad.status_code == 401 and "www-authenticate" in bad.headers


async def test_verify_credentials_with_another_scope_is_403(
    instance: Instance, make_token: TokenMaker
) -> None:
    await instance.create_account("alice")
    token = await make_token("alice", "write:statuses")
    response = await instance.client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
    assert response.status_code == 403 and "error" in response.json()


# ---- update_credentials ----


async def test_update_credentials_changes_the_profile_and_sends_update_to_followers(
    instance: Instance, make_token: TokenMaker, bob: RemoteActor
) -> None:
    await instance.create_account("alice")
    svc = instance.services
    async with svc.sessions() as session, session.begin():
        remote_bob = await svc.resolver.get_actor(bob.ap_id, session=session)
        alice = await accounts.get_local(session, "alice")
        session.add(Follow(follower_id=remote_bob.id, followee_id=alice.id, state="accepted"))
    response = await instance.client.patch(
        "/api/v1/accounts/update_credentials",
        headers=bearer(await make_token("alice")),
        data={
            "display_name": "Alice A.", "note": "I paint with #prompts", "locked": "true",
            "fields_attributes[0][name]": "Site", "fields_attributes[0][value]": "https://alice.example",
        },
        files={"avatar": ("a.png", png(), "image/png"),
               "header": ("h.png", png((300, 100), "blue"), "image/png")},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["display_name"] == "Alice A." and body["locked"] is True
    assert body["source"]["note"] == "I paint with #prompts"
    assert body["fields"][0]["name"] == "Site"
    assert body["fields"][0]["value"].startswith('<a href="https://alice.example"')  # HTML, as Mastodon's
    assert body["source"]["fields"][0]["value"] == "https://alice.example"  # the text, for editing
    assert body["avatar"].startswith("http://fedigen.test/media/")
    assert body["header"].startswith("http://fedigen.test/media/") and body["header"] != body["avatar"]
    assert (await instance.client.get(body["avatar"].removeprefix("http://fedigen.test"))).status_code == 200
    # The actor document shows the new avatar, and followers got an Update of it.
    doc = (await instance.client.get("/users/alice", headers={"Accept": "application/activity+json"})).json()
    assert doc["icon"]["url"] == body["avatar"] and doc["name"] == "Alice A."
    await instance.drain()
    updates = [r.json for r in bob.server.posts() if r.json["type"] == "Update"]
    assert updates and updates[0]["object"]["icon"]["url"] == body["avatar"]
    # Profile images are not attachable uploads.
    async with svc.sessions() as session:
        alice_id = (await accounts.get_local(session, "alice")).id
        states = list(
            await session.scalars(select(MediaAttachment.state).where(MediaAttachment.account_id == alice_id))
        )
    assert states == ["profile", "profile"]


async def test_update_credentials_with_a_too_long_name_is_422_and_changes_nothing(
    instance: Instance, make_token: TokenMaker
) -> None:
    await instance.create_account("alice")
    response = await instance.client.patch(
        "/api/v1/accounts/update_credentials",
        headers=bearer(await make_token("alice")),
        data={"display_name": "x" * 31, "note": "changed"},
    )
    assert response.status_code == 422
    assert "display_name" in response.json()["error"]
    async with instance.services.sessions() as session:
        alice = await accounts.get_local(session, "alice")
    assert alice.display_name == "alice" and alice.summary == ""


async def test_update_credentials_with_a_non_image_avatar_is_422_and_stores_nothing(
    instance: Instance, make_token: TokenMaker
) -> None:
    await instance.create_account("alice")
    response = await instance.client.patch(
        "/api/v1/accounts/update_credentials",
        headers=bearer(await make_token("alice")),
        data={"display_name": "New"},
        files={"avatar": ("a.png", b"not an image at all", "image/png")},
    )
    assert response.status_code == 422 and "avatar" in response.json()["error"]
    assert await count(instance, MediaAttachment) == 0
    async with instance.services.sessions() as session:
        assert (await accounts.get_local(session, "alice")).display_name == "alice"


async def test_update_credentials_needs_write_accounts(instance: Instance, make_token: TokenMaker) -> None:
    await instance.create_account("alice")
    response = await instance.client.patch(
        "/api/v1/accounts/update_credentials",
        headers=bearer(await make_token("alice", "read")),
        data={"display_name": "New"},
    )
    assert response.status_code == 403


# ---- lookup and show ----


async def test_lookup_finds_local_and_stored_remote_accounts(instance: Instance, bob: RemoteActor) -> None:
    await instance.create_account("alice")
    async with instance.services.sessions() as session, session.begin():
        await instance.services.resolver.get_actor(bob.ap_id, session=session)
    for acct in ("alice", "@alice", "alice@fedigen.test"):
        response = await instance.client.get("/api/v1/accounts/lookup", params={"acct": acct})
        assert response.status_code == 200, acct
        assert response.json()["acct"] == "alice"
    remote = await instance.client.get("/api/v1/accounts/lookup", params={"acct": "bob@remote.test"})
    assert remote.json()["acct"] == "bob@remote.test" and remote.json()["url"] == "http://remote.test/@bob"
    missing = await instance.client.get("/api/v1/accounts/lookup", params={"acct": "nobody"})
    assert missing.status_code == 404 and missing.json() == {"error": "Record not found"}
    blank = await instance.client.get("/api/v1/accounts/lookup")
    assert blank.status_code == 422 and "acct" in blank.json()["error"]


async def test_show_an_account_and_404_for_unknown_ids(instance: Instance) -> None:
    await instance.create_account("alice")
    alice_id = await account_id(instance, "alice")
    await post(instance, "alice", "one")
    response = await instance.client.get(f"/api/v1/accounts/{alice_id}")
    assert response.status_code == 200
    assert ACCOUNT_FIELDS <= set(response.json()) and response.json()["statuses_count"] == 1
    for bad in ("999999", "abc", "1" * 30):
        assert (await instance.client.get(f"/api/v1/accounts/{bad}")).status_code == 404, bad


# ---- statuses, followers, following ----


async def test_account_statuses_are_paged_with_a_link_header(instance: Instance) -> None:
    await instance.create_account("alice")
    ids = [await post(instance, "alice", f"post {n}") for n in range(5)]
    alice_id = await account_id(instance, "alice")
    first = await instance.client.get(f"/api/v1/accounts/{alice_id}/statuses", params={"limit": 2})
    assert [s["id"] for s in first.json()] == [str(ids[4]), str(ids[3])]
    link = first.headers["link"]
    assert f"max_id={ids[3]}" in link and 'rel="next"' in link and f"min_id={ids[4]}" in link
    older = await instance.client.get(
        f"/api/v1/accounts/{alice_id}/statuses", params={"limit": 2, "max_id": ids[3]}
    )
    assert [s["id"] for s in older.json()] == [str(ids[2]), str(ids[1])]
    newer = await instance.client.get(
        f"/api/v1/accounts/{alice_id}/statuses", params={"min_id": ids[1], "limit": 2}
    )
    assert [s["id"] for s in newer.json()] == [str(ids[3]), str(ids[2])]
    pinned = await instance.client.get(f"/api/v1/accounts/{alice_id}/statuses", params={"pinned": "true"})
    assert pinned.json() == []
    bad = await instance.client.get(f"/api/v1/accounts/{alice_id}/statuses", params={"max_id": "x"})
    assert bad.status_code == 422 and "max_id" in bad.json()["error"]


async def test_followers_only_posts_are_shown_to_followers_only(
    instance: Instance, make_token: TokenMaker
) -> None:
    for name in ("alice", "fran", "stranger"):
        await instance.create_account(name)
    await follow(instance, "fran", "alice")
    public = await post(instance, "alice", "for all")
    private = await post(instance, "alice", "for followers", visibility="followers")
    path = f"/api/v1/accounts/{await account_id(instance, 'alice')}/statuses"

    async def seen(token: str | None) -> list[int]:
        response = await instance.client.get(path, headers=bearer(token) if token else {})
        return [int(s["id"]) for s in response.json()]

    assert await seen(None) == [public]
    assert await seen(await make_token("stranger")) == [public]
    assert await seen(await make_token("fran")) == [private, public]
    assert await seen(await make_token("alice")) == [private, public]


async def test_exclude_replies_and_only_media(instance: Instance) -> None:
    await instance.create_account("alice")
    first = await post(instance, "alice", "first")
    await post(instance, "alice", "a reply", in_reply_to_id=first)
    path = f"/api/v1/accounts/{await account_id(instance, 'alice')}/statuses"
    without = await instance.client.get(path, params={"exclude_replies": "true"})
    assert [int(s["id"]) for s in without.json()] == [first]
    media = await instance.client.get(path, params={"only_media": "1"})
    assert media.json() == []


async def test_followers_and_following_lists(instance: Instance) -> None:
    for name in ("alice", "fran", "gus"):
        await instance.create_account(name)
    await follow(instance, "fran", "alice")
    await follow(instance, "gus", "alice")
    await follow(instance, "alice", "gus")
    alice_id = await account_id(instance, "alice")
    followers = await instance.client.get(f"/api/v1/accounts/{alice_id}/followers", params={"limit": 1})
    assert [a["username"] for a in followers.json()] == ["gus"]
    assert 'rel="next"' in followers.headers["link"]
    next_url = followers.headers["link"].split(">")[0].lstrip("<")
    rest = await instance.client.get(next_url)
    assert [a["username"] for a in rest.json()] == ["fran"]
    following_list = await instance.client.get(f"/api/v1/accounts/{alice_id}/following")
    assert [a["username"] for a in following_list.json()] == ["gus"]
    assert ACCOUNT_FIELDS <= set(following_list.json()[0])
    async with instance.services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Actor)) >= 3
