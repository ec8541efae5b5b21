"""Being found: WebFinger round trip, host-meta, NodeInfo, actor documents, collections, authorized fetch."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

from sqlalchemy import select

from activitypub.signing import sign_request
from fedigen.social import posts
from fedigen.social.posts import PostRequest
from storage.models import Actor
from tests.conftest import Instance

AS2 = {"Accept": "application/activity+json"}


async def _post(inst: Instance, name: str, text: str, visibility: str = "public") -> int:
    async with inst.services.sessions() as session, session.begin():
        author = (await session.scalars(select(Actor).where(Actor.username == name))).one()
        status = await posts.create_post(
            inst.services, session, author, PostRequest(text=text, visibility=visibility)
        )
        return status.id


async def test_webfinger_round_trip_as_mastodon_checks_it(instance: Instance) -> None:
    await instance.create_account("alice")
    r = await instance.client.get("/.well-known/webfinger", params={"resource": "acct:alice@fedigen.test"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/jrd+json")
    jrd = r.json()
    assert jrd["subject"] == "acct:alice@fedigen.test"
    self_link = next(link for link in jrd["links"] if link["rel"] == "self")
    assert self_link["type"] == "application/activity+json"
    actor = (await instance.client.get(self_link["href"], headers=AS2)).json()
    # Mastodon: the actor's id equals the URL, and acct:preferredUsername@host leads back to it.
    assert actor["id"] == self_link["href"]
    back = await instance.client.get(
        "/.well-known/webfinger", params={"resource": f"acct:{actor['preferredUsername']}@fedigen.test"}
    )
    assert next(link for link in back.json()["links"] if link["rel"] == "self")["href"] == actor["id"]
    by_url = await instance.client.get("/.well-known/webfinger", params={"resource": actor["id"]})
    assert by_url.json()["subject"] == "acct:alice@fedigen.test"


async def test_webfinger_refusals(instance: Instance) -> None:
    await instance.create_account("alice")
    for params, status in [
        ({}, 422),
        ({"resource": "acct:alice@elsewhere.example"}, 404),
        ({"resource": "acct:nobody@fedigen.test"}, 404),
        ({"resource": "mailto:alice@fedigen.test"}, 422),
        ({"resource": "https://elsewhere.example/users/alice"}, 404),
    ]:
        r = await instance.client.get("/.well-known/webfinger", params=params)
        assert r.status_code == status, params
        assert "error" in r.json()


async def test_host_meta_and_nodeinfo_with_real_counts(instance: Instance) -> None:
    await instance.create_account("alice")
    await instance.create_account("bob")
    await _post(instance, "alice", "one")
    await _post(instance, "alice", "two")
    xml = await instance.client.get("/.well-known/host-meta")
    assert "application/xrd+xml" in xml.headers["content-type"]
    assert 'template="http://fedigen.test/.well-known/webfinger?resource={uri}"' in xml.text
    assert (await instance.client.get("/.well-known/host-meta.json")).json()["links"][0]["rel"] == "lrdd"
    links = (await instance.client.get("/.well-known/nodeinfo")).json()["links"]
    assert {link["href"] for link in links} == {
        "http://fedigen.test/nodeinfo/2.0",
        "http://fedigen.test/nodeinfo/2.1",
    }
    for version in ("2.0", "2.1"):
        info = (await instance.client.get(f"/nodeinfo/{version}")).json()
        assert info["version"] == version and info["software"]["name"] == "fedigen"
        assert info["protocols"] == ["activitypub"]
        # alice, bob and the generation bot; only alice posted
        assert info["usage"]["users"] == {"total": 3, "activeMonth": 1, "activeHalfyear": 1}
        assert info["usage"]["localPosts"] == 2
    assert (await instance.client.get("/nodeinfo/1.0")).status_code == 404


async def test_actor_document_has_what_mastodon_and_bridgy_read(instance: Instance) -> None:
    await instance.create_account("alice", locked=True)
    r = await instance.client.get("/users/alice", headers=AS2)
    assert r.headers["content-type"].startswith("application/activity+json")
    doc = r.json()
    for key in (
        "id", "type", "preferredUsername", "inbox", "outbox", "followers", "following", "featured",
        "endpoints", "publicKey", "name", "summary", "icon", "url", "manuallyApprovesFollowers",
        "discoverable", "indexable", "published", "attachment", "alsoKnownAs",
    ):  # fmt: skip
        assert key in doc, key
    assert doc["type"] == "Person" and doc["manuallyApprovesFollowers"] is True
    assert doc["publicKey"]["id"] == "http://fedigen.test/users/alice#main-key"
    assert doc["publicKey"]["owner"] == doc["id"]
    assert "BEGIN PUBLIC KEY" in doc["publicKey"]["publicKeyPem"]
    assert doc["endpoints"]["sharedInbox"] == "http://fedigen.test/inbox"
    icon = await instance.client.get(doc["icon"]["url"])
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/png"
    # Browsers are sent to the profile page.
    page = await instance.client.get("/users/alice", headers={"Accept": "text/html"})
    assert page.status_code == 302 and page.headers["location"] == "http://fedigen.test/@alice"
    inst_actor = (await instance.client.get("/actor", headers=AS2)).json()
    assert inst_actor["type"] == "Application" and inst_actor["publicKey"]["owner"] == inst_actor["id"]
    outbox = (await instance.client.get(inst_actor["outbox"], headers=AS2)).json()
    assert outbox["type"] == "OrderedCollection" and outbox["totalItems"] == 0


async def test_outbox_and_notes_dereference_and_hide_private_posts(instance: Instance) -> None:
    await instance.create_account("alice")
    public_id = await _post(instance, "alice", "public post")
    private_id = await _post(instance, "alice", "followers only", "followers")
    outbox = (await instance.client.get("/users/alice/outbox", headers=AS2)).json()
    assert outbox["type"] == "OrderedCollection" and outbox["totalItems"] == 1
    page = (await instance.client.get(outbox["first"], headers=AS2)).json()
    assert page["type"] == "OrderedCollectionPage"
    assert [i["object"]["id"] for i in page["orderedItems"]] == [
        f"http://fedigen.test/users/alice/statuses/{public_id}"
    ]
    note = (await instance.client.get(f"/users/alice/statuses/{public_id}", headers=AS2)).json()
    assert note["type"] == "Note" and note["attributedTo"] == "http://fedigen.test/users/alice"
    create = (await instance.client.get(f"/users/alice/statuses/{public_id}/activity", headers=AS2)).json()
    assert create["type"] == "Create" and create["object"]["id"] == note["id"]
    hidden = await instance.client.get(f"/users/alice/statuses/{private_id}", headers=AS2)
    assert hidden.status_code == 404


async def test_followers_collection_pages(instance: Instance, make_instance: Any) -> None:
    from fedigen.social import follows, lookup

    await instance.create_account("alice")
    async with AsyncExitStack() as stack:
        other = await make_instance(stack, "http://other.test")
        for i in range(25):
            await other.create_account(f"fan{i}")
        target = await lookup.find_actor(other.services, "@alice@fedigen.test")
        async with other.services.sessions() as session, session.begin():
            fans = list(await session.scalars(select(Actor).where(Actor.username.like("fan%"))))
            for fan in fans:
                await follows.follow(other.services, session, fan, target)
        await other.drain()
        await instance.drain()
    coll = (await instance.client.get("/users/alice/followers", headers=AS2)).json()
    assert coll["totalItems"] == 25
    first = (await instance.client.get(coll["first"], headers=AS2)).json()
    second = (await instance.client.get(first["next"], headers=AS2)).json()
    assert len(first["orderedItems"]) == 20 and len(second["orderedItems"]) == 5
    assert "next" not in second
    assert set(first["orderedItems"]) | set(second["orderedItems"]) == {
        f"http://other.test/users/fan{i}" for i in range(25)
    }
    following_coll = (await instance.client.get("/users/alice/following", headers=AS2)).json()
    assert following_coll["totalItems"] == 0


async def test_authorized_fetch_requires_signed_gets(make_instance: Any) -> None:
    async with AsyncExitStack() as stack:
        secure = await make_instance(stack, "http://secure.test", federation={"authorized_fetch": True})
        reader = await make_instance(stack, "http://reader.test")
        await secure.create_account("alice")
        await reader.create_account("bob")
        unsigned = await secure.client.get("/users/alice", headers=AS2)
        assert unsigned.status_code == 401 and "WWW-Authenticate" in unsigned.headers
        # The instance actor and discovery stay public: verifying a signature may need them.
        assert (await secure.client.get("/actor", headers=AS2)).status_code == 200
        assert (await secure.client.get("/.well-known/nodeinfo")).status_code == 200
        # Another server's signed fetch (through its instance actor key) is served.
        fetched = await reader.services.fetcher.fetch_object("http://secure.test/users/alice")
        assert fetched.document["preferredUsername"] == "alice"
        async with reader.services.sessions() as session:
            bob = (await session.scalars(select(Actor).where(Actor.username == "bob"))).one()
        headers = sign_request(
            method="GET", url="http://secure.test/users/alice/outbox", key_id=bob.public_key_id or "",
            private_key_pem=bob.private_key_pem or "",
        )  # fmt: skip
        ok = await secure.client.get("/users/alice/outbox", headers={**AS2, **headers})
        assert ok.status_code == 200
        tampered = {**headers, "Signature": headers["Signature"].replace('signature="', 'signature="AAAA')}
        assert (
            await secure.client.get("/users/alice/outbox", headers={**AS2, **tampered})
        ).status_code == 401
