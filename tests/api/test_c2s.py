"""ActivityPub client-to-server: media upload to ``endpoints.uploadMedia``, a bare Note posted to the
outbox with that image (delivered to a remote follower), the other activity types, and the inbox read
by its owner only."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import select

from fedigen.social import accounts
from storage.models import Block, Favourite, Follow, MediaAttachment, Status
from tests.api.conftest import TokenMaker, bearer
from tests.api.test_accounts import count, png, post
from tests.conftest import Instance
from tests.remote_actor import PUBLIC, RemoteActor

AS2 = "application/activity+json"
ALICE = "http://fedigen.test/users/alice"


async def to_outbox(
    instance: Instance, token: str, doc: dict[str, Any], user: str = "alice"
) -> httpx.Response:
    return await instance.client.post(
        f"/users/{user}/outbox", content=json.dumps(doc), headers={**bearer(token), "Content-Type": AS2}
    )


async def remote_follower(instance: Instance, bob: RemoteActor) -> None:
    """bob follows alice (his Follow goes through the inbox and is accepted)."""
    follow = bob.activity("Follow", ALICE)
    assert (await bob.post(instance.client, "/users/alice/inbox", follow)).status_code == 202
    await instance.drain()


async def test_the_actor_advertises_upload_and_oauth_endpoints(instance: Instance) -> None:
    await instance.create_account("alice")
    doc = (await instance.client.get("/users/alice", headers={"Accept": AS2})).json()
    assert doc["endpoints"]["uploadMedia"] == "http://fedigen.test/api/fedigen/upload"
    assert doc["endpoints"]["oauthAuthorizationEndpoint"] == "http://fedigen.test/oauth/authorize"
    assert doc["endpoints"]["oauthTokenEndpoint"] == "http://fedigen.test/oauth/token"


async def test_a_bare_note_with_an_uploaded_image_is_posted_and_delivered(
    instance: Instance, make_token: TokenMaker, bob: RemoteActor
) -> None:
    await instance.create_account("alice")
    await remote_follower(instance, bob)
    token = await make_token("alice")
    uploaded = await instance.client.post(
        "/api/fedigen/upload", headers=bearer(token),
        files={"file": ("sky.png", png((120, 80), "navy"), "image/png")},
        data={"object": json.dumps({"type": "Image", "name": "A navy sky"})},
    )  # fmt: skip
    assert uploaded.status_code == 201, uploaded.text
    image = uploaded.json()
    assert image["type"] == "Image" and image["name"] == "A navy sky"
    assert uploaded.headers["location"] == image["url"] and image["url"].startswith(
        "http://fedigen.test/media/"
    )
    note = {
        "@context": "https://www.w3.org/ns/activitystreams", "type": "Note", "content": "Evening #sky",
        "to": [PUBLIC], "cc": [f"{ALICE}/followers"], "attachment": [{"type": "Image", "url": image["url"]}],
    }  # fmt: skip
    response = await to_outbox(instance, token, note)
    assert response.status_code == 201, response.text
    location = response.headers["location"]
    assert location.startswith(f"{ALICE}/statuses/") and location.endswith("/activity")
    async with instance.services.sessions() as session:
        status = await session.scalar(select(Status).where(Status.local.is_(True)))
        media = await session.scalar(select(MediaAttachment).where(MediaAttachment.status_id == status.id))  # type: ignore[union-attr]
    assert status is not None and status.visibility == "public" and media is not None
    assert media.description == "A navy sky"
    # The Create dereferences at its Location, and reaches bob's server.
    fetched = await instance.client.get(location.removeprefix("http://fedigen.test"), headers={"Accept": AS2})
    assert fetched.json()["type"] == "Create"
    await instance.drain()
    creates = [r.json for r in bob.server.posts() if r.json.get("type") == "Create"]
    assert len(creates) == 1
    assert creates[0]["object"]["attachment"][0]["url"] == image["url"]
    assert creates[0]["object"]["attachment"][0]["name"] == "A navy sky"


async def test_an_attachment_that_is_not_ours_is_422_and_nothing_is_posted(
    instance: Instance, make_token: TokenMaker
) -> None:
    await instance.create_account("alice")
    token = await make_token("alice")
    note = {
        "type": "Note",
        "content": "hi",
        "attachment": [{"type": "Image", "url": "http://elsewhere.test/x.png"}],
    }
    response = await to_outbox(instance, token, note)
    assert response.status_code == 422 and "attachment" in response.json()["error"]
    assert await count(instance, Status) == 0


async def test_follow_like_announce_block_and_undo_through_the_outbox(
    instance: Instance, make_token: TokenMaker, bob: RemoteActor
) -> None:
    await instance.create_account("alice")
    await instance.create_account("gus")
    token = await make_token("alice")
    followed = await to_outbox(instance, token, {"type": "Follow", "object": bob.ap_id})
    assert followed.status_code == 201
    follow_id = followed.headers["location"]
    await instance.drain()
    assert [r.json["id"] for r in bob.server.posts() if r.json["type"] == "Follow"] == [follow_id]
    undone = await to_outbox(instance, token, {"type": "Undo", "object": follow_id})
    assert undone.status_code == 201 and await count(instance, Follow) == 0
    gus_post = await post(instance, "gus", "a picture")
    async with instance.services.sessions() as session:
        gus_note = (await session.get(Status, gus_post)).ap_id  # type: ignore[union-attr]
    liked = await to_outbox(instance, token, {"type": "Like", "object": gus_note})
    assert liked.status_code == 201 and await count(instance, Favourite) == 1
    boosted = await to_outbox(instance, token, {"type": "Announce", "object": gus_note})
    assert boosted.status_code == 201
    unliked = await to_outbox(
        instance, token, {"type": "Undo", "object": {"type": "Like", "object": gus_note}}
    )
    assert unliked.status_code == 201 and await count(instance, Favourite) == 0
    blocked = await to_outbox(instance, token, {"type": "Block", "object": "http://fedigen.test/users/gus"})
    assert blocked.status_code == 201 and await count(instance, Block) == 1


async def test_update_and_delete_of_own_note(instance: Instance, make_token: TokenMaker) -> None:
    await instance.create_account("alice")
    token = await make_token("alice")
    created = await to_outbox(instance, token, {"type": "Note", "content": "first draft"})
    note_id = created.headers["location"].removesuffix("/activity")
    updated = await to_outbox(
        instance, token, {"type": "Update", "object": {"id": note_id, "type": "Note", "content": "final"}}
    )
    assert updated.status_code == 201, updated.text
    async with instance.services.sessions() as session:
        status = await session.scalar(select(Status).where(Status.ap_id == note_id))
    assert status is not None and status.source_text == "final" and status.edited_at is not None
    deleted = await to_outbox(instance, token, {"type": "Delete", "object": note_id})
    assert deleted.status_code == 201 and deleted.headers["location"] == f"{note_id}#delete"
    renamed = await to_outbox(
        instance, token, {"type": "Update", "object": {"id": ALICE, "type": "Person", "name": "Al"}}
    )
    assert renamed.status_code == 201
    async with instance.services.sessions() as session:
        assert (await accounts.get_local(session, "alice")).display_name == "Al"


async def test_outbox_refusals_store_nothing(instance: Instance, make_token: TokenMaker) -> None:
    await instance.create_account("alice")
    await instance.create_account("eve")
    note = {"type": "Note", "content": "hello"}
    anonymous = await instance.client.post(
        "/users/alice/outbox", content=json.dumps(note), headers={"Content-Type": AS2}
    )
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Bearer")
    someone_else = await to_outbox(instance, await make_token("eve"), note)
    assert someone_else.status_code == 403
    read_only = await to_outbox(instance, await make_token("alice", "read"), note)
    assert read_only.status_code == 403
    token = await make_token("alice")
    unknown = await to_outbox(instance, token, {"type": "Dance", "object": "x"})
    assert unknown.status_code == 422 and "type" in unknown.json()["error"]
    impostor = await to_outbox(
        instance, token, {"type": "Create", "actor": "http://fedigen.test/users/eve", "object": note}
    )
    assert impostor.status_code == 403
    empty = await to_outbox(instance, token, {"type": "Note", "content": ""})
    assert empty.status_code == 422
    not_json = await instance.client.post(
        "/users/alice/outbox", content=b"{", headers={**bearer(token), "Content-Type": AS2}
    )
    assert not_json.status_code == 422
    assert await count(instance, Status) == 0


async def test_upload_refusals(instance: Instance, make_token: TokenMaker) -> None:
    await instance.create_account("alice")
    token = await make_token("alice")
    no_file = await instance.client.post("/api/fedigen/upload", headers=bearer(token), data={"object": "{}"})
    assert no_file.status_code == 422 and "file" in no_file.json()["error"]
    not_image = await instance.client.post(
        "/api/fedigen/upload", headers=bearer(token), files={"file": ("x.png", b"nope", "image/png")}
    )
    assert not_image.status_code == 422
    anonymous = await instance.client.post(
        "/api/fedigen/upload", files={"file": ("x.png", png(), "image/png")}
    )
    assert anonymous.status_code == 401
    assert await count(instance, MediaAttachment) == 0


async def test_the_inbox_is_readable_by_its_owner_only(
    instance: Instance, make_token: TokenMaker, bob: RemoteActor
) -> None:
    await instance.create_account("alice")
    await instance.create_account("eve")
    await remote_follower(instance, bob)
    note = bob.note("<p>Hi @alice</p>", mention=ALICE)
    assert (await bob.post(instance.client, "/inbox", bob.create(note))).status_code == 202
    await instance.drain()
    token = await make_token("alice")
    collection = await instance.client.get("/users/alice/inbox", headers=bearer(token))
    assert collection.status_code == 200 and collection.json()["type"] == "OrderedCollection"
    page = await instance.client.get(
        collection.json()["first"].removeprefix("http://fedigen.test"), headers=bearer(token)
    )
    kinds = [item["type"] for item in page.json()["orderedItems"]]
    assert kinds == ["Create", "Follow"]
    assert page.json()["orderedItems"][0]["object"]["id"] == note["id"]
    # eve sees nothing of alice's inbox, and her own holds nothing of alice's.
    eve = await make_token("eve")
    assert (await instance.client.get("/users/alice/inbox", headers=bearer(eve))).status_code == 403
    eves = await instance.client.get("/users/eve/inbox?page=true", headers=bearer(eve))
    assert eves.json()["orderedItems"] == []
    anonymous = await instance.client.get("/users/alice/inbox")
    assert anonymous.status_code == 401
