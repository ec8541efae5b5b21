"""Timelines render from Core rows and the ``status_counts`` counters: the JSON is byte for byte what the
row-by-row ORM rendering gives for the same data, and the counters stay what counting the rows gives,
through favourites, boosts, replies, remixes, their undoing, deletions and deleted accounts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from activitypub.emoji import RemoteEmoji
from activitypub.notes import RemoteNote, RemotePoll
from fedigen.api import page_rows, status_entities
from fedigen.api.pagination import Page
from fedigen.social import account_moderation, accounts, counts, remote_posts, tags, timelines
from storage.models import Actor, Follow, Status, StatusCount, utcnow
from storage.vocabulary import Visibility
from tests.api.conftest import TokenMaker, bearer
from tests.conftest import Instance

REMOTE = "https://remote.test"


def note(n: int, **fields: Any) -> RemoteNote:
    values: dict[str, Any] = {
        "ap_id": f"{REMOTE}/notes/{n}", "ap_type": "Note", "url": f"{REMOTE}/@dan/{n}",
        "content": f"<p>note {n}</p>", "summary": "", "sensitive": False, "visibility": Visibility.PUBLIC,
        "language": "en", "in_reply_to_ap_id": None, "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": [], "tags": [], "attachments": [], "published": datetime(2026, 11, n, tzinfo=UTC),
        "edited_at": None, "generation": {}, "quote_of": None, "hashtags": [], "mentions": [],
    }  # fmt: skip
    values.update(fields)
    return RemoteNote(**values)


async def remote_actor(instance: Instance, name: str) -> int:
    async with instance.services.sessions() as session, session.begin():
        actor = Actor(ap_id=f"{REMOTE}/users/{name}", username=name, domain="remote.test",
                      inbox_url=f"{REMOTE}/users/{name}/inbox", display_name=name.title())  # fmt: skip
        session.add(actor)
        await session.flush()
        return actor.id


async def store(instance: Instance, author_id: int, remote: RemoteNote) -> int:
    async with instance.services.sessions() as session, session.begin():
        author = await session.get(Actor, author_id)
        assert author is not None
        return (await remote_posts.store_remote(instance.services, session, author, remote)).id


@pytest.fixture
async def world(instance: Instance, make_token: TokenMaker) -> dict[str, Any]:
    """A rich remote post by dan (media, poll, mention, hashtag, custom emoji, content warning) that
    alice and bob favourite and boost, alice bookmarks, replies to, and erin remixes; alice's own pinned
    post. alice follows bob and dan."""
    w: dict[str, Any] = {}
    for name in ("alice", "bob"):
        w[name] = (await instance.create_account(name)).id
        w[name[0]] = bearer(await make_token(name))
    w["dan"], w["erin"] = await remote_actor(instance, "dan"), await remote_actor(instance, "erin")
    async with instance.services.sessions() as session, session.begin():
        for followee in (w["bob"], w["dan"]):
            session.add(Follow(follower_id=w["alice"], followee_id=followee, state="accepted"))
    alice_ap_id = instance.settings.base_url + "/users/alice"
    rich = note(
        1, content='<p>Hi <a href="x">@alice</a> :blob: <a href="y">#Sunset</a></p>', summary="spoilers",
        sensitive=True, attachments=[{"type": "Image", "url": f"{REMOTE}/a.png", "mediaType": "image/png",
                                      "name": "a red sky", "width": 64, "height": 48}],
        tags=[{"type": "Hashtag", "name": "#Sunset", "href": f"{REMOTE}/tags/sunset"},
              {"type": "Mention", "href": alice_ap_id, "name": "@alice"}],
        hashtags=["sunset"], mentions=[alice_ap_id],
        emojis=(RemoteEmoji("blob", f"{REMOTE}/emoji/blob.png", f"{REMOTE}/emoji/blob"),),
        poll=RemotePoll(["yes", "no"], [3, 1], False, datetime(2030, 1, 1, tzinfo=UTC), None),
    )  # fmt: skip
    w["rich"] = await store(instance, w["dan"], rich)
    remix = note(2, generation={"prompt": "in snow", "model": "standin"}, quote_of=rich.ap_id,
                 in_reply_to_ap_id=rich.ap_id, content="<p>my remix</p>")  # fmt: skip
    w["remix"] = await store(instance, w["erin"], remix)
    client, rich_id = instance.client, w["rich"]
    for who in ("a", "b"):
        assert (await client.post(f"/api/v1/statuses/{rich_id}/favourite", headers=w[who])).status_code == 200
        assert (await client.post(f"/api/v1/statuses/{rich_id}/reblog", headers=w[who])).status_code == 200
    # bob takes his favourite back and gives it again: still one.
    await client.post(f"/api/v1/statuses/{rich_id}/unfavourite", headers=w["b"])
    await client.post(f"/api/v1/statuses/{rich_id}/favourite", headers=w["b"])
    await client.post(f"/api/v1/statuses/{rich_id}/bookmark", headers=w["a"])
    reply = await client.post("/api/v1/statuses", json={"status": "@dan@remote.test nice", "in_reply_to_id":
                                                        str(rich_id)}, headers=w["a"])  # fmt: skip
    w["reply"] = int(reply.json()["id"])
    gone = await client.post("/api/v1/statuses", json={"status": "oops", "in_reply_to_id": str(rich_id)},
                             headers=w["b"])  # fmt: skip
    assert (await client.delete(f"/api/v1/statuses/{gone.json()['id']}", headers=w["b"])).status_code == 200
    own = await client.post("/api/v1/statuses", json={"status": "mine, pinned"}, headers=w["a"])
    w["own"] = int(own.json()["id"])
    assert (await client.post(f"/api/v1/statuses/{w['own']}/pin", headers=w["a"])).status_code == 200
    return w


async def truth(instance: Instance) -> dict[int, counts.Counts]:
    """Every status's counters counted from the rows, as the migration fills them."""
    async with instance.services.sessions() as session:
        ids = list(await session.scalars(select(Status.id)))
        found = await counts._counted(session, ids)
    return {i: counts.Counts(**found[i]) for i in ids if i in found}


async def stored(instance: Instance) -> dict[int, counts.Counts]:
    async with instance.services.sessions() as session:
        rows = await session.scalars(select(StatusCount))
        return {r.status_id: counts.Counts(r.favourites, r.reblogs, r.replies, r.remixes) for r in rows
                if (r.favourites, r.reblogs, r.replies, r.remixes) != (0, 0, 0, 0)}  # fmt: skip


async def test_core_rendering_is_byte_for_byte_the_orm_rendering(
    instance: Instance, world: dict[str, Any]
) -> None:
    svc = instance.services
    async with svc.sessions() as session:
        viewer = await session.get(Actor, world["alice"])
        query = select(Status).where(Status.deleted_at.is_(None)).order_by(Status.id.desc())
        orm_rows = list(await session.scalars(query))
        old = await status_entities.statuses(svc, session, orm_rows, viewer, "home")
        records = await page_rows.page_records(session, query)
        new = await page_rows.timeline_statuses(svc, session, records, viewer, "home")
        anonymous = await page_rows.timeline_statuses(svc, session, records, None, "public")
        assert json.dumps(anonymous) == json.dumps(
            await status_entities.statuses(svc, session, orm_rows, None, "public")
        )
    assert json.dumps(new) == json.dumps(old)
    # ... and the page is the rich one, not an empty shape.
    rich = next(s for s in new if s["id"] == str(world["rich"]))
    assert (rich["favourites_count"], rich["reblogs_count"], rich["replies_count"]) == (2, 2, 2)
    assert rich["favourited"] and rich["reblogged"] and rich["bookmarked"] and rich["sensitive"]
    assert rich["spoiler_text"] == "spoilers" and rich["tags"][0]["name"] == "Sunset"
    assert [m["username"] for m in rich["mentions"]] == ["alice"]
    assert [e["shortcode"] for e in rich["emojis"]] == ["blob"]
    assert rich["poll"]["options"][0]["votes_count"] == 3 and rich["media_attachments"][0]["description"]
    boosts = [s for s in new if s["reblog"] is not None]
    assert len(boosts) == 2 and all(b["reblog"]["id"] == str(world["rich"]) for b in boosts)
    remix = next(s for s in new if s["id"] == str(world["remix"]))
    assert remix["fedigen"]["remix_of"] == f"{REMOTE}/notes/1" and remix["in_reply_to_id"] == str(
        world["rich"]
    )
    own = next(s for s in new if s["id"] == str(world["own"]))
    assert own["pinned"] is True


async def test_timelines_answer_what_the_status_endpoint_answers(
    instance: Instance, world: dict[str, Any]
) -> None:
    client, a = instance.client, world["a"]
    single = (await client.get(f"/api/v1/statuses/{world['rich']}", headers=a)).json()
    home = (await client.get("/api/v1/timelines/home", headers=a)).json()
    assert json.dumps(next(s for s in home if s["id"] == str(world["rich"]))) == json.dumps(single)
    tag = (await client.get("/api/v1/timelines/tag/sunset", headers=a)).json()
    assert json.dumps(tag) == json.dumps([single])
    dan = (await client.get(f"/api/v1/accounts/{world['dan']}/statuses", headers=a)).json()
    assert json.dumps(dan) == json.dumps([single])


async def test_counters_follow_every_action_and_deleted_accounts(
    instance: Instance, world: dict[str, Any]
) -> None:
    expected = await truth(instance)
    assert expected[world["rich"]] == counts.Counts(favourites=2, reblogs=2, replies=2, remixes=1)
    assert await stored(instance) == expected
    client, b = instance.client, world["b"]
    await client.post(f"/api/v1/statuses/{world['rich']}/unreblog", headers=b)
    await client.post(f"/api/v1/statuses/{world['rich']}/unfavourite", headers=b)
    async with instance.services.sessions() as session:
        found = (await counts.of(session, [world["rich"]]))[world["rich"]]
    assert (found.favourites, found.reblogs) == (1, 1)
    # alice's account goes: her favourite, boost and reply stop counting.
    async with instance.services.sessions() as session, session.begin():
        alice = await session.get(Actor, world["alice"])
        assert alice is not None
        await accounts.delete_local_account(instance.services, session, alice, by=alice)
    assert await stored(instance) == await truth(instance)
    async with instance.services.sessions() as session:
        assert (await counts.of(session, [world["rich"]]))[world["rich"]] == counts.Counts(0, 0, 1, 1)
    # The author deletes the post: it counts nothing toward its parent, and nothing is counted for it.
    async with instance.services.sessions() as session, session.begin():
        erin = await session.get(Actor, world["erin"])
        assert erin is not None
        await remote_posts.receive_delete(instance.services, session, erin, f"{REMOTE}/notes/2")
    assert await stored(instance) == await truth(instance)
    async with instance.services.sessions() as session:
        assert (await counts.of(session, [world["rich"]]))[world["rich"]].replies == 0
    # A moderator deletes suspended bob's data: his favourite and boost stop counting.
    await client.post(f"/api/v1/statuses/{world['rich']}/favourite", headers=b)
    await client.post(f"/api/v1/statuses/{world['rich']}/reblog", headers=b)
    async with instance.services.sessions() as session, session.begin():
        bob = await session.get(Actor, world["bob"])
        assert bob is not None
        bob.suspended_at = utcnow()
        await account_moderation.delete_data(instance.services, session, bob)
    assert await stored(instance) == await truth(instance)
    async with instance.services.sessions() as session:
        assert (await counts.of(session, [world["rich"]]))[world["rich"]] == counts.Counts(0, 0, 0, 1)


async def test_home_pages_read_in_id_windows_are_the_pages_without_them(
    instance: Instance, make_token: TokenMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows of 4 and 16 ids over 60 statuses, one in three by an account alice follows: every page,
    newest first or below a max_id, is the one read without windows (SQLite; PostgreSQL reads without)."""
    alice, bob, carol = [await instance.create_account(n) for n in ("alice", "bob", "carol")]
    async with instance.services.sessions() as session, session.begin():
        session.add(Follow(follower_id=alice.id, followee_id=bob.id, state="accepted"))
        for n in range(60):
            author = bob if n % 3 == 0 else carol
            session.add(Status(ap_id=f"https://x.test/{n}", actor_id=author.id, content=f"<p>{n}</p>"))
    headers = bearer(await make_token("alice"))

    async def pages() -> list[list[str]]:
        out = []
        for params in ({"limit": 5}, {"limit": 5, "max_id": 40}, {"limit": 3, "since_id": 50}, {"limit": 40}):
            response = await instance.client.get("/api/v1/timelines/home", params=params, headers=headers)
            out.append([s["id"] for s in response.json()])
        return out

    without = await pages()
    monkeypatch.setattr("fedigen.social.timelines.HOME_WINDOWS", (4, 16))
    assert await pages() == without
    async with instance.services.sessions() as session:
        bobs = list(await session.scalars(select(Status.id).where(Status.actor_id == bob.id)))
    assert without[0] == [str(i) for i in sorted(bobs, reverse=True)[:5]] and len(without[3]) == 20


async def orm_home(instance: Instance, viewer_id: int, page: Page) -> list[dict[str, Any]]:
    """The home page as the row-by-row ORM rendering gives it, its rows read with ``Page.apply``."""
    svc = instance.services
    async with svc.sessions() as session:
        viewer = await session.get(Actor, viewer_id)
        names = await tags.followed_names(session, viewer_id)
        queries = [timelines.home_query(viewer_id)] + (
            [timelines.followed_tags_query(viewer_id, names)] if names else []
        )
        pages = [list(await session.scalars(page.apply(q, Status.id))) for q in queries]
        rows = page.arrange(timelines.merge_pages(pages, page.limit, ascending=page.min_id is not None))
        return await status_entities.statuses(svc, session, rows, viewer, "home")


async def test_home_timeline_read_whole_is_the_orm_rendering_page_by_page(
    instance: Instance, world: dict[str, Any]
) -> None:
    """GET /api/v1/timelines/home, read in one reader call with statements built once: the JSON of the
    ORM rendering for every cursor (max_id, since_id, min_id), with a followed hashtag's post from an
    account not followed, and a "hide" filter leaving the matching post out."""
    client, a = instance.client, world["a"]
    finn = await remote_actor(instance, "finn")
    hashtag = {"type": "Hashtag", "name": "#Sunset", "href": f"{REMOTE}/tags/sunset"}
    sunset = note(3, content='<p><a href="z">#Sunset</a> again</p>', hashtags=["sunset"], tags=[hashtag])
    tagged = await store(instance, finn, sunset)
    assert (await client.post("/api/v1/tags/Sunset/follow", headers=a)).status_code == 200
    answer = await client.get("/api/v1/timelines/home", headers=a)
    assert answer.status_code == 200
    full = answer.json()
    assert json.dumps(full) == json.dumps(await orm_home(instance, world["alice"], Page(limit=20)))
    shown = [int(s["id"]) for s in full]
    assert (
        tagged in shown and world["own"] in shown and world["reply"] in shown and world["remix"] not in shown
    )
    assert len([s for s in full if s["reblog"]]) == 2
    newest, oldest = max(shown), min(shown)
    assert f"max_id={oldest}" in answer.headers["link"] and f"min_id={newest}" in answer.headers["link"]
    cursors: list[dict[str, int]] = [
        {"limit": 2}, {"limit": 2, "max_id": shown[1]}, {"since_id": shown[3]},
        {"limit": 2, "min_id": shown[-2]}, {"limit": 2, "max_id": shown[0], "since_id": shown[4]},
    ]  # fmt: skip
    for cursor in cursors:
        page = await client.get("/api/v1/timelines/home", params=cursor, headers=a)
        expected = await orm_home(instance, world["alice"], Page(limit=int(cursor.get("limit", 20)),
                                  max_id=cursor.get("max_id"), since_id=cursor.get("since_id"),
                                  min_id=cursor.get("min_id")))  # fmt: skip
        assert page.json() and json.dumps(page.json()) == json.dumps(expected), cursor
    hide = {"title": "no pins", "context": ["home"], "filter_action": "hide",
            "keywords_attributes": [{"keyword": "pinned"}]}  # fmt: skip
    assert (await client.post("/api/v2/filters", json=hide, headers=a)).status_code == 200
    filtered = (await client.get("/api/v1/timelines/home", headers=a)).json()
    assert [s["id"] for s in filtered] == [s["id"] for s in full if int(s["id"]) != world["own"]]
    assert json.dumps(filtered) == json.dumps(await orm_home(instance, world["alice"], Page(limit=20)))
