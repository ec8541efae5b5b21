"""Fetching what is not public, and the details of content negotiation peers and caches rely on.

- A followers-only or direct post is served to a signed GET from an actor who may see it (a follower,
  an account it mentions), as Mastodon fetches them to attach replies; everyone else gets 404.
- Every content-negotiated URL answers with ``Vary: Accept`` (redirects and errors too).
- The instance actor's preferredUsername is a valid username, even when the instance has a port.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from activitypub.signing import sign_request
from fedigen.social import posts
from fedigen.social.posts import PostRequest
from storage.models import Actor
from tests.conftest import HostRouter, Instance, make_settings, start_instance
from tests.remote_actor import RemoteActor, keypair

AS2 = {"Accept": "application/activity+json"}
ALICE = "http://fedigen.test/users/alice"


async def alice_posts(inst: Instance, text: str, visibility: str) -> str:
    async with inst.services.sessions() as session, session.begin():
        alice = (await session.scalars(select(Actor).where(Actor.username == "alice"))).one()
        status = await posts.create_post(
            inst.services, session, alice, PostRequest(text=text, visibility=visibility)
        )
        return status.ap_id


def signed_get(actor: RemoteActor, url: str, *, private_pem: str | None = None) -> dict[str, str]:
    return {**AS2, **sign_request(method="GET", url=url, key_id=actor.key_id,
                                  private_key_pem=private_pem or actor.keys.private_pem)}  # fmt: skip


async def test_followers_only_posts_are_served_to_followers_and_mentioned_accounts(
    fedigen: Instance, bob: RemoteActor, carol: RemoteActor
) -> None:
    follow = bob.activity("Follow", ALICE, to=[ALICE])
    assert (await bob.post(fedigen.client, "/users/alice/inbox", follow)).status_code == 202
    await fedigen.drain()
    await carol.post(
        fedigen.client, "/users/alice/inbox", carol.create(carol.note("<p>hi</p>", mention=ALICE))
    )
    await fedigen.drain()  # carol is known here, but does not follow alice
    for_followers = await alice_posts(fedigen, "for my followers", "followers")
    to_carol = await alice_posts(fedigen, f"just for you @carol@{carol.server.host}", "direct")

    # bob follows alice: he may read her followers-only post (and its Create), not the direct one.
    note = await fedigen.client.get(for_followers, headers=signed_get(bob, for_followers))
    assert note.status_code == 200 and note.json()["id"] == for_followers
    assert note.headers["content-type"].startswith("application/activity+json")
    create_url = for_followers + "/activity"
    assert (await fedigen.client.get(create_url, headers=signed_get(bob, create_url))).status_code == 200
    assert (await fedigen.client.get(to_carol, headers=signed_get(bob, to_carol))).status_code == 404
    # carol is mentioned in the direct post, and does not follow alice.
    direct = await fedigen.client.get(to_carol, headers=signed_get(carol, to_carol))
    assert direct.status_code == 200 and "just for you" in direct.json()["content"]
    assert (
        await fedigen.client.get(for_followers, headers=signed_get(carol, for_followers))
    ).status_code == 404
    # Unsigned, badly signed, or signed for another URL: 404, as if there were nothing.
    assert (await fedigen.client.get(for_followers, headers=AS2)).status_code == 404
    forged = signed_get(bob, for_followers, private_pem=keypair("rogue").private_pem)
    assert (await fedigen.client.get(for_followers, headers=forged)).status_code == 404
    elsewhere = signed_get(bob, to_carol)
    assert (await fedigen.client.get(for_followers, headers=elsewhere)).status_code == 404
    # A browser is never shown a private post.
    assert (await fedigen.client.get(for_followers, headers={"Accept": "text/html"})).status_code == 404


async def test_negotiated_urls_vary_on_accept(fedigen: Instance) -> None:
    public = await alice_posts(fedigen, "hello", "public")
    page = public.replace("/users/alice/statuses/", "/@alice/")
    for url in (ALICE, public, public + "/activity", "/@alice", page, "/users/nobody", "/@nobody/1"):
        for accept in ("application/activity+json", "text/html"):
            response = await fedigen.client.get(url, headers={"Accept": accept})
            assert "accept" in response.headers.get("vary", "").lower(), (url, accept, response.status_code)
    actor = await fedigen.client.get("/@alice", headers=AS2)
    assert actor.status_code == 200 and actor.headers["vary"].lower().count("accept") == 1
    # URLs that always answer the same way are left cacheable as they are.
    for url in ("/users/alice/outbox", "/.well-known/nodeinfo", "/actor"):
        assert "accept" not in (await fedigen.client.get(url, headers=AS2)).headers.get("vary", "").lower()


async def test_the_instance_actor_has_a_valid_username_on_a_port(
    tmp_path: object, router: HostRouter
) -> None:

    assert isinstance(tmp_path, Path)
    settings = make_settings(tmp_path, "sqlite", "http://127.0.0.1:8123")
    async with start_instance(settings, router) as inst:
        actor = (await inst.client.get("/actor", headers=AS2)).json()
        assert actor["preferredUsername"] == "127.0.0.1"
        jrd = await inst.client.get(
            "/.well-known/webfinger", params={"resource": "acct:127.0.0.1@127.0.0.1:8123"}
        )
        assert jrd.status_code == 200
        assert [link["href"] for link in jrd.json()["links"] if link["rel"] == "self"] == [actor["id"]]
        by_url = await inst.client.get("/.well-known/webfinger", params={"resource": actor["id"]})
        assert by_url.json()["subject"] == "acct:127.0.0.1@127.0.0.1:8123"
