"""Filters v2 and v1 through the client API: shapes, validation, ownership and scopes, and what they do
to statuses in timelines, threads, notifications and streaming (``filtered``, and "hide" leaving
statuses out)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from fedigen.api import streaming
from fedigen.social.filters import keyword_pattern
from storage.clients import CustomFilter, CustomFilterKeyword
from storage.models import Actor, Status
from tests.api.conftest import TokenMaker, bearer
from tests.api.test_accounts import count, follow
from tests.conftest import Instance

FILTER_FIELDS = {"id", "title", "context", "expires_at", "filter_action", "keywords", "statuses"}


async def setup(instance: Instance, make_token: TokenMaker) -> tuple[dict[str, str], dict[str, str]]:
    await instance.create_account("alice")
    await instance.create_account("gus")
    await follow(instance, "alice", "gus")
    return bearer(await make_token("alice")), bearer(await make_token("gus"))


async def post(instance: Instance, headers: dict[str, str], text: str, **fields: Any) -> str:
    response = await instance.client.post(
        "/api/v1/statuses", json={"status": text, **fields}, headers=headers
    )
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


async def make_filter(instance: Instance, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"title": "Spoilers", "context": ["home", "public", "thread", "notifications"], **fields}
    response = await instance.client.post("/api/v2/filters", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_keywords_match_as_mastodon_builds_them() -> None:
    import re

    def hit(keyword: str, whole: bool, text: str) -> bool:
        return re.search(keyword_pattern(keyword, whole), text, re.IGNORECASE) is not None

    assert hit("cat", True, "A CAT sat") and not hit("cat", True, "concatenate")
    assert hit("cat", False, "concatenate")
    # No boundary is asked for on a side where the keyword does not start or end with a word character.
    assert hit("#nsfw", True, "look #NSFW here") and hit("c++", True, "I like C++!")
    assert not hit("c++", True, "abc++")  # the start is a word character: a boundary is needed there


async def test_create_list_show_update_and_delete_a_v2_filter(
    instance: Instance, make_token: TokenMaker
) -> None:
    alice, gus = await setup(instance, make_token)
    created = await make_filter(
        instance,
        alice,
        filter_action="hide",
        expires_in=3600,
        keywords_attributes=[
            {"keyword": "Ending", "whole_word": True},
            {"keyword": "plot", "whole_word": False},
        ],
    )
    assert set(created) == FILTER_FIELDS
    assert created["filter_action"] == "hide" and created["expires_at"] is not None
    assert [(k["keyword"], k["whole_word"]) for k in created["keywords"]] == [
        ("Ending", True),
        ("plot", False),
    ]
    assert created["statuses"] == []
    listed = (await instance.client.get("/api/v2/filters", headers=alice)).json()
    assert [f["id"] for f in listed] == [created["id"]]
    assert (await instance.client.get("/api/v2/filters", headers=gus)).json() == []
    # Someone else's filter is a 404, for reading and changing.
    assert (await instance.client.get(f"/api/v2/filters/{created['id']}", headers=gus)).status_code == 404
    assert (await instance.client.delete(f"/api/v2/filters/{created['id']}", headers=gus)).status_code == 404
    # PUT: title changes; one keyword is changed, one destroyed, one added.
    [ending, plot] = created["keywords"]
    updated = await instance.client.put(
        f"/api/v2/filters/{created['id']}",
        headers=alice,
        json={
            "title": "Plot",
            "filter_action": "warn",
            "expires_in": "",
            "keywords_attributes": [
                {"id": ending["id"], "keyword": "finale"},
                {"id": plot["id"], "_destroy": True},
                {"keyword": "twist"},
            ],
        },
    )
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert body["title"] == "Plot" and body["filter_action"] == "warn" and body["expires_at"] is None
    assert sorted((k["keyword"], k["whole_word"]) for k in body["keywords"]) == [
        ("finale", True),
        ("twist", True),
    ]
    deleted = await instance.client.delete(f"/api/v2/filters/{created['id']}", headers=alice)
    assert deleted.status_code == 200 and deleted.json() == {}
    assert await count(instance, CustomFilter) == 0 and await count(instance, CustomFilterKeyword) == 0


async def test_form_encoded_keywords_attributes(instance: Instance, make_token: TokenMaker) -> None:
    alice, _ = await setup(instance, make_token)
    response = await instance.client.post(
        "/api/v2/filters",
        headers=alice,
        data={
            "title": "t",
            "context[]": ["home"],
            "keywords_attributes[][keyword]": ["one", "two"],
            "keywords_attributes[][whole_word]": ["false", "true"],
        },
    )
    assert response.status_code == 200, response.text
    assert [(k["keyword"], k["whole_word"]) for k in response.json()["keywords"]] == [
        ("one", False),
        ("two", True),
    ]


async def test_invalid_filters_are_422_and_store_nothing(instance: Instance, make_token: TokenMaker) -> None:
    alice, _ = await setup(instance, make_token)
    cases = [
        ({"context": ["home"]}, "title"),
        ({"title": "x"}, "context"),
        ({"title": "x", "context": ["home", "nowhere"]}, "context"),
        ({"title": "x", "context": ["home"], "filter_action": "explode"}, "filter_action"),
        ({"title": "x", "context": ["home"], "keywords_attributes": [{"keyword": " "}]}, "keyword"),
        ({"title": "x", "context": ["home"], "expires_in": -5}, "expires_in"),
    ]
    for body, field in cases:
        response = await instance.client.post("/api/v2/filters", json=body, headers=alice)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"].startswith("Validation failed") and field in response.json()["error"]
    assert await count(instance, CustomFilter) == 0


async def test_scopes_read_and_write_filters(instance: Instance, make_token: TokenMaker) -> None:
    await setup(instance, make_token)
    reader = bearer(await make_token("alice", "read:filters"))
    assert (await instance.client.get("/api/v2/filters", headers=reader)).status_code == 200
    refused = await instance.client.post(
        "/api/v2/filters", json={"title": "x", "context": ["home"]}, headers=reader
    )
    assert refused.status_code == 403
    writer = bearer(await make_token("alice", "write:filters"))
    assert (await instance.client.get("/api/v2/filters", headers=writer)).status_code == 403
    assert (await instance.client.get("/api/v1/filters", headers=writer)).status_code == 403
    made = await instance.client.post(
        "/api/v2/filters", json={"title": "x", "context": ["home"]}, headers=writer
    )
    assert made.status_code == 200
    assert (await instance.client.get("/api/v2/filters")).status_code == 401


async def test_keywords_and_statuses_endpoints(instance: Instance, make_token: TokenMaker) -> None:
    alice, gus = await setup(instance, make_token)
    created = await make_filter(instance, alice)
    fid = created["id"]
    added = await instance.client.post(
        f"/api/v2/filters/{fid}/keywords", data={"keyword": "Cats"}, headers=alice
    )
    assert (
        added.status_code == 200 and added.json()["keyword"] == "Cats" and added.json()["whole_word"] is True
    )
    kid = added.json()["id"]
    for base in ("/api/v2/filters/keywords", "/api/v2/filter_keywords"):
        shown = await instance.client.get(f"{base}/{kid}", headers=alice)
        assert shown.json() == {"id": kid, "keyword": "Cats", "whole_word": True}
        assert (await instance.client.get(f"{base}/{kid}", headers=gus)).status_code == 404
    changed = await instance.client.put(
        f"/api/v2/filter_keywords/{kid}", json={"keyword": "dogs", "whole_word": False}, headers=alice
    )
    assert changed.json() == {"id": kid, "keyword": "dogs", "whole_word": False}
    listed = await instance.client.get(f"/api/v2/filters/{fid}/keywords", headers=alice)
    assert [k["id"] for k in listed.json()] == [kid]
    assert (await instance.client.delete(f"/api/v2/filters/keywords/{kid}", headers=alice)).json() == {}
    assert (await instance.client.get(f"/api/v2/filters/{fid}/keywords", headers=alice)).json() == []
    # Per-status filters.
    status_id = await post(instance, gus, "a post to hide")
    entry = await instance.client.post(
        f"/api/v2/filters/{fid}/statuses", data={"status_id": status_id}, headers=alice
    )
    assert entry.status_code == 200 and entry.json()["status_id"] == status_id
    again = await instance.client.post(
        f"/api/v2/filters/{fid}/statuses", data={"status_id": status_id}, headers=alice
    )
    assert again.status_code == 422
    missing = await instance.client.post(
        f"/api/v2/filters/{fid}/statuses", data={"status_id": "999"}, headers=alice
    )
    assert missing.status_code == 404
    sid = entry.json()["id"]
    assert (
        await instance.client.get(f"/api/v2/filters/statuses/{sid}", headers=alice)
    ).json() == entry.json()
    assert (await instance.client.get(f"/api/v2/filter_statuses/{sid}", headers=gus)).status_code == 404
    shown = (await instance.client.get(f"/api/v2/filters/{fid}", headers=alice)).json()
    assert shown["statuses"] == [entry.json()]
    home = (await instance.client.get("/api/v1/timelines/home", headers=alice)).json()
    [filtered] = [s for s in home if s["id"] == status_id]
    [result] = filtered["filtered"]
    assert result["status_matches"] == [status_id] and result["keyword_matches"] is None
    assert result["filter"]["id"] == fid and "keywords" not in result["filter"]
    assert (await instance.client.delete(f"/api/v2/filter_statuses/{sid}", headers=alice)).json() == {}
    assert (await instance.client.get(f"/api/v2/filters/{fid}/statuses", headers=alice)).json() == []


async def test_warn_filters_mark_statuses_and_hide_filters_drop_them(
    instance: Instance, make_token: TokenMaker
) -> None:
    alice, gus = await setup(instance, make_token)
    warned = await post(instance, gus, "The ENDING was great")
    poll_post = await post(instance, gus, "vote", poll={"options": ["spoilerific", "no"], "expires_in": 3600})
    cw_post = await post(instance, gus, "body", spoiler_text="about the ending")
    hidden = await post(instance, gus, "this has a twist")
    plain = await post(instance, gus, "endings are not whole words")
    await make_filter(
        instance,
        alice,
        filter_action="warn",
        keywords_attributes=[{"keyword": "ending"}, {"keyword": "spoiler", "whole_word": False}],
    )
    await make_filter(
        instance, alice, title="Twists", filter_action="hide", keywords_attributes=[{"keyword": "twist"}]
    )
    home = {s["id"]: s for s in (await instance.client.get("/api/v1/timelines/home", headers=alice)).json()}
    assert hidden not in home  # dropped on the server
    assert [r["keyword_matches"] for r in home[warned]["filtered"]] == [["ENDING"]]
    assert home[warned]["filtered"][0]["filter"]["title"] == "Spoilers"
    assert home[poll_post]["filtered"][0]["keyword_matches"] == ["spoiler"]
    assert home[cw_post]["filtered"][0]["keyword_matches"] == ["ending"]
    assert home[plain]["filtered"] == []
    public = {s["id"] for s in (await instance.client.get("/api/v1/timelines/public", headers=alice)).json()}
    assert hidden not in public and warned in public
    # Others see it all, unfiltered; in a thread the hide filter marks the status without dropping it.
    assert hidden in {s["id"] for s in (await instance.client.get("/api/v1/timelines/public")).json()}
    reply = await post(instance, gus, "reply with a twist", in_reply_to_id=warned)
    thread = (await instance.client.get(f"/api/v1/statuses/{warned}/context", headers=alice)).json()
    [shown] = thread["descendants"]
    assert shown["id"] == reply and shown["filtered"][0]["filter"]["filter_action"] == "hide"


async def test_context_limits_where_a_filter_applies(instance: Instance, make_token: TokenMaker) -> None:
    alice, gus = await setup(instance, make_token)
    status_id = await post(instance, gus, "cats everywhere")
    await make_filter(
        instance, alice, context=["public"], filter_action="hide", keywords_attributes=[{"keyword": "cats"}]
    )
    home = {s["id"]: s for s in (await instance.client.get("/api/v1/timelines/home", headers=alice)).json()}
    assert home[status_id]["filtered"] == []
    public = {s["id"] for s in (await instance.client.get("/api/v1/timelines/public", headers=alice)).json()}
    assert status_id not in public


async def test_expired_filters_do_nothing(instance: Instance, make_token: TokenMaker) -> None:
    alice, gus = await setup(instance, make_token)
    status_id = await post(instance, gus, "cats everywhere")
    made = await make_filter(instance, alice, filter_action="hide", keywords_attributes=[{"keyword": "cats"}])
    from storage.models import utcnow

    async with instance.services.sessions() as session, session.begin():
        row = await session.get(CustomFilter, int(made["id"]))
        assert row is not None
        row.expires_at = utcnow()
    home = {s["id"] for s in (await instance.client.get("/api/v1/timelines/home", headers=alice)).json()}
    assert status_id in home


async def test_hide_filters_drop_notifications_and_boosts_match_what_they_boost(
    instance: Instance, make_token: TokenMaker
) -> None:
    alice, gus = await setup(instance, make_token)
    await instance.create_account("hal")
    await follow(instance, "alice", "hal")
    hal = bearer(await make_token("hal"))
    await make_filter(instance, alice, filter_action="hide", keywords_attributes=[{"keyword": "spam"}])
    await post(instance, gus, "@alice buy spam now")
    kept = await post(instance, gus, "@alice hello")
    notes = (await instance.client.get("/api/v1/notifications", headers=alice)).json()
    assert [n["status"]["id"] for n in notes if n["type"] == "mention"] == [kept]
    async with instance.services.sessions() as session:
        assert await session.scalar(select(Status.id).where(Status.content.contains("spam"))) is not None
    # A boost of a status a warn filter matches carries the match, on the boost and on what it boosts.
    await make_filter(instance, alice, title="w", keywords_attributes=[{"keyword": "kittens"}])
    original = await post(instance, gus, "kittens!")
    boost = await instance.client.post(f"/api/v1/statuses/{original}/reblog", headers=hal)
    home = {s["id"]: s for s in (await instance.client.get("/api/v1/timelines/home", headers=alice)).json()}
    boosted = home[boost.json()["id"]]
    assert boosted["filtered"][0]["keyword_matches"] == ["kittens"]
    assert boosted["reblog"]["filtered"][0]["keyword_matches"] == ["kittens"]


async def test_v1_filters_as_mastodon_4_serves_them(instance: Instance, make_token: TokenMaker) -> None:
    alice, gus = await setup(instance, make_token)
    made = await instance.client.post(
        "/api/v1/filters",
        headers=alice,
        json={"phrase": "twist", "context": ["home"], "irreversible": True, "whole_word": False},
    )
    assert made.status_code == 200, made.text
    v1 = made.json()
    assert set(v1) == {"id", "phrase", "context", "whole_word", "expires_at", "irreversible"}
    assert v1["phrase"] == "twist" and v1["irreversible"] is True and v1["whole_word"] is False
    # It is a v2 filter with one keyword.
    [v2] = (await instance.client.get("/api/v2/filters", headers=alice)).json()
    assert v2["title"] == "twist" and v2["filter_action"] == "hide" and v2["keywords"][0]["id"] == v1["id"]
    hidden = await post(instance, gus, "plot twists")
    assert hidden not in {
        s["id"] for s in (await instance.client.get("/api/v1/timelines/home", headers=alice)).json()
    }
    changed = await instance.client.put(
        f"/api/v1/filters/{v1['id']}",
        json={"phrase": "ending", "context": ["home", "public"], "irreversible": False},
        headers=alice,
    )
    assert changed.json()["phrase"] == "ending" and changed.json()["irreversible"] is False
    assert changed.json()["context"] == ["home", "public"]
    assert [f["id"] for f in (await instance.client.get("/api/v1/filters", headers=alice)).json()] == [
        v1["id"]
    ]
    assert (await instance.client.get(f"/api/v1/filters/{v1['id']}", headers=gus)).status_code == 404
    blank = await instance.client.post("/api/v1/filters", json={"context": ["home"]}, headers=alice)
    assert blank.status_code == 422
    assert (await instance.client.delete(f"/api/v1/filters/{v1['id']}", headers=alice)).json() == {}
    assert await count(instance, CustomFilter) == 0


async def test_streaming_applies_filters(instance: Instance, make_token: TokenMaker) -> None:
    alice, gus = await setup(instance, make_token)
    await make_filter(instance, alice, filter_action="hide", keywords_attributes=[{"keyword": "twist"}])
    await make_filter(instance, alice, title="w", keywords_attributes=[{"keyword": "ending"}])
    async with instance.services.sessions() as session:
        viewer = await session.scalar(select(Actor).where(Actor.username == "alice"))
        conn = streaming.Connection(viewer, frozenset({"read"}))
        assert conn.subscribe("user", None) is None
        await streaming.start(session, conn)
    await post(instance, gus, "a twist")
    warned = await post(instance, gus, "the ending")
    async with instance.services.sessions() as session:
        messages = await streaming.poll(instance.services, session, conn)
    import json

    updates = [json.loads(json.loads(m)["payload"]) for m in messages if json.loads(m)["event"] == "update"]
    assert [u["id"] for u in updates] == [warned]
    assert updates[0]["filtered"][0]["keyword_matches"] == ["ending"]
