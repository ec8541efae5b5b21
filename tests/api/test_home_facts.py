"""The home page is read with the viewer's facts (``timelines.home_facts_of``): the hashtags they follow
and whether any mute, exclusive list or domain block of theirs can hide a status. Without any, the home
query leaves those clauses out; each kind, once there, brings them back and hides what it should."""

from __future__ import annotations

from sqlalchemy import Connection

from fedigen.social import timelines
from tests.api.conftest import TokenMaker
from tests.api.test_accounts import account_id, follow
from tests.api.test_user_tools import home_ids, people, post
from tests.conftest import Instance


async def facts(instance: Instance, name: str) -> tuple[list[str], bool]:
    viewer = int(await account_id(instance, name))

    def read(conn: Connection) -> tuple[list[str], bool]:
        return timelines.home_facts_of(conn, viewer)

    return await instance.services.reader.run(read)


async def test_each_exclusion_of_the_viewer_is_read_and_applied(
    instance: Instance, make_token: TokenMaker
) -> None:
    t = await people(instance, make_token, "alice", "gus", "hal")
    for name in ("gus", "hal"):
        await follow(instance, "alice", name)
    by_gus, by_hal = await post(instance, t["gus"], "from gus"), await post(instance, t["hal"], "from hal")
    assert await facts(instance, "alice") == ([], False)
    assert {by_gus, by_hal} <= set(await home_ids(instance, t["alice"]))

    # A followed hashtag: named (as stored, lowercased), and still nothing excluded.
    assert (await instance.client.post("/api/v1/tags/Cats/follow", headers=t["alice"])).status_code == 200
    assert await facts(instance, "alice") == (["cats"], False)

    # A mute.
    gus = await account_id(instance, "gus")
    assert (await instance.client.post(f"/api/v1/accounts/{gus}/mute", headers=t["alice"])).status_code == 200
    assert await facts(instance, "alice") == (["cats"], True)
    home = await home_ids(instance, t["alice"])
    assert by_gus not in home and by_hal in home
    await instance.client.post(f"/api/v1/accounts/{gus}/unmute", headers=t["alice"])
    assert await facts(instance, "alice") == (["cats"], False)
    assert by_gus in await home_ids(instance, t["alice"])

    # A list: only an exclusive one with a member other than the viewer counts.
    hal = await account_id(instance, "hal")
    made = await instance.client.post("/api/v1/lists", json={"title": "L"}, headers=t["alice"])
    lid = made.json()["id"]
    await instance.client.post(
        f"/api/v1/lists/{lid}/accounts", json={"account_ids": [hal]}, headers=t["alice"]
    )
    assert await facts(instance, "alice") == (["cats"], False)
    await instance.client.put(f"/api/v1/lists/{lid}", json={"exclusive": True}, headers=t["alice"])
    assert await facts(instance, "alice") == (["cats"], True)
    home = await home_ids(instance, t["alice"])
    assert by_hal not in home and by_gus in home
    await instance.client.delete(f"/api/v1/lists/{lid}", headers=t["alice"])
    assert await facts(instance, "alice") == (["cats"], False)


async def test_a_domain_block_is_an_exclusion(instance: Instance, make_token: TokenMaker) -> None:
    t = await people(instance, make_token, "alice")
    assert await facts(instance, "alice") == ([], False)
    blocked = await instance.client.post(
        "/api/v1/domain_blocks", data={"domain": "remote.test"}, headers=t["alice"]
    )
    assert blocked.status_code == 200
    assert await facts(instance, "alice") == ([], True)
