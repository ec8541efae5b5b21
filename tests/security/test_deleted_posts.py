"""A deleted post is gone from every answer: its boosts leave timelines and account lists, and the
notifications about it (mentions, favourites, boosts) go with it, whether its author deleted it here
or on another server."""

from __future__ import annotations

from tests.api.conftest import bearer, issue_token
from tests.conftest import Instance
from tests.remote_actor import RemoteActor

BASE = "http://fedigen.test"


async def ids_in(instance: Instance, path: str, token: dict[str, str]) -> list[str]:
    """The ids of the statuses (and boosted statuses) a list of statuses or notifications shows."""
    response = await instance.client.get(path, headers=token)
    assert response.status_code == 200, response.text
    found = []
    for item in response.json():
        if "type" not in item:  # a status, not a notification
            found.append(item["id"])
        for key in ("reblog", "status"):
            if isinstance(item.get(key), dict):
                found.append(item[key]["id"])
    return found


async def test_a_deleted_local_post_leaves_boosts_timelines_and_notifications(instance: Instance) -> None:
    for name in ("alice", "carol", "dan"):
        await instance.create_account(name)
    alice, carol, dan = [bearer(await issue_token(instance, n)) for n in ("alice", "carol", "dan")]
    carol_id = (await instance.client.get("/api/v1/accounts/verify_credentials", headers=carol)).json()["id"]
    assert (await instance.client.post(f"/api/v1/accounts/{carol_id}/follow", headers=dan)).status_code == 200
    post = (
        await instance.client.post("/api/v1/statuses", json={"status": "hi @carol"}, headers=alice)
    ).json()
    boost = await instance.client.post(f"/api/v1/statuses/{post['id']}/reblog", headers=carol)
    assert boost.status_code == 200
    await instance.client.post(f"/api/v1/statuses/{post['id']}/favourite", headers=carol)
    assert post["id"] in await ids_in(instance, "/api/v1/timelines/home", dan)
    assert post["id"] in await ids_in(instance, "/api/v1/notifications", carol)
    assert (await instance.client.delete(f"/api/v1/statuses/{post['id']}", headers=alice)).status_code == 200
    assert post["id"] not in await ids_in(instance, "/api/v1/timelines/home", dan)
    assert post["id"] not in await ids_in(instance, f"/api/v1/accounts/{carol_id}/statuses", dan)
    assert post["id"] not in await ids_in(instance, "/api/v1/notifications", carol)
    assert post["id"] not in await ids_in(instance, "/api/v1/notifications", alice)
    boosted = await instance.client.get(f"/api/v1/statuses/{boost.json()['id']}", headers=dan)
    assert boosted.status_code == 404


async def test_a_post_deleted_on_its_server_leaves_local_boosts_and_notifications(
    instance: Instance, bob: RemoteActor
) -> None:
    await instance.create_account("carol")
    carol = bearer(await issue_token(instance, "carol"))
    note = bob.note("<p>hello @carol</p>", mention=f"{BASE}/users/carol")
    assert (await bob.post(instance.client, "/inbox", bob.create(note))).status_code == 202
    await instance.drain()
    [mention] = (await instance.client.get("/api/v1/notifications", headers=carol)).json()
    status_id = mention["status"]["id"]
    assert (
        await instance.client.post(f"/api/v1/statuses/{status_id}/reblog", headers=carol)
    ).status_code == 200
    carol_id = (
        mention["account"]["id"]
        and (await instance.client.get("/api/v1/accounts/verify_credentials", headers=carol)).json()["id"]
    )
    assert status_id in await ids_in(instance, f"/api/v1/accounts/{carol_id}/statuses", carol)
    delete = bob.activity("Delete", {"id": note["id"], "type": "Tombstone"}, to=note["to"], cc=note["cc"])
    assert (await bob.post(instance.client, "/inbox", delete)).status_code == 202
    await instance.drain()
    assert status_id not in await ids_in(instance, f"/api/v1/accounts/{carol_id}/statuses", carol)
    assert status_id not in await ids_in(instance, "/api/v1/timelines/home", carol)
    assert await ids_in(instance, "/api/v1/notifications", carol) == []
