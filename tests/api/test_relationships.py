"""Follow, unfollow, block, mute and their lists through the client API; the Relationship entity; follow
requests; and a remote account found by search, followed, and accepting."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from storage.clients import Mute
from storage.models import Block, Follow
from tests.api.conftest import TokenMaker, bearer
from tests.api.test_accounts import account_id, count, follow
from tests.conftest import Instance
from tests.remote_actor import RemoteActor

# https://docs.joinmastodon.org/entities/Relationship/
RELATIONSHIP_FIELDS = {
    "id", "following", "showing_reblogs", "notifying", "languages", "followed_by", "blocking", "blocked_by",
    "muting", "muting_notifications", "requested", "requested_by", "domain_blocking", "endorsed", "note",
}  # fmt: skip


async def setup(instance: Instance, make_token: TokenMaker, *names: str) -> str:
    for name in ("alice", *names):
        await instance.create_account(name)
    return await make_token("alice")


async def test_search_resolves_a_remote_account_and_following_it_sends_follow(
    instance: Instance, make_token: TokenMaker, bob: RemoteActor
) -> None:
    token = await setup(instance, make_token)
    found = await instance.client.get(
        "/api/v2/search", params={"q": "@bob@remote.test", "resolve": "true", "type": "accounts"},
        headers=bearer(token),
    )  # fmt: skip
    assert found.status_code == 200, found.text
    [bob_entity] = found.json()["accounts"]
    assert bob_entity["acct"] == "bob@remote.test"
    response = await instance.client.post(
        f"/api/v1/accounts/{bob_entity['id']}/follow", headers=bearer(token)
    )
    assert response.status_code == 200, response.text
    relationship = response.json()
    assert RELATIONSHIP_FIELDS <= set(relationship)
    assert relationship["requested"] is True and relationship["following"] is False
    await instance.drain()
    follows = [r.json for r in bob.server.posts() if r.json.get("type") == "Follow"]
    assert len(follows) == 1 and follows[0]["object"] == bob.ap_id
    assert follows[0]["actor"] == "http://fedigen.test/users/alice"
    # bob accepts: the relationship becomes "following".
    accept = bob.activity("Accept", {k: v for k, v in follows[0].items() if k != "@context"})
    assert (await bob.post(instance.client, "/users/alice/inbox", accept)).status_code == 202
    await instance.drain()
    shown = await instance.client.get(
        "/api/v1/accounts/relationships", params={"id[]": bob_entity["id"]}, headers=bearer(token)
    )
    assert shown.json()[0]["following"] is True and shown.json()[0]["requested"] is False
    # Unfollowing sends Undo{Follow}.
    undone = await instance.client.post(
        f"/api/v1/accounts/{bob_entity['id']}/unfollow", headers=bearer(token)
    )
    assert undone.json()["following"] is False
    await instance.drain()
    assert any(r.json.get("type") == "Undo" for r in bob.server.posts())


async def test_following_a_local_account_is_immediate_and_relationships_show_both_ways(
    instance: Instance, make_token: TokenMaker
) -> None:
    token = await setup(instance, make_token, "gus")
    gus = await account_id(instance, "gus")
    response = await instance.client.post(f"/api/v1/accounts/{gus}/follow", headers=bearer(token))
    assert response.json()["following"] is True
    await follow(instance, "gus", "alice")
    shown = await instance.client.get(
        "/api/v1/accounts/relationships", params=[("id[]", gus), ("id[]", "999999"), ("id[]", "x")],
        headers=bearer(token),
    )  # fmt: skip
    assert [r["id"] for r in shown.json()] == [gus]
    assert shown.json()[0]["followed_by"] is True
    again = await instance.client.post(f"/api/v1/accounts/{gus}/unfollow", headers=bearer(token))
    assert again.json()["following"] is False and again.json()["followed_by"] is True


async def test_following_yourself_is_422_and_unknown_accounts_404(
    instance: Instance, make_token: TokenMaker
) -> None:
    token = await setup(instance, make_token)
    alice = await account_id(instance, "alice")
    myself = await instance.client.post(f"/api/v1/accounts/{alice}/follow", headers=bearer(token))
    assert myself.status_code == 422 and "account" in myself.json()["error"]
    missing = await instance.client.post("/api/v1/accounts/424242/follow", headers=bearer(token))
    assert missing.status_code == 404
    assert await count(instance, Follow) == 0


async def test_following_needs_a_token_with_the_follow_scope(
    instance: Instance, make_token: TokenMaker
) -> None:
    await setup(instance, make_token, "gus")
    gus = await account_id(instance, "gus")
    anonymous = await instance.client.post(f"/api/v1/accounts/{gus}/follow")
    assert anonymous.status_code == 401 and "www-authenticate" in anonymous.headers
    read_only = await instance.client.post(
        f"/api/v1/accounts/{gus}/follow", headers=bearer(await make_token("alice", "read"))
    )
    assert read_only.status_code == 403
    legacy = await instance.client.post(
        f"/api/v1/accounts/{gus}/follow", headers=bearer(await make_token("alice", "follow"))
    )
    assert legacy.status_code == 200
    assert await count(instance, Follow) == 1


async def test_follow_requests_to_a_locked_account_are_listed_and_answered(
    instance: Instance, make_token: TokenMaker
) -> None:
    await instance.create_account("alice", locked=True)
    for name in ("fran", "gus"):
        await instance.create_account(name)
        await follow(instance, name, "alice")
    token = await make_token("alice")
    listed = await instance.client.get("/api/v1/follow_requests", headers=bearer(token))
    assert [a["username"] for a in listed.json()] == ["gus", "fran"]
    fran, gus = await account_id(instance, "fran"), await account_id(instance, "gus")
    approved = await instance.client.post(f"/api/v1/follow_requests/{fran}/authorize", headers=bearer(token))
    assert approved.status_code == 200 and approved.json()["followed_by"] is True
    rejected = await instance.client.post(f"/api/v1/follow_requests/{gus}/reject", headers=bearer(token))
    assert rejected.json()["followed_by"] is False and rejected.json()["requested_by"] is False
    again = await instance.client.post(f"/api/v1/follow_requests/{gus}/authorize", headers=bearer(token))
    assert again.status_code == 404
    assert (await instance.client.get("/api/v1/follow_requests", headers=bearer(token))).json() == []


async def test_blocking_ends_follows_both_ways_and_is_listed(
    instance: Instance, make_token: TokenMaker, bob: RemoteActor
) -> None:
    token = await setup(instance, make_token, "gus")
    gus = await account_id(instance, "gus")
    await follow(instance, "gus", "alice")
    await follow(instance, "alice", "gus")
    blocked = await instance.client.post(f"/api/v1/accounts/{gus}/block", headers=bearer(token))
    body: dict[str, Any] = blocked.json()
    assert body["blocking"] is True and body["following"] is False and body["followed_by"] is False
    assert await count(instance, Follow) == 0
    listed = await instance.client.get("/api/v1/blocks", headers=bearer(token))
    assert [a["username"] for a in listed.json()] == ["gus"]
    refused = await instance.client.post(f"/api/v1/accounts/{gus}/follow", headers=bearer(token))
    assert refused.status_code == 403 and await count(instance, Follow) == 0
    unblocked = await instance.client.post(f"/api/v1/accounts/{gus}/unblock", headers=bearer(token))
    assert unblocked.json()["blocking"] is False and await count(instance, Block) == 0


async def test_blocking_a_remote_account_sends_block_and_unblocking_sends_undo(
    instance: Instance, make_token: TokenMaker, bob: RemoteActor
) -> None:
    token = await setup(instance, make_token)
    async with instance.services.sessions() as session, session.begin():
        remote_bob = await instance.services.resolver.get_actor(bob.ap_id, session=session)
        bob_id = remote_bob.id
    await instance.client.post(f"/api/v1/accounts/{bob_id}/block", headers=bearer(token))
    await instance.client.post(f"/api/v1/accounts/{bob_id}/unblock", headers=bearer(token))
    await instance.drain()
    kinds = [r.json["type"] for r in bob.server.posts()]
    assert kinds == ["Block", "Undo"]
    assert [r.json for r in bob.server.posts()][1]["object"]["type"] == "Block"


async def test_muting_with_a_duration_and_without_notifications(
    instance: Instance, make_token: TokenMaker
) -> None:
    token = await setup(instance, make_token, "gus")
    gus = await account_id(instance, "gus")
    muted = await instance.client.post(
        f"/api/v1/accounts/{gus}/mute", json={"notifications": False, "duration": 3600}, headers=bearer(token)
    )
    assert muted.status_code == 200
    assert muted.json()["muting"] is True and muted.json()["muting_notifications"] is False
    async with instance.services.sessions() as session:
        row = await session.scalar(select(Mute))
    assert row is not None and row.expires_at is not None
    listed = await instance.client.get("/api/v1/mutes", headers=bearer(token))
    assert [a["username"] for a in listed.json()] == ["gus"]
    bad = await instance.client.post(
        f"/api/v1/accounts/{gus}/mute", data={"duration": "soon"}, headers=bearer(token)
    )
    assert bad.status_code == 422 and "duration" in bad.json()["error"]
    unmuted = await instance.client.post(f"/api/v1/accounts/{gus}/unmute", headers=bearer(token))
    assert unmuted.json()["muting"] is False and await count(instance, Mute) == 0


async def test_lists_need_their_read_scopes(instance: Instance, make_token: TokenMaker) -> None:
    await setup(instance, make_token)
    token = await make_token("alice", "read:statuses")
    for path in (
        "/api/v1/blocks",
        "/api/v1/mutes",
        "/api/v1/follow_requests",
        "/api/v1/accounts/relationships",
    ):
        assert (await instance.client.get(path, headers=bearer(token))).status_code == 403, path
