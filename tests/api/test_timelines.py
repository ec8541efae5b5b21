"""Timelines as Mastodon apps read them: home (follows, own posts, boosts), public, tag, bookmarks and
favourites, with Link headers and the max_id / since_id / min_id semantics, in a fixed number of
queries whatever the page size."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from sqlalchemy import event

from storage.models import Actor, Follow, MediaAttachment, Status
from tests.api.conftest import TokenMaker, bearer
from tests.conftest import Instance


@pytest.fixture
async def world(instance: Instance, make_token: TokenMaker) -> dict[str, Any]:
    """alice follows bob (local) and dan (remote); carol is followed by nobody."""
    ids: dict[str, Any] = {}
    for name in ("alice", "bob", "carol"):
        ids[name] = (await instance.create_account(name)).id
        ids[name[0]] = bearer(await make_token(name))
    async with instance.services.sessions() as session, session.begin():
        dan = Actor(ap_id="https://remote.test/users/dan", username="dan", domain="remote.test")
        session.add(dan)
        await session.flush()
        ids["dan"] = dan.id
        for followee in (ids["bob"], dan.id):
            session.add(Follow(follower_id=ids["alice"], followee_id=followee, state="accepted"))
    return ids


async def post(instance: Instance, headers: dict[str, str], text: str, **fields: Any) -> str:
    response = await instance.client.post(
        "/api/v1/statuses", json={"status": text, **fields}, headers=headers
    )
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


async def remote_post(instance: Instance, actor_id: int, n: int, **fields: Any) -> str:
    async with instance.services.sessions() as session, session.begin():
        row = Status(ap_id=f"https://remote.test/notes/{n}", actor_id=actor_id, content=f"<p>remote {n}</p>",
                     **fields)  # fmt: skip
        session.add(row)
        await session.flush()
        return str(row.id)


def links(response: Any) -> dict[str, str]:
    return {rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', response.headers.get("link", ""))}


def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [s["id"] for s in response.json()]


async def test_home_has_own_followed_and_boosted_posts(instance: Instance, world: dict[str, Any]) -> None:
    a, b, c = world["a"], world["b"], world["c"]
    mine = await post(instance, a, "mine")
    bobs = await post(instance, b, "bob's")
    carols = await post(instance, c, "carol's")
    followers_only = await post(instance, b, "for followers", visibility="private")
    dans = await remote_post(instance, world["dan"], 1)
    boost = (await instance.client.post(f"/api/v1/statuses/{carols}/reblog", headers=b)).json()
    home = await instance.client.get("/api/v1/timelines/home", headers=a)
    assert ids(home) == [boost["id"], dans, followers_only, bobs, mine]
    assert home.json()[0]["reblog"]["id"] == carols
    assert (await instance.client.get("/api/v1/timelines/home")).status_code == 401
    # carol follows nobody: only her own post.
    assert ids(await instance.client.get("/api/v1/timelines/home", headers=c)) == [carols]


async def test_pagination_by_max_since_and_min_id(instance: Instance, world: dict[str, Any]) -> None:
    posted = [await post(instance, world["a"], f"post {n}") for n in range(7)]  # oldest first
    newest_first = list(reversed(posted))
    url = "/api/v1/timelines/home"
    first = await instance.client.get(url, params={"limit": 3}, headers=world["a"])
    assert ids(first) == newest_first[:3]
    nav = links(first)
    assert set(nav) == {"next", "prev"}
    assert f"max_id={newest_first[2]}" in nav["next"] and "limit=3" in nav["next"]
    assert f"min_id={newest_first[0]}" in nav["prev"]
    second = await instance.client.get(nav["next"], headers=world["a"])
    assert ids(second) == newest_first[3:6]
    # since_id: the newest items after it; min_id: the items right after it (both newest first).
    since = await instance.client.get(url, params={"since_id": posted[1], "limit": 2}, headers=world["a"])
    assert ids(since) == [posted[6], posted[5]]
    after = await instance.client.get(url, params={"min_id": posted[1], "limit": 2}, headers=world["a"])
    assert ids(after) == [posted[3], posted[2]]
    empty = await instance.client.get(url, params={"min_id": posted[6]}, headers=world["a"])
    assert ids(empty) == [] and "link" not in empty.headers
    clamped = await instance.client.get(url, params={"limit": 1000}, headers=world["a"])
    assert len(ids(clamped)) == 7
    bad = await instance.client.get(url, params={"max_id": "abc"}, headers=world["a"])
    assert bad.status_code == 422 and "max_id" in bad.json()["error"]


async def test_public_timelines_local_remote_media_and_tags(
    instance: Instance, world: dict[str, Any]
) -> None:
    local = await post(instance, world["a"], "hello #Sunset")
    await post(instance, world["b"], "quiet", visibility="unlisted")
    await post(instance, world["b"], "secret", visibility="private")
    image = {"type": "Image", "url": "https://remote.test/a.png"}
    remote = await remote_post(instance, world["dan"], 2, visibility="public", attachments=[image])
    public = "/api/v1/timelines/public"
    assert ids(await instance.client.get(public)) == [remote, local]
    assert ids(await instance.client.get(public, params={"local": "true"})) == [local]
    assert ids(await instance.client.get(public, params={"remote": "true"})) == [remote]
    assert ids(await instance.client.get(public, params={"only_media": "true"})) == [remote]
    assert ids(await instance.client.get("/api/v1/timelines/tag/sunset")) == [local]
    assert ids(await instance.client.get("/api/v1/timelines/tag/SUNSET", headers=world["c"])) == [local]
    assert ids(await instance.client.get("/api/v1/timelines/tag/nothing")) == []


async def test_local_media_posts_count_as_media(instance: Instance, world: dict[str, Any]) -> None:
    await post(instance, world["a"], "text only")
    with_media = await post(instance, world["b"], "picture")
    async with instance.services.sessions() as session, session.begin():
        session.add(MediaAttachment(account_id=world["bob"], status_id=int(with_media)))
    only_media = await instance.client.get("/api/v1/timelines/public", params={"only_media": "1"})
    assert ids(only_media) == [with_media]


async def test_bookmarks_and_favourites_lists(instance: Instance, world: dict[str, Any]) -> None:
    posted = [await post(instance, world["b"], f"b{n}") for n in range(3)]
    for status_id in posted:
        await instance.client.post(f"/api/v1/statuses/{status_id}/bookmark", headers=world["a"])
    for status_id in reversed(posted):  # favourited newest first: the list follows favourite order
        await instance.client.post(f"/api/v1/statuses/{status_id}/favourite", headers=world["a"])
    marks = await instance.client.get("/api/v1/bookmarks", params={"limit": 2}, headers=world["a"])
    assert ids(marks) == [posted[2], posted[1]] and all(s["bookmarked"] for s in marks.json())
    assert ids(await instance.client.get(links(marks)["next"], headers=world["a"])) == [posted[0]]
    faves = await instance.client.get("/api/v1/favourites", headers=world["a"])
    assert ids(faves) == posted and all(s["favourited"] for s in faves.json())
    assert (await instance.client.get("/api/v1/bookmarks")).status_code == 401
    assert (await instance.client.get("/api/v1/bookmarks", headers=world["b"])).json() == []


async def test_home_page_costs_the_same_queries_whatever_its_length(
    instance: Instance, world: dict[str, Any]
) -> None:
    for n in range(12):
        await post(instance, world["b"] if n % 2 else world["a"], f"n{n}")
    if instance.services.pending:  # the tokens' first-use bookkeeping, written beside the requests
        await asyncio.wait(list(instance.services.pending))
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    engine = instance.services.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        await instance.client.get("/api/v1/timelines/home", params={"limit": 2}, headers=world["a"])
        small = len(statements)
        statements.clear()
        await instance.client.get("/api/v1/timelines/home", params={"limit": 12}, headers=world["a"])
        large = len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert large == small
