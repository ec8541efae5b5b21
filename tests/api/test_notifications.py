"""Notifications (after a remote Like and follows), markers and preferences through the client API."""

from __future__ import annotations

from sqlalchemy import select

from fedigen.social import accounts
from storage.models import Notification, Status
from tests.api.conftest import TokenMaker, bearer
from tests.api.test_accounts import account_id, count, follow, post
from tests.conftest import Instance
from tests.remote_actor import RemoteActor

# https://docs.joinmastodon.org/entities/Notification/
NOTIFICATION_FIELDS = {"id", "type", "created_at", "account", "status", "group_key"}


async def liked_by_bob(instance: Instance, bob: RemoteActor) -> int:
    """alice posts; bob likes the post with a signed Like to her inbox."""
    status_id = await post(instance, "alice", "look at this")
    async with instance.services.sessions() as session:
        ap_id = (await session.get(Status, status_id)).ap_id  # type: ignore[union-attr]
    response = await bob.post(instance.client, "/users/alice/inbox", bob.activity("Like", ap_id))
    assert response.status_code == 202, response.text
    await instance.drain()
    return status_id


async def test_a_remote_like_is_a_favourite_notification(
    instance: Instance, make_token: TokenMaker, bob: RemoteActor
) -> None:
    await instance.create_account("alice")
    status_id = await liked_by_bob(instance, bob)
    token = await make_token("alice")
    response = await instance.client.get("/api/v1/notifications", headers=bearer(token))
    assert response.status_code == 200, response.text
    [notification] = response.json()
    assert NOTIFICATION_FIELDS <= set(notification)
    assert notification["type"] == "favourite"
    assert notification["account"]["acct"] == "bob@remote.test"
    assert notification["status"]["id"] == str(status_id)
    single = await instance.client.get(f"/api/v1/notifications/{notification['id']}", headers=bearer(token))
    assert single.json()["id"] == notification["id"]


async def test_notifications_filter_by_type_and_account_and_page_with_link(
    instance: Instance, make_token: TokenMaker, bob: RemoteActor
) -> None:
    for name in ("alice", "fran", "gus"):
        await instance.create_account(name)
    await liked_by_bob(instance, bob)
    async with instance.services.sessions() as session, session.begin():
        alice = await accounts.get_local(session, "alice")
        for name in ("fran", "gus"):
            sender = await accounts.get_local(session, name)
            session.add(Notification(recipient_id=alice.id, type="follow", from_actor_id=sender.id))
    token = await make_token("alice")
    follows = await instance.client.get(
        "/api/v1/notifications", params={"types[]": "follow"}, headers=bearer(token)
    )
    assert [n["account"]["username"] for n in follows.json()] == ["gus", "fran"]
    others = await instance.client.get(
        "/api/v1/notifications", params={"exclude_types[]": "follow"}, headers=bearer(token)
    )
    assert [n["type"] for n in others.json()] == ["favourite"]
    fran = await account_id(instance, "fran")
    by_fran = await instance.client.get(
        "/api/v1/notifications", params={"account_id": fran}, headers=bearer(token)
    )
    assert [n["account"]["username"] for n in by_fran.json()] == ["fran"]
    page = await instance.client.get("/api/v1/notifications", params={"limit": 2}, headers=bearer(token))
    assert len(page.json()) == 2 and 'rel="next"' in page.headers["link"]
    rest = await instance.client.get(page.headers["link"].split(">")[0].lstrip("<"), headers=bearer(token))
    assert [n["type"] for n in rest.json()] == ["favourite"]
    bad = await instance.client.get(
        "/api/v1/notifications", params={"account_id": "x"}, headers=bearer(token)
    )
    assert bad.status_code == 422 and "account_id" in bad.json()["error"]


async def test_notifications_from_muted_accounts_are_hidden(
    instance: Instance, make_token: TokenMaker
) -> None:
    for name in ("alice", "gus"):
        await instance.create_account(name)
    await follow(instance, "gus", "alice")  # a local follow notifies, as a remote one does
    async with instance.services.sessions() as session:
        gus = await accounts.get_local(session, "gus")
    token = await make_token("alice")
    assert len((await instance.client.get("/api/v1/notifications", headers=bearer(token))).json()) == 1
    await instance.client.post(f"/api/v1/accounts/{gus.id}/mute", headers=bearer(token))
    assert (await instance.client.get("/api/v1/notifications", headers=bearer(token))).json() == []


async def test_someone_elses_notification_is_404_and_dismiss_and_clear_remove_them(
    instance: Instance, make_token: TokenMaker, bob: RemoteActor
) -> None:
    for name in ("alice", "eve"):
        await instance.create_account(name)
    await liked_by_bob(instance, bob)
    await liked_by_bob(instance, bob)
    async with instance.services.sessions() as session:
        ids = list(await session.scalars(select(Notification.id).order_by(Notification.id)))
    eve = await make_token("eve")
    for path in (f"/api/v1/notifications/{ids[0]}", "/api/v1/notifications/abc"):
        assert (await instance.client.get(path, headers=bearer(eve))).status_code == 404
    refused = await instance.client.post(f"/api/v1/notifications/{ids[0]}/dismiss", headers=bearer(eve))
    assert refused.status_code == 404 and await count(instance, Notification) == 2
    token = await make_token("alice")
    read_only = await make_token("alice", "read")
    assert (
        await instance.client.post("/api/v1/notifications/clear", headers=bearer(read_only))
    ).status_code == 403
    dismissed = await instance.client.post(f"/api/v1/notifications/{ids[0]}/dismiss", headers=bearer(token))
    assert dismissed.status_code == 200 and dismissed.json() == {}
    assert await count(instance, Notification) == 1
    await instance.client.post("/api/v1/notifications/clear", headers=bearer(token))
    assert await count(instance, Notification) == 0


async def test_notifications_need_a_token(instance: Instance) -> None:
    response = await instance.client.get("/api/v1/notifications")
    assert response.status_code == 401 and response.headers["www-authenticate"].startswith("Bearer")


async def test_markers_are_saved_and_their_version_increments(
    instance: Instance, make_token: TokenMaker
) -> None:
    await instance.create_account("alice")
    token = await make_token("alice")
    assert (await instance.client.get("/api/v1/markers", headers=bearer(token))).json() == {}
    first = await instance.client.post(
        "/api/v1/markers", data={"home[last_read_id]": "103", "notifications[last_read_id]": "7"},
        headers=bearer(token),
    )  # fmt: skip
    assert first.status_code == 200, first.text
    assert first.json()["home"]["last_read_id"] == "103" and first.json()["home"]["version"] == 1
    second = await instance.client.post(
        "/api/v1/markers", json={"home": {"last_read_id": "104"}}, headers=bearer(token)
    )
    assert second.json() == {"home": second.json()["home"]} and second.json()["home"]["version"] == 2
    shown = await instance.client.get(
        "/api/v1/markers", params={"timeline[]": ["home", "notifications"]}, headers=bearer(token)
    )
    body = shown.json()
    assert body["home"]["last_read_id"] == "104" and body["notifications"]["version"] == 1
    assert set(body["home"]) == {"last_read_id", "version", "updated_at"}
    bad = await instance.client.post(
        "/api/v1/markers", data={"home[last_read_id]": "x"}, headers=bearer(token)
    )
    assert bad.status_code == 422 and "home[last_read_id]" in bad.json()["error"]
    empty = await instance.client.post("/api/v1/markers", data={}, headers=bearer(token))
    assert empty.status_code == 422


async def test_preferences(instance: Instance, make_token: TokenMaker) -> None:
    await instance.create_account("alice")
    response = await instance.client.get("/api/v1/preferences", headers=bearer(await make_token("alice")))
    assert response.json()["posting:default:visibility"] == "public"
    assert set(response.json()) == {
        "posting:default:visibility", "posting:default:sensitive", "posting:default:language",
        "reading:expand:media", "reading:expand:spoilers",
    }  # fmt: skip
