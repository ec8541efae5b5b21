"""A Note's likes and shares, and pinned posts (the featured collection), over the real HTTP surfaces:
our Notes name their ``likes`` and ``shares`` with totals that follow favourites and boosts, served at
those URLs under the Note's own visibility rule; counts a remote Note reports are shown; pinning sends
``Add`` / ``Remove`` to followers and fills our featured collection; a remote actor's featured
collection is read after it is fetched, and the ``Add`` / ``Remove`` Mastodon sends (without an id)
change its pins.

Remote documents follow Mastodon's serializers: ActivityPub::NoteSerializer (likes / shares as
``{"id", "type": "Collection", "totalItems"}``, contentMap, replies), the featured collection of
ActivityPub::CollectionsController (an OrderedCollection of embedded Notes), and
ActivityPub::AddNoteSerializer / RemoveNoteSerializer (``type``, ``actor``, ``object`` = the post's id,
``target`` = the featured collection; no ``id``, no addressing), as in mastodon/mastodon
app/serializers/activitypub/ and app/controllers/activitypub/collections_controller.rb.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from storage.models import InboxItem, Status, StatusPin
from tests.api.conftest import bearer, issue_token
from tests.conftest import HostRouter, Instance
from tests.remote_actor import AS2_TYPE, PUBLIC, RemoteActor, RemoteServer, verify_delivery
from tests.security.test_slow_servers import Gate, unrelated_requests_go_through, while_waiting

BASE = "http://fedigen.test"
ALICE = f"{BASE}/users/alice"
AS2 = {"Accept": AS2_TYPE}
# The context Mastodon's adapter writes for a Note (context_extensions of NoteSerializer).
MASTODON_NOTE_CONTEXT: list[Any] = [
    "https://www.w3.org/ns/activitystreams",
    {
        "ostatus": "http://ostatus.org#", "atomUri": "ostatus:atomUri",
        "inReplyToAtomUri": "ostatus:inReplyToAtomUri", "conversation": "ostatus:conversation",
        "sensitive": "as:sensitive", "toot": "http://joinmastodon.org/ns#", "votersCount": "toot:votersCount",
    },
]  # fmt: skip


def mastodon_note(
    actor: RemoteActor, number: int, text: str, *, likes: int | None = 0, shares: int | None = 0
) -> dict[str, Any]:
    """A public Note as Mastodon 4.4 serializes it (ActivityPub::NoteSerializer), without @context."""
    note_id = f"{actor.ap_id}/statuses/{number}"
    content = f"<p>{text}</p>"
    note: dict[str, Any] = {
        "id": note_id, "type": "Note", "summary": None, "inReplyTo": None,
        "published": "2026-01-02T10:00:00Z", "url": f"{actor.server.base}/@{actor.username}/{number}",
        "attributedTo": actor.ap_id, "to": [PUBLIC], "cc": [actor.followers], "sensitive": False,
        "atomUri": note_id, "inReplyToAtomUri": None,
        "conversation": f"tag:{actor.server.host},2026-01-02:objectId={number}:objectType=Conversation",
        "content": content, "contentMap": {"en": content}, "attachment": [], "tag": [],
        "replies": {
            "id": f"{note_id}/replies", "type": "Collection",
            "first": {"type": "CollectionPage", "partOf": f"{note_id}/replies", "items": [],
                      "next": f"{note_id}/replies?only_other_accounts=true&page=true"},
        },
    }  # fmt: skip
    if likes is not None:
        note["likes"] = {"id": f"{note_id}/likes", "type": "Collection", "totalItems": likes}
    if shares is not None:
        note["shares"] = {"id": f"{note_id}/shares", "type": "Collection", "totalItems": shares}
    return note


def featured_collection(actor: RemoteActor, items: list[Any]) -> dict[str, Any]:
    """An actor's featured collection as Mastodon serves it: embedded Notes, newest pin first."""
    return {
        "@context": MASTODON_NOTE_CONTEXT, "id": f"{actor.ap_id}/collections/featured",
        "type": "OrderedCollection", "totalItems": len(items), "orderedItems": items,
    }  # fmt: skip


def mastodon_add(actor: RemoteActor, kind: str, object_id: str, target: str | None = None) -> dict[str, Any]:
    """Add or Remove as Mastodon sends a pin or an unpin: no id, no addressing."""
    return {"@context": "https://www.w3.org/ns/activitystreams", "type": kind, "actor": actor.ap_id,
            "object": object_id, "target": target or f"{actor.ap_id}/collections/featured"}  # fmt: skip


# --- helpers ----------------------------------------------------------------------------------------------


async def send(inst: Instance, actor: RemoteActor, activity: dict[str, Any], path: str = "/inbox") -> None:
    response = await actor.post(inst.client, path, activity)
    assert response.status_code == 202, response.text
    await inst.drain()


async def token(inst: Instance, name: str = "alice") -> dict[str, str]:
    return bearer(await issue_token(inst, name))


async def api_post(inst: Instance, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    response = await inst.client.post("/api/v1/statuses", json=fields, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def as2(inst: Instance, url: str) -> Any:
    response = await inst.client.get(url, headers=AS2)
    assert response.status_code == 200, (url, response.status_code, response.text)
    assert response.headers["content-type"].startswith(AS2_TYPE)
    return response.json()


async def followed_by(inst: Instance, actor: RemoteActor) -> None:
    """``actor`` follows alice (accepted at once)."""
    await send(inst, actor, actor.activity("Follow", ALICE, to=[ALICE]), "/users/alice/inbox")


async def alice_follows(inst: Instance, target: RemoteActor) -> None:
    """alice follows ``target`` through the API, and it accepts."""
    remote_id = await account_id(inst, target.ap_id)
    followed = await inst.client.post(f"/api/v1/accounts/{remote_id}/follow", headers=await token(inst))
    assert followed.status_code == 200, followed.text
    await inst.drain()
    follow = next(r.json for r in target.server.posts() if r.json.get("type") == "Follow")
    await send(inst, target, target.activity("Accept", {k: v for k, v in follow.items() if k != "@context"}))


async def account_id(inst: Instance, ap_id: str) -> int:
    async with inst.services.sessions() as session, session.begin():
        return (await inst.services.resolver.get_actor(ap_id, session=session)).id


async def status_id(inst: Instance, ap_id: str) -> int | None:
    async with inst.services.sessions() as session:
        return await session.scalar(select(Status.id).where(Status.ap_id == ap_id))


async def pinned_uris(inst: Instance, actor_ap_id: str) -> list[str]:
    """What the client API lists as the account's pinned posts."""
    listed = await inst.client.get(
        f"/api/v1/accounts/{await account_id(inst, actor_ap_id)}/statuses", params={"pinned": "true"}
    )
    assert listed.status_code == 200, listed.text
    return [s["uri"] for s in listed.json()]


def deliveries(remote: RemoteServer, kind: str) -> list[Any]:
    return [r for r in remote.posts() if r.json.get("type") == kind]


# --- likes and shares of our Notes ------------------------------------------------------------------


async def test_a_note_names_its_likes_and_shares_with_totals_that_follow_reactions(
    fedigen: Instance, remote: RemoteServer, bob: RemoteActor, carol: RemoteActor
) -> None:
    await followed_by(fedigen, bob)
    created = await api_post(fedigen, await token(fedigen), status="count me")
    note_url = created["uri"]
    await fedigen.drain()
    # The Create bob's server received: a new Note, nobody has liked it yet.
    [create] = deliveries(remote, "Create")
    assert create.json["object"]["likes"] == {
        "id": f"{note_url}/likes",
        "type": "Collection",
        "totalItems": 0,
    }
    assert create.json["object"]["shares"] == {
        "id": f"{note_url}/shares",
        "type": "Collection",
        "totalItems": 0,
    }

    await send(fedigen, bob, bob.activity("Like", note_url))
    await send(fedigen, carol, carol.activity("Like", note_url))
    announce = carol.activity("Announce", note_url, to=[PUBLIC], cc=[ALICE, carol.followers])
    await send(fedigen, carol, announce)
    note = await as2(fedigen, note_url)
    assert note["likes"] == {"id": f"{note_url}/likes", "type": "Collection", "totalItems": 2}
    assert note["shares"] == {"id": f"{note_url}/shares", "type": "Collection", "totalItems": 1}
    # Served at their ids, as Mastodon serves them: the total, no items.
    likes = await as2(fedigen, f"{note_url}/likes")
    assert likes == {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{note_url}/likes",
                     "type": "Collection", "totalItems": 2}  # fmt: skip
    assert (await as2(fedigen, f"{note_url}/shares"))["totalItems"] == 1
    # The outbox and the Create at its id say the same.
    page = await as2(fedigen, "/users/alice/outbox?page=1")
    assert page["orderedItems"][0]["object"]["likes"]["totalItems"] == 2
    assert (await as2(fedigen, f"{note_url}/activity"))["object"]["shares"]["totalItems"] == 1
    # The client API agrees.
    shown = (await fedigen.client.get(f"/api/v1/statuses/{created['id']}")).json()
    assert (shown["favourites_count"], shown["reblogs_count"]) == (2, 1)

    await send(fedigen, carol, carol.activity("Undo", {k: v for k, v in announce.items() if k != "@context"}))
    assert (await as2(fedigen, f"{note_url}/shares"))["totalItems"] == 0
    assert (await as2(fedigen, note_url))["shares"]["totalItems"] == 0


async def test_likes_and_shares_follow_the_notes_own_visibility(fedigen: Instance) -> None:
    alice = await token(fedigen)
    private = await api_post(fedigen, alice, status="for followers", visibility="private")
    for suffix in ("", "/likes", "/shares"):
        hidden = await fedigen.client.get(private["uri"] + suffix, headers=AS2)
        assert hidden.status_code == 404, suffix
    public = await api_post(fedigen, alice, status="soon gone")
    deleted = await fedigen.client.delete(f"/api/v1/statuses/{public['id']}", headers=alice)
    assert deleted.status_code == 200
    assert (await fedigen.client.get(public["uri"], headers=AS2)).status_code == 410
    for suffix in ("/likes", "/shares"):
        assert (await fedigen.client.get(public["uri"] + suffix, headers=AS2)).status_code == 404
    await fedigen.create_account("zoe")
    elsewhere = public["uri"].replace("/users/alice/", "/users/zoe/")
    assert (await fedigen.client.get(elsewhere + "/likes", headers=AS2)).status_code == 404


async def test_counts_a_remote_note_reports_are_shown_and_moved_by_reactions_here(
    fedigen: Instance, remote: RemoteServer, bob: RemoteActor
) -> None:
    await alice_follows(fedigen, bob)
    note = mastodon_note(bob, 1, "popular elsewhere", likes=12, shares=3)
    await send(fedigen, bob, bob.create(note, to=note["to"], cc=note["cc"]))
    sid = await status_id(fedigen, note["id"])
    assert sid is not None
    alice = await token(fedigen)

    async def counts() -> tuple[int, int]:
        shown = (await fedigen.client.get(f"/api/v1/statuses/{sid}", headers=alice)).json()
        return shown["favourites_count"], shown["reblogs_count"]

    assert await counts() == (12, 3)
    assert (await fedigen.client.post(f"/api/v1/statuses/{sid}/favourite", headers=alice)).status_code == 200
    assert (await fedigen.client.post(f"/api/v1/statuses/{sid}/reblog", headers=alice)).status_code == 200
    assert await counts() == (13, 4)
    assert (
        await fedigen.client.post(f"/api/v1/statuses/{sid}/unfavourite", headers=alice)
    ).status_code == 200
    assert await counts() == (12, 4)
    # An edit reports new counts; one that reports none keeps the last ones.
    updated = {
        **note, "updated": "2026-01-03T10:00:00Z",
        "likes": {**note["likes"], "totalItems": 40}, "shares": {**note["shares"], "totalItems": 9},
    }  # fmt: skip
    await send(fedigen, bob, bob.activity("Update", updated))
    assert await counts() == (40, 9)
    bare = {k: v for k, v in updated.items() if k not in ("likes", "shares")}
    await send(fedigen, bob, bob.activity("Update", {**bare, "updated": "2026-01-04T10:00:00Z"}))
    assert await counts() == (40, 9)
    # Counts that are not counts are not believed: the post shows ours.
    odd = mastodon_note(bob, 2, "odd counts", likes=None, shares=None)
    odd["likes"] = {"type": "Collection", "totalItems": -5}
    odd["shares"] = {"type": "Collection", "totalItems": "many"}
    await send(fedigen, bob, bob.create(odd, to=odd["to"], cc=odd["cc"]))
    odd_id = await status_id(fedigen, odd["id"])
    shown = (await fedigen.client.get(f"/api/v1/statuses/{odd_id}")).json()
    assert (shown["favourites_count"], shown["reblogs_count"]) == (0, 0)


# --- our pins ----------------------------------------------------------------------------------------------


async def test_pins_are_sent_as_add_and_remove_and_the_featured_collection_lists_the_notes(
    fedigen: Instance, remote: RemoteServer, bob: RemoteActor
) -> None:
    await followed_by(fedigen, bob)
    alice = await token(fedigen)
    first = await api_post(fedigen, alice, status="pin me")
    private = await api_post(fedigen, alice, status="pin me too, followers", visibility="private")
    await fedigen.drain()
    remote.received.clear()
    featured = f"{ALICE}/collections/featured"
    assert (await as2(fedigen, ALICE))["featured"] == featured

    pinned = await fedigen.client.post(f"/api/v1/statuses/{first['id']}/pin", headers=alice)
    assert pinned.status_code == 200 and pinned.json()["pinned"] is True
    assert (
        await fedigen.client.post(f"/api/v1/statuses/{private['id']}/pin", headers=alice)
    ).status_code == 200
    await fedigen.drain()
    adds = deliveries(remote, "Add")
    assert [a.json["object"] for a in adds] == [first["uri"], private["uri"]]
    for add in adds:
        assert add.url == f"{remote.base}/inbox"  # bob's server, once
        assert add.json["actor"] == ALICE and add.json["target"] == featured
        assert add.json["to"] == [f"{ALICE}/followers"]
        assert (await verify_delivery(add, fedigen.client)).owner == ALICE
    assert adds[0].json["cc"] == [PUBLIC] and adds[1].json["cc"] == []  # a followers-only one stays so

    collection = await as2(fedigen, featured)
    assert collection["id"] == featured and collection["type"] == "OrderedCollection"
    assert collection["totalItems"] == 2
    newest, older = collection["orderedItems"]
    assert newest == private["uri"]  # a followers-only post is listed by its id alone, as Mastodon does
    assert older["id"] == first["uri"] and older["type"] == "Note" and older["attributedTo"] == ALICE
    assert older["likes"]["totalItems"] == 0 and older["contentMap"] == {"en": older["content"]}

    unpinned = await fedigen.client.post(f"/api/v1/statuses/{first['id']}/unpin", headers=alice)
    assert unpinned.status_code == 200 and unpinned.json()["pinned"] is False
    await fedigen.drain()
    [remove] = deliveries(remote, "Remove")
    assert (remove.json["object"], remove.json["target"], remove.json["actor"]) == (
        first["uri"],
        featured,
        ALICE,
    )
    assert (await as2(fedigen, featured))["orderedItems"] == [private["uri"]]
    # Unpinning what is not pinned changes and sends nothing.
    again = await fedigen.client.post(f"/api/v1/statuses/{first['id']}/unpin", headers=alice)
    assert again.status_code == 200
    await fedigen.drain()
    assert len(deliveries(remote, "Remove")) == 1


# --- a remote actor's pins ---------------------------------------------------------------------------------


async def test_a_remote_actors_featured_collection_is_read_after_it_is_fetched(
    fedigen: Instance, remote: RemoteServer, bob: RemoteActor, carol: RemoteActor
) -> None:
    n1 = mastodon_note(bob, 1, "pinned first", likes=5, shares=2)
    n2 = mastodon_note(bob, 2, "pinned by id")
    n3, n4, n5, n6 = (mastodon_note(bob, n, f"pin {n}") for n in (3, 4, 5, 6))
    for note in (n2, n3, n4, n5, n6):
        remote.serve({"@context": MASTODON_NOTE_CONTEXT, **note})
    not_bobs = mastodon_note(carol, 9, "carol's, listed in bob's collection")
    elsewhere = "http://elsewhere.test/users/x/statuses/1"
    featured = f"{bob.ap_id}/collections/featured"
    remote.serve(featured_collection(bob, [n1, n2["id"], not_bobs, elsewhere, n3["id"], n4["id"], n5, n6]))

    await account_id(fedigen, bob.ap_id)  # bob's actor document is fetched ...
    await fedigen.drain()  # ... and the worker reads his featured collection
    assert await pinned_uris(fedigen, bob.ap_id) == [n1["id"], n2["id"], n3["id"], n4["id"]]
    assert len(remote.requests_to(featured)) == 1
    # At most five of the listed posts are looked at: the sixth and later are never fetched.
    assert remote.requests_to(n5["id"]) == [] and remote.requests_to(n6["id"]) == []
    assert await status_id(fedigen, not_bobs["id"]) is None
    shown = (await fedigen.client.get(f"/api/v1/statuses/{await status_id(fedigen, n1['id'])}")).json()
    assert shown["favourites_count"] == 5 and shown["language"] == "en"
    await fedigen.drain()
    assert len(remote.requests_to(featured)) == 1  # not read again until bob is fetched again

    # bob's profile changes (Update{Person}): his collection is read again, and his pins follow it.
    remote.serve(featured_collection(bob, [n3]))
    await send(fedigen, bob, bob.activity("Update", bob.document(), to=[PUBLIC]))
    await fedigen.drain()
    assert await pinned_uris(fedigen, bob.ap_id) == [n3["id"]]
    # A collection that cannot be read changes nothing.
    remote.delete(featured)
    await send(fedigen, bob, bob.activity("Update", bob.document(), to=[PUBLIC]))
    await fedigen.drain()
    assert len(remote.requests_to(featured)) == 3
    assert await pinned_uris(fedigen, bob.ap_id) == [n3["id"]]


async def test_reading_a_featured_collection_holds_no_transaction_open(
    fedigen: Instance, router: HostRouter
) -> None:
    slow = RemoteServer("slow.test")
    gate = Gate(slow.app)
    router.add(slow.host, gate)
    someone = slow.add_actor("someone")
    pinned = mastodon_note(someone, 1, "pinned far away")
    slow.serve(featured_collection(someone, [pinned]))
    await fedigen.create_account("carol")
    carol = await token(fedigen, "carol")
    # The actor is known already (no fetch, no avatar to copy): the worker then waits on its server for
    # the collection alone.
    document = {k: v for k, v in someone.document().items() if k != "icon"}
    async with fedigen.services.sessions() as session, session.begin():
        await fedigen.services.resolver.store_actor(document, someone.ap_id, session=session)
    await while_waiting(gate, fedigen.drain(), lambda: unrelated_requests_go_through(fedigen, carol))
    assert await pinned_uris(fedigen, someone.ap_id) == [pinned["id"]]


async def test_add_and_remove_as_mastodon_sends_them_pin_and_unpin(
    fedigen: Instance, router: HostRouter, remote: RemoteServer, bob: RemoteActor, carol: RemoteActor
) -> None:
    note = mastodon_note(bob, 7, "newly pinned")
    remote.serve({"@context": MASTODON_NOTE_CONTEXT, **note})
    add = mastodon_add(bob, "Add", note["id"])
    body = json.dumps(add).encode()
    signed = bob.sign(f"{BASE}/inbox", body)
    for _ in range(2):  # the second is an exact replay of the first
        replayed = await fedigen.client.post("/inbox", content=body, headers=signed)
        assert replayed.status_code == 202, replayed.text
    await fedigen.drain()
    async with fedigen.services.sessions() as session:
        items = list(await session.scalars(select(InboxItem).where(InboxItem.ap_type == "Add")))
    assert len(items) == 1 and items[0].activity_ap_id.startswith(f"{bob.ap_id}#add-")
    # The post, which we lacked, was fetched from bob's server and stored.
    assert await pinned_uris(fedigen, bob.ap_id) == [note["id"]]

    await send(fedigen, bob, mastodon_add(bob, "Remove", note["id"]))
    assert await pinned_uris(fedigen, bob.ap_id) == []

    # Adds that pin nothing: another collection (Mastodon's featured hashtags), another actor's post,
    # a post on another host, an embedded post of someone else's.
    carols = mastodon_note(carol, 3, "carol's")
    remote.serve({"@context": MASTODON_NOTE_CONTEXT, **carols})
    tag = {"type": "Hashtag", "href": f"{remote.base}/tags/cats", "name": "#cats"}
    tags_add = {**mastodon_add(bob, "Add", note["id"], f"{bob.ap_id}/collections/tags"), "object": tag}
    await send(fedigen, bob, tags_add)
    await send(fedigen, bob, mastodon_add(bob, "Add", note["id"], f"{bob.ap_id}/collections/tags"))
    await send(fedigen, bob, mastodon_add(bob, "Add", carols["id"]))
    await send(fedigen, bob, mastodon_add(bob, "Add", "http://elsewhere.test/users/x/statuses/1"))
    await send(fedigen, bob, {**mastodon_add(bob, "Add", carols["id"]), "object": carols})
    assert await pinned_uris(fedigen, bob.ap_id) == []
    assert await pinned_uris(fedigen, carol.ap_id) == []
    async with fedigen.services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(StatusPin)) == 0
    # Nothing was fetched for them: carol's post stays on her server, the other host is never asked.
    assert await status_id(fedigen, carols["id"]) is None
    assert [r for r in router.requests if r.url.host == "elsewhere.test"] == []

    # A post sent embedded in the Add (as other servers send it) is stored from it, without a fetch.
    embedded = mastodon_note(bob, 8, "pinned, embedded")
    await send(fedigen, bob, {**mastodon_add(bob, "Add", embedded["id"]), "object": embedded})
    assert await pinned_uris(fedigen, bob.ap_id) == [embedded["id"]]
    assert remote.requests_to(embedded["id"]) == []


async def test_a_remote_account_keeps_at_most_five_pins_its_newest(
    fedigen: Instance, remote: RemoteServer, bob: RemoteActor
) -> None:
    await alice_follows(fedigen, bob)
    notes = [mastodon_note(bob, n, f"note {n}") for n in range(1, 8)]
    for note in notes:
        await send(fedigen, bob, bob.create(note, to=note["to"], cc=note["cc"]))
    for note in notes:
        await send(fedigen, bob, mastodon_add(bob, "Add", note["id"]))
    assert await pinned_uris(fedigen, bob.ap_id) == [n["id"] for n in reversed(notes)][:5]
