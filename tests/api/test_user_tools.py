"""Lists, per-user domain blocks, followed hashtags and statuses/:id/source through the client API."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from fedigen.api import streaming
from storage.clients import AccountDomainBlock, AccountList, ListAccount, TagFollow
from storage.models import Actor, Follow, Notification, Status
from tests.api.conftest import TokenMaker, bearer
from tests.api.test_accounts import account_id, count, follow
from tests.conftest import Instance
from tests.remote_actor import RemoteActor

LIST_FIELDS = {"id", "title", "replies_policy", "exclusive"}


async def post(instance: Instance, headers: dict[str, str], text: str, **fields: Any) -> str:
    response = await instance.client.post(
        "/api/v1/statuses", json={"status": text, **fields}, headers=headers
    )
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


async def home_ids(instance: Instance, headers: dict[str, str]) -> list[str]:
    response = await instance.client.get("/api/v1/timelines/home", headers=headers)
    assert response.status_code == 200, response.text
    return [s["id"] for s in response.json()]


async def people(instance: Instance, make_token: TokenMaker, *names: str) -> dict[str, dict[str, str]]:
    tokens = {}
    for name in names:
        await instance.create_account(name)
        tokens[name] = bearer(await make_token(name))
    return tokens


# ---- lists ----


async def test_lists_crud_members_and_validation(instance: Instance, make_token: TokenMaker) -> None:
    t = await people(instance, make_token, "alice", "gus", "hal", "ivy")
    await follow(instance, "alice", "gus")
    await follow(instance, "alice", "hal")
    gus, hal, ivy = [await account_id(instance, n) for n in ("gus", "hal", "ivy")]
    made = await instance.client.post("/api/v1/lists", json={"title": "Friends"}, headers=t["alice"])
    assert made.status_code == 200, made.text
    assert made.json() == {
        "id": made.json()["id"],
        "title": "Friends",
        "replies_policy": "list",
        "exclusive": False,
    }
    lid = made.json()["id"]
    for body in ({"title": " "}, {"title": "x", "replies_policy": "everyone"}):
        refused = await instance.client.post("/api/v1/lists", json=body, headers=t["alice"])
        assert refused.status_code == 422 and refused.json()["error"].startswith("Validation failed")
    changed = await instance.client.put(
        f"/api/v1/lists/{lid}",
        json={"title": "Pals", "replies_policy": "followed", "exclusive": True},
        headers=t["alice"],
    )
    assert changed.json() == {"id": lid, "title": "Pals", "replies_policy": "followed", "exclusive": True}
    assert [x["id"] for x in (await instance.client.get("/api/v1/lists", headers=t["alice"])).json()] == [lid]
    assert (await instance.client.get(f"/api/v1/lists/{lid}", headers=t["gus"])).status_code == 404
    assert (await instance.client.get("/api/v1/lists", headers=t["gus"])).json() == []
    # Only followed accounts: ivy is not followed, so nothing is added.
    refused = await instance.client.post(
        f"/api/v1/lists/{lid}/accounts", json={"account_ids": [gus, ivy]}, headers=t["alice"]
    )
    assert refused.status_code == 422 and "followed" in refused.json()["error"]
    assert await count(instance, ListAccount) == 0
    added = await instance.client.post(
        f"/api/v1/lists/{lid}/accounts", data={"account_ids[]": [gus, hal]}, headers=t["alice"]
    )
    assert added.status_code == 200 and added.json() == {}
    twice = await instance.client.post(
        f"/api/v1/lists/{lid}/accounts", json={"account_ids": [gus]}, headers=t["alice"]
    )
    assert twice.status_code == 422 and "already" in twice.json()["error"]
    members = await instance.client.get(f"/api/v1/lists/{lid}/accounts", headers=t["alice"])
    assert sorted(a["id"] for a in members.json()) == sorted([gus, hal])
    assert "link" in members.headers
    of_gus = await instance.client.get(f"/api/v1/accounts/{gus}/lists", headers=t["alice"])
    assert [x["id"] for x in of_gus.json()] == [lid] and set(of_gus.json()[0]) == LIST_FIELDS
    removed = await instance.client.request(
        "DELETE", f"/api/v1/lists/{lid}/accounts", params={"account_ids[]": hal}, headers=t["alice"]
    )
    assert removed.status_code == 200
    members = await instance.client.get(
        f"/api/v1/lists/{lid}/accounts", params={"limit": 0}, headers=t["alice"]
    )
    assert [a["id"] for a in members.json()] == [gus]
    # Scopes.
    reader = bearer(await make_token("alice", "read:lists"))
    assert (await instance.client.get("/api/v1/lists", headers=reader)).status_code == 200
    assert (
        await instance.client.post("/api/v1/lists", json={"title": "x"}, headers=reader)
    ).status_code == 403
    writer = bearer(await make_token("alice", "write:lists"))
    assert (await instance.client.get(f"/api/v1/timelines/list/{lid}", headers=writer)).status_code == 403
    assert (await instance.client.delete(f"/api/v1/lists/{lid}", headers=writer)).json() == {}
    assert await count(instance, AccountList) == 0 and await count(instance, ListAccount) == 0


async def test_list_timeline_replies_policy_and_exclusive_lists(
    instance: Instance, make_token: TokenMaker
) -> None:
    t = await people(instance, make_token, "alice", "gus", "hal", "ivy")
    for name in ("gus", "hal", "ivy"):
        await follow(instance, "alice", name)
    gus, hal = await account_id(instance, "gus"), await account_id(instance, "hal")
    lid = (await instance.client.post("/api/v1/lists", json={"title": "L"}, headers=t["alice"])).json()["id"]
    await instance.client.post(
        f"/api/v1/lists/{lid}/accounts", json={"account_ids": [gus, hal]}, headers=t["alice"]
    )
    by_gus = await post(instance, t["gus"], "from gus")
    by_ivy = await post(instance, t["ivy"], "from ivy")
    reply_to_hal = await post(
        instance, t["gus"], "to hal", in_reply_to_id=await post(instance, t["hal"], "hal")
    )
    reply_to_ivy = await post(instance, t["gus"], "to ivy", in_reply_to_id=by_ivy)
    self_reply = await post(instance, t["gus"], "more", in_reply_to_id=by_gus)

    async def timeline() -> list[str]:
        response = await instance.client.get(f"/api/v1/timelines/list/{lid}", headers=t["alice"])
        assert response.status_code == 200, response.text
        return [s["id"] for s in response.json()]

    shown = await timeline()
    assert by_gus in shown and by_ivy not in shown and reply_to_hal in shown and self_reply in shown
    assert reply_to_ivy not in shown  # "list": replies to members only
    await instance.client.put(f"/api/v1/lists/{lid}", json={"replies_policy": "followed"}, headers=t["alice"])
    assert reply_to_ivy in await timeline()
    await instance.client.put(f"/api/v1/lists/{lid}", json={"replies_policy": "none"}, headers=t["alice"])
    shown = await timeline()
    assert reply_to_hal not in shown and reply_to_ivy not in shown and self_reply in shown
    # An exclusive list's members leave the home timeline.
    assert by_gus in await home_ids(instance, t["alice"])
    await instance.client.put(f"/api/v1/lists/{lid}", json={"exclusive": True}, headers=t["alice"])
    home = await home_ids(instance, t["alice"])
    assert by_gus not in home and by_ivy in home
    assert (await instance.client.get(f"/api/v1/timelines/list/{lid}", headers=t["gus"])).status_code == 404


async def test_list_stream(instance: Instance, make_token: TokenMaker) -> None:
    t = await people(instance, make_token, "alice", "gus", "ivy")
    await follow(instance, "alice", "gus")
    await follow(instance, "alice", "ivy")
    lid = (await instance.client.post("/api/v1/lists", json={"title": "L"}, headers=t["alice"])).json()["id"]
    gus = await account_id(instance, "gus")
    await instance.client.post(
        f"/api/v1/lists/{lid}/accounts", json={"account_ids": [gus]}, headers=t["alice"]
    )
    async with instance.services.sessions() as session:
        viewer = await session.scalar(select(Actor).where(Actor.username == "alice"))
        conn = streaming.Connection(viewer, frozenset({"read"}))
        assert conn.subscribe("list", None, None) == "No list for stream provided"
        assert conn.subscribe("list", None, lid) is None
        await streaming.start(session, conn)
    await post(instance, t["ivy"], "not on the list")
    listed = await post(instance, t["gus"], "on the list")
    async with instance.services.sessions() as session:
        messages = [json.loads(m) for m in await streaming.poll(instance.services, session, conn)]
    assert [(m["stream"], json.loads(m["payload"])["id"]) for m in messages] == [(["list", lid], listed)]


# ---- domain blocks ----


async def test_domain_block_severs_follows_both_ways_and_hides_the_domain(
    instance: Instance, make_token: TokenMaker, bob: RemoteActor
) -> None:
    t = await people(instance, make_token, "alice")
    found = await instance.client.get(
        "/api/v2/search",
        params={"q": "@bob@remote.test", "resolve": "true", "type": "accounts"},
        headers=t["alice"],
    )
    bob_id = found.json()["accounts"][0]["id"]
    await instance.client.post(f"/api/v1/accounts/{bob_id}/follow", headers=t["alice"])
    await instance.drain()
    [sent_follow] = [r.json for r in bob.server.posts() if r.json.get("type") == "Follow"]
    accept = bob.activity("Accept", {k: v for k, v in sent_follow.items() if k != "@context"})
    assert (await bob.post(instance.client, "/users/alice/inbox", accept)).status_code == 202
    their_follow = bob.activity("Follow", "http://fedigen.test/users/alice")
    assert (await bob.post(instance.client, "/users/alice/inbox", their_follow)).status_code == 202
    note = bob.note("<p>hello from bob</p>")
    assert (await bob.post(instance.client, "/users/alice/inbox", bob.create(note))).status_code == 202
    await instance.drain()
    assert await count(instance, Follow) == 2
    async with instance.services.sessions() as session:
        bob_status = str(await session.scalar(select(Status.id).where(Status.ap_id == note["id"])))
    assert bob_status in await home_ids(instance, t["alice"])
    assert await count(instance, Notification, Notification.from_actor_id == int(bob_id)) == 1  # the follow
    before = len(bob.server.posts())

    blocked = await instance.client.post(
        "/api/v1/domain_blocks", data={"domain": "Remote.Test"}, headers=t["alice"]
    )
    assert blocked.status_code == 200 and blocked.json() == {}
    await instance.drain()
    assert await count(instance, Follow) == 0
    sent = [r.json for r in bob.server.posts()[before:]]
    undo = [a for a in sent if a.get("type") == "Undo"]
    assert undo and undo[0]["object"]["type"] == "Follow" and undo[0]["object"]["object"] == bob.ap_id
    reject = [a for a in sent if a.get("type") == "Reject"]
    assert reject and reject[0]["object"]["actor"] == bob.ap_id
    assert await count(instance, Notification, Notification.from_actor_id == int(bob_id)) == 0
    assert bob_status not in await home_ids(instance, t["alice"])
    public = await instance.client.get("/api/v1/timelines/public", headers=t["alice"])
    assert bob_status not in [s["id"] for s in public.json()]
    assert bob_status in [s["id"] for s in (await instance.client.get("/api/v1/timelines/public")).json()]
    relationship = await instance.client.get(
        "/api/v1/accounts/relationships", params={"id[]": bob_id}, headers=t["alice"]
    )
    assert relationship.json()[0]["domain_blocking"] is True
    # A favourite from the blocked domain notifies nobody.
    mine = await post(instance, t["alice"], "mine")
    async with instance.services.sessions() as session:
        mine_ap_id = await session.scalar(select(Status.ap_id).where(Status.id == int(mine)))
    again = bob.activity("Like", mine_ap_id)
    assert (await bob.post(instance.client, "/users/alice/inbox", again)).status_code == 202
    await instance.drain()
    assert await count(instance, Notification, Notification.from_actor_id == int(bob_id)) == 0
    listed = await instance.client.get("/api/v1/domain_blocks", headers=t["alice"])
    assert listed.json() == ["remote.test"]
    unblocked = await instance.client.request(
        "DELETE", "/api/v1/domain_blocks", params={"domain": "remote.test"}, headers=t["alice"]
    )
    assert unblocked.status_code == 200
    assert await count(instance, AccountDomainBlock) == 0
    public = await instance.client.get("/api/v1/timelines/public", headers=t["alice"])
    assert bob_status in [s["id"] for s in public.json()]
    relationship = await instance.client.get(
        "/api/v1/accounts/relationships", params={"id[]": bob_id}, headers=t["alice"]
    )
    assert relationship.json()[0]["domain_blocking"] is False


async def test_domain_blocks_validation_pages_and_scopes(instance: Instance, make_token: TokenMaker) -> None:
    t = await people(instance, make_token, "alice")
    for bad in ("", "not a domain", "fedigen.test"):
        refused = await instance.client.post(
            "/api/v1/domain_blocks", data={"domain": bad}, headers=t["alice"]
        )
        assert refused.status_code == 422, bad
    assert await count(instance, AccountDomainBlock) == 0
    for n in range(3):
        await instance.client.post(
            "/api/v1/domain_blocks", data={"domain": f"d{n}.example"}, headers=t["alice"]
        )
    first = await instance.client.get("/api/v1/domain_blocks", params={"limit": 2}, headers=t["alice"])
    assert first.json() == ["d2.example", "d1.example"]
    next_url = first.headers["link"].split(">")[0].lstrip("<")
    rest = await instance.client.get(next_url, headers=t["alice"])
    assert rest.json() == ["d0.example"]
    reader = bearer(await make_token("alice", "read:blocks"))
    assert (await instance.client.get("/api/v1/domain_blocks", headers=reader)).status_code == 200
    denied = await instance.client.post("/api/v1/domain_blocks", data={"domain": "x.example"}, headers=reader)
    assert denied.status_code == 403


# ---- followed hashtags ----


async def test_followed_hashtags_reach_the_home_timeline(instance: Instance, make_token: TokenMaker) -> None:
    t = await people(instance, make_token, "alice", "gus")
    tagged = await post(instance, t["gus"], "hello #Fedigen")
    untagged = await post(instance, t["gus"], "hello")
    shown = await instance.client.get("/api/v1/tags/fedigen", headers=t["alice"])
    assert shown.json()["name"] == "fedigen" and shown.json()["following"] is False
    assert "following" not in (await instance.client.get("/api/v1/tags/fedigen")).json()
    followed = await instance.client.post("/api/v1/tags/FediGen/follow", headers=t["alice"])
    assert followed.status_code == 200 and followed.json()["following"] is True
    assert (await instance.client.get("/api/v1/tags/fedigen", headers=t["alice"])).json()["following"] is True
    home = await home_ids(instance, t["alice"])
    assert tagged in home and untagged not in home
    unlisted = await post(instance, t["gus"], "quiet #fedigen", visibility="unlisted")
    assert unlisted not in await home_ids(instance, t["alice"])
    listed = await instance.client.get("/api/v1/followed_tags", headers=t["alice"])
    assert [x["name"] for x in listed.json()] == ["fedigen"] and listed.json()[0]["following"] is True
    assert (await instance.client.post("/api/v1/tags/no%20tag/follow", headers=t["alice"])).status_code == 404
    reader = bearer(await make_token("alice", "read:follows"))
    assert (await instance.client.post("/api/v1/tags/x/follow", headers=reader)).status_code == 403
    unfollowed = await instance.client.post("/api/v1/tags/fedigen/unfollow", headers=t["alice"])
    assert unfollowed.json()["following"] is False
    assert await count(instance, TagFollow) == 0
    assert tagged not in await home_ids(instance, t["alice"])


# ---- status source ----


async def test_status_source_is_the_authors_own(instance: Instance, make_token: TokenMaker) -> None:
    t = await people(instance, make_token, "alice", "gus")
    status_id = await post(instance, t["alice"], "plain *text* #tag", spoiler_text="cw")
    source = await instance.client.get(f"/api/v1/statuses/{status_id}/source", headers=t["alice"])
    assert source.json() == {"id": status_id, "text": "plain *text* #tag", "spoiler_text": "cw"}
    assert (
        await instance.client.get(f"/api/v1/statuses/{status_id}/source", headers=t["gus"])
    ).status_code == 404
    assert (await instance.client.get("/api/v1/statuses/999/source", headers=t["alice"])).status_code == 404
    assert (await instance.client.get(f"/api/v1/statuses/{status_id}/source")).status_code == 401


async def test_after_a_domain_block_follows_are_refused_both_ways_and_boosts_of_it_are_hidden(
    instance: Instance, make_token: TokenMaker, bob: RemoteActor
) -> None:
    t = await people(instance, make_token, "alice", "gus")
    await follow(instance, "alice", "gus")
    found = await instance.client.get(
        "/api/v2/search",
        params={"q": "@bob@remote.test", "resolve": "true", "type": "accounts"},
        headers=t["alice"],
    )
    bob_id = found.json()["accounts"][0]["id"]
    async with instance.services.sessions() as session, session.begin():
        row = Status(
            ap_id=f"{bob.ap_id}/statuses/1", actor_id=int(bob_id), content="<p>boosted from afar</p>"
        )
        session.add(row)
        await session.flush()
        remote_status = row.id
    boost = await instance.client.post(f"/api/v1/statuses/{remote_status}/reblog", headers=t["gus"])
    assert boost.status_code == 200, boost.text
    assert boost.json()["id"] in await home_ids(instance, t["alice"])
    await instance.client.post("/api/v1/domain_blocks", data={"domain": "remote.test"}, headers=t["alice"])
    assert boost.json()["id"] not in await home_ids(instance, t["alice"])
    # alice cannot follow bob; bob's Follow is answered with Reject and stores nothing.
    refused = await instance.client.post(f"/api/v1/accounts/{bob_id}/follow", headers=t["alice"])
    assert refused.status_code == 403
    before = len(bob.server.posts())
    their_follow = bob.activity("Follow", "http://fedigen.test/users/alice")
    assert (await bob.post(instance.client, "/users/alice/inbox", their_follow)).status_code == 202
    await instance.drain()
    assert await count(instance, Follow, Follow.follower_id == int(bob_id)) == 0
    answers = [r.json["type"] for r in bob.server.posts()[before:] if r.json["type"] in ("Accept", "Reject")]
    assert answers == ["Reject"]


async def test_followed_hashtag_posts_page_with_the_home_timeline_and_stream(
    instance: Instance, make_token: TokenMaker
) -> None:
    t = await people(instance, make_token, "alice", "gus", "ivy")
    await follow(instance, "alice", "gus")
    await instance.client.post("/api/v1/tags/art/follow", headers=t["alice"])
    expected = []
    for n in range(3):
        expected.append(await post(instance, t["gus"], f"followed {n} #art"))  # in both: shown once
        expected.append(await post(instance, t["ivy"], f"tagged {n} #art"))
        await post(instance, t["ivy"], f"untagged {n}")
    expected.reverse()
    seen: list[str] = []
    params: dict[str, str] = {"limit": "2"}
    while True:
        response = await instance.client.get("/api/v1/timelines/home", params=params, headers=t["alice"])
        page = [s["id"] for s in response.json()]
        if not page:
            break
        seen += page
        params = {"limit": "2", "max_id": page[-1]}
    assert seen == expected
    newer = await instance.client.get(
        "/api/v1/timelines/home", params={"min_id": expected[-1], "limit": "2"}, headers=t["alice"]
    )
    assert [s["id"] for s in newer.json()] == expected[-3:-1]
    async with instance.services.sessions() as session:
        viewer = await session.scalar(select(Actor).where(Actor.username == "alice"))
        conn = streaming.Connection(viewer, frozenset({"read"}))
        assert conn.subscribe("user", None) is None
        await streaming.start(session, conn)
    await post(instance, t["ivy"], "no tag")
    streamed = await post(instance, t["ivy"], "streamed #Art")
    async with instance.services.sessions() as session:
        messages = [json.loads(m) for m in await streaming.poll(instance.services, session, conn)]
    assert [json.loads(m["payload"])["id"] for m in messages if m["event"] == "update"] == [streamed]
