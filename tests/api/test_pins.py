"""Pinning through the client API (https://docs.joinmastodon.org/methods/statuses/#pin): Mastodon's rules
(its StatusPinValidator: not a boost, not someone else's post, not a direct post, at most five), the
``pinned`` attribute on the viewer's own posts, ``GET /api/v1/accounts/:id/statuses?pinned=true`` and
``max_pinned_statuses`` in the instance documents. Deliveries are in tests/flows/test_collections_and_pins.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from storage.models import Activity, Follow, StatusPin
from tests.api.conftest import TokenMaker, bearer
from tests.conftest import Instance


@pytest.fixture
async def people(instance: Instance, make_token: TokenMaker) -> dict[str, Any]:
    """alice and bob, local, each with a token; bob follows alice; stranger follows nobody."""
    alice = await instance.create_account("alice")
    bob = await instance.create_account("bob")
    await instance.create_account("stranger")
    async with instance.services.sessions() as session, session.begin():
        session.add(Follow(follower_id=bob.id, followee_id=alice.id, state="accepted"))
    return {
        "alice_id": alice.id,
        "a": bearer(await make_token("alice")),
        "b": bearer(await make_token("bob")),
        "s": bearer(await make_token("stranger")),
    }


async def post(instance: Instance, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    response = await instance.client.post("/api/v1/statuses", json=fields, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def pin(instance: Instance, headers: dict[str, str], status_id: str, action: str = "pin") -> Any:
    return await instance.client.post(f"/api/v1/statuses/{status_id}/{action}", headers=headers)


async def pins(instance: Instance) -> int:
    async with instance.services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(StatusPin)) or 0)


async def adds(instance: Instance) -> int:
    async with instance.services.sessions() as session:
        return int(await session.scalar(select(func.count()).where(Activity.ap_type == "Add")) or 0)


async def pinned(instance: Instance, account_id: int, headers: dict[str, str] | None = None) -> list[str]:
    listed = await instance.client.get(
        f"/api/v1/accounts/{account_id}/statuses", params={"pinned": "true"}, headers=headers or {}
    )
    assert listed.status_code == 200, listed.text
    return [s["id"] for s in listed.json()]


async def test_mastodons_rules_refuse_what_cannot_be_pinned(
    instance: Instance, people: dict[str, Any]
) -> None:
    bobs = await post(instance, people["b"], status="bob's own")
    refused = await pin(instance, people["a"], bobs["id"])
    assert refused.status_code == 422 and "someone else" in refused.json()["error"]
    direct = await post(instance, people["a"], status="@bob only for you", visibility="direct")
    assert (await pin(instance, people["a"], direct["id"])).status_code == 422
    boost = await instance.client.post(f"/api/v1/statuses/{bobs['id']}/reblog", headers=people["a"])
    assert boost.status_code == 200
    refused = await pin(instance, people["a"], boost.json()["id"])
    assert refused.status_code == 422 and "boost" in refused.json()["error"]
    # One you may not see is not there: 404, as for any other action on it.
    hidden = await post(instance, people["b"], status="bob's followers only", visibility="private")
    assert (await pin(instance, people["a"], hidden["id"])).status_code == 404
    assert (await pin(instance, people["a"], "999999")).status_code == 404
    assert (await pins(instance), await adds(instance)) == (0, 0)


async def test_at_most_five_and_pinning_again_changes_nothing(
    instance: Instance, people: dict[str, Any]
) -> None:
    made = [await post(instance, people["a"], status=f"post {n}") for n in range(6)]
    for status in made[:5]:
        response = await pin(instance, people["a"], status["id"])
        assert response.status_code == 200 and response.json()["pinned"] is True
    again = await pin(instance, people["a"], made[0]["id"])
    assert again.status_code == 200 and again.json()["pinned"] is True
    sixth = await pin(instance, people["a"], made[5]["id"])
    assert sixth.status_code == 422 and "at most 5" in sixth.json()["error"]
    assert (await pins(instance), await adds(instance)) == (5, 5)
    # Unpinning one makes room; a deleted post's pin goes with it.
    assert (await pin(instance, people["a"], made[1]["id"], "unpin")).json()["pinned"] is False
    assert (await pin(instance, people["a"], made[5]["id"])).status_code == 200
    deleted = await instance.client.delete(f"/api/v1/statuses/{made[2]['id']}", headers=people["a"])
    assert deleted.status_code == 200
    assert await pins(instance) == 4
    assert (await pin(instance, people["a"], made[1]["id"])).status_code == 200


async def test_pinned_posts_are_listed_newest_pin_first_to_whoever_may_see_them(
    instance: Instance, people: dict[str, Any]
) -> None:
    older = await post(instance, people["a"], status="older post")
    newer = await post(instance, people["a"], status="newer post")
    private = await post(instance, people["a"], status="followers only", visibility="private")
    for status in (newer, older, private):  # a followers-only post may be pinned, as on Mastodon
        assert (await pin(instance, people["a"], status["id"])).status_code == 200
    alice_id = people["alice_id"]
    assert await pinned(instance, alice_id, people["b"]) == [private["id"], older["id"], newer["id"]]
    assert await pinned(instance, alice_id) == [older["id"], newer["id"]]  # logged out
    assert await pinned(instance, alice_id, people["s"]) == [older["id"], newer["id"]]
    # All pins are on the first page: there is nothing older.
    paged = await instance.client.get(
        f"/api/v1/accounts/{alice_id}/statuses", params={"pinned": "true", "max_id": newer["id"]}
    )
    assert paged.json() == []
    # The usual listing is unchanged by pins.
    plain = await instance.client.get(f"/api/v1/accounts/{alice_id}/statuses", headers=people["b"])
    assert [s["id"] for s in plain.json()] == [private["id"], newer["id"], older["id"]]


async def test_pinned_is_shown_on_the_viewers_own_posts_only(
    instance: Instance, people: dict[str, Any]
) -> None:
    mine = await post(instance, people["a"], status="mine")
    assert mine["pinned"] is False
    assert (await pin(instance, people["a"], mine["id"])).status_code == 200
    as_owner = (await instance.client.get(f"/api/v1/statuses/{mine['id']}", headers=people["a"])).json()
    assert as_owner["pinned"] is True
    as_other = (await instance.client.get(f"/api/v1/statuses/{mine['id']}", headers=people["b"])).json()
    assert "pinned" not in as_other  # Mastodon leaves it out on posts the viewer could not pin
    direct = await post(instance, people["a"], status="@bob psst", visibility="direct")
    assert "pinned" not in direct
    home = await instance.client.get("/api/v1/timelines/home", headers=people["a"])
    assert {s["id"]: s.get("pinned") for s in home.json()}[mine["id"]] is True


async def test_pinning_needs_the_write_accounts_scope(
    instance: Instance, people: dict[str, Any], make_token: TokenMaker
) -> None:
    status = await post(instance, people["a"], status="x")
    read_only = bearer(await make_token("alice", "read"))
    assert (await pin(instance, read_only, status["id"])).status_code == 403
    assert (await instance.client.post(f"/api/v1/statuses/{status['id']}/pin")).status_code == 401
    granular = bearer(await make_token("alice", "write:accounts"))
    assert (await pin(instance, granular, status["id"])).status_code == 200


async def test_the_instance_says_how_many_posts_may_be_pinned(instance: Instance) -> None:
    v1 = (await instance.client.get("/api/v1/instance")).json()
    v2 = (await instance.client.get("/api/v2/instance")).json()
    assert v1["configuration"]["accounts"]["max_pinned_statuses"] == 5
    assert v2["configuration"]["accounts"]["max_pinned_statuses"] == 5
