"""Real documents from Mastodon 4.5, GoToSocial, Misskey, Pleroma/Akkoma and Pixelfed (tests/peer_shapes.py),
each driven through the real HTTP inbox with real signatures on first contact, then read back through the
client API as an app would; then each one's Delete, as that software sends it.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from storage.models import Actor, Notification, Status
from tests.api.conftest import bearer, issue_token
from tests.conftest import Instance
from tests.peer_shapes import GOTOSOCIAL, MASTODON, MISSKEY, PEERS, Peer, account_on
from tests.remote_actor import RemoteActor, RemoteServer

ALICE = "http://fedigen.test/users/alice"
INBOX = "/users/alice/inbox"


async def send(fedigen: Instance, peer: Peer, actor: RemoteActor, activity: dict[str, object]) -> None:
    response = await actor.post(fedigen.client, INBOX, activity, key_id=peer.key_id(actor))
    assert response.status_code == 202, response.text
    await fedigen.drain()


@pytest.mark.parametrize("peer", PEERS, ids=[p.software for p in PEERS])
async def test_an_image_post_mentioning_us_is_stored_shown_and_deleted(
    fedigen: Instance, remote: RemoteServer, peer: Peer
) -> None:
    actor = account_on(remote, peer, "sam")
    note = peer.note(actor, ALICE)
    await send(fedigen, peer, actor, peer.create(actor, note))

    async with fedigen.services.sessions() as session:
        row = await session.scalar(select(Status).where(Status.ap_id == note["id"]))
        assert row is not None, f"{peer.software}'s post was not stored"
        author = await session.get(Actor, row.actor_id)
        notified = await session.scalar(select(func.count()).select_from(Notification).where(
            Notification.status_id == row.id, Notification.type == "mention"))  # fmt: skip
    assert author is not None and author.ap_id == actor.ap_id and author.inbox_url == actor.inbox
    assert notified == 1

    token = await issue_token(fedigen, "alice")
    shown = await fedigen.client.get(f"/api/v1/statuses/{row.id}", headers=bearer(token))
    assert shown.status_code == 200
    entity = shown.json()
    assert entity["uri"] == note["id"] and entity["url"] == note.get("url", note["id"])
    assert entity["account"]["acct"] == peer.expected_acct(actor)
    assert entity["visibility"] == "public" and entity["mentions"][0]["url"] in (
        ALICE,
        "http://fedigen.test/@alice",
    )
    # Misskey's lone U+200B summary is its way of saying "no content warning".
    assert entity["spoiler_text"] == "" and entity["sensitive"] is False
    [media] = entity["media_attachments"]
    [sent_image] = note["attachment"]
    assert media["type"] == "image" and media["remote_url"] == sent_image["url"]
    assert media["description"] == (sent_image.get("name") or None) or media["description"] == (
        sent_image.get("name") or ""
    )
    if "blurhash" in sent_image:
        assert media["blurhash"] == sent_image["blurhash"]
    if "contentMap" in note and "en" in note["contentMap"]:
        assert entity["language"] == "en"
    if "likes" in note:  # Mastodon's own counts are shown, as Mastodon shows another server's
        assert entity["favourites_count"] == note["likes"]["totalItems"]
        assert entity["reblogs_count"] == note["shares"]["totalItems"]

    await send(fedigen, peer, actor, peer.delete(actor, note))
    gone = await fedigen.client.get(f"/api/v1/statuses/{row.id}", headers=bearer(token))
    assert gone.status_code == 404, f"{peer.software}'s Delete was not applied"


async def test_first_contact_from_gotosocial_and_misskey_actor_shapes(
    fedigen: Instance, remote: RemoteServer
) -> None:
    # GoToSocial: the key stub at /main-key; Misskey: preferredUsername differs from the actor's path.
    gts = account_on(remote, GOTOSOCIAL, "tobi")
    await send(fedigen, GOTOSOCIAL, gts, gts.activity("Follow", ALICE))
    misskey = account_on(remote, MISSKEY, "x")
    await send(fedigen, MISSKEY, misskey, misskey.activity("Follow", ALICE))
    token = await issue_token(fedigen, "alice")
    followers = await fedigen.client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
    alice_id = followers.json()["id"]
    listed = await fedigen.client.get(f"/api/v1/accounts/{alice_id}/followers", headers=bearer(token))
    assert sorted(a["acct"] for a in listed.json()) == sorted([f"tobi@{remote.host}", f"kyo@{remote.host}"])
    accepts = [r.json for r in remote.posts() if r.json.get("type") == "Accept"]
    assert {a["object"]["actor"] for a in accepts} == {gts.ap_id, misskey.ap_id}
    # Only the Follow's id, type, actor and object come back, as Mastodon embeds it.
    assert all(set(a["object"]) == {"id", "type", "actor", "object"} for a in accepts)


async def test_a_delete_of_an_actor_never_seen_is_accepted_without_fetching(
    fedigen: Instance, remote: RemoteServer
) -> None:
    # The deleted account's key is gone with it (its server answers 410): nothing is fetched.
    ghost = remote.add_actor("ghost")
    remote.delete(ghost.ap_id)
    delete = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{ghost.ap_id}#delete",
              "type": "Delete", "actor": ghost.ap_id, "object": ghost.ap_id,
              "to": ["https://www.w3.org/ns/activitystreams#Public"]}  # fmt: skip
    response = await ghost.post(fedigen.client, "/inbox", delete)
    assert response.status_code == 202
    assert remote.received == [], "nothing was fetched"
    async with fedigen.services.sessions() as session:
        assert await session.scalar(select(Actor.id).where(Actor.ap_id == ghost.ap_id)) is None


@pytest.mark.parametrize("peer", [MASTODON, MISSKEY], ids=["mastodon", "misskey"])
async def test_a_quote_of_our_post_is_kept_with_what_it_quotes(
    fedigen: Instance, remote: RemoteServer, peer: Peer
) -> None:
    # Mastodon 4.5 quotes with FEP-044f ``quote`` and the stamp we issued; Misskey with _misskey_quote
    # and quoteUrl, and the "RE: URL" line in its content. Neither mentions alice: the quote alone
    # makes the post hers to see.
    from fedigen.social.posts import PostRequest, create_post

    async with fedigen.services.sessions() as session, session.begin():
        alice = (await session.scalars(select(Actor).where(Actor.username == "alice"))).one()
        ours = await create_post(fedigen.services, session, alice, PostRequest(text="a red boat"))
    actor = account_on(remote, peer, "quoter")
    note = peer.note(actor, ALICE)
    note["tag"], note["cc"] = [], [actor.followers]
    if peer is MASTODON:
        note |= {"quote": ours.ap_id, "quoteAuthorization": f"{ALICE}/quote_authorizations/1"}
    else:
        note |= {"_misskey_quote": ours.ap_id, "quoteUrl": ours.ap_id,
                 "content": f"<p>look at this<br><br>RE: {ours.ap_id}</p>"}  # fmt: skip
    await send(fedigen, peer, actor, peer.create(actor, note))
    async with fedigen.services.sessions() as session:
        row = await session.scalar(select(Status).where(Status.ap_id == note["id"]))
    assert row is not None and row.extra.get("quote_of") == ours.ap_id
